"""Fitting layers into the canvas with screen room for the text napari draws outside them: area names left of
the strips, raster titles, the E/I legend and the coupling matrix's column names above (text keeps its size in
screen pixels whatever the zoom, so its room is kept in pixels, not in world units)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from napari_neurorbm._qt.class_strip import LEGEND_SIZE
from napari_neurorbm._qt.coupling_layers import KEY as J_KEY
from napari_neurorbm._qt.labels import LINE_PX, text_width
from napari_neurorbm._qt.raster_layers import tag_of
from napari_neurorbm._qt.raster_titles import TITLE_LIFT_PX, TITLE_SIZE, titles_layer

if TYPE_CHECKING:
    import napari

FIT_MARGIN = 0.03  # blank share of the canvas on each side of what is fitted into view


def fit_view(viewer: napari.Viewer, layers: list, right: float = -np.inf) -> None:
    """Set the camera so that ``layers`` (and the world up to x ``right``, e.g. a title's room) fill the
    canvas, with their names and titles on screen."""
    if not layers:
        return
    (top, left), (bottom, far) = union(layers)
    right = max(right, far)
    left_px = max((_widest(layer) for layer in layers if tag_of(layer).get("kind") == "names"), default=0.0)
    top_px = max((_widest(layer) for layer in layers if layer.metadata.get(J_KEY) == "column names"),
                 default=0.0)
    if titles_layer(viewer) is not None:
        top_px = max(top_px, LINE_PX * TITLE_SIZE + TITLE_LIFT_PX)
    if any(tag_of(layer).get("kind") == "legend" and layer.visible for layer in layers):
        top_px = max(top_px, LINE_PX * LEGEND_SIZE)
    height, width = (1 - 2 * FIT_MARGIN) * np.asarray(viewer.canvas.size, dtype=float)
    zoom = min((height - top_px) / max(bottom - top, 1e-12), (width - left_px) / max(right - left, 1e-12))
    camera = viewer.scene.camera
    camera.zoom = zoom = max(zoom, 1e-12)
    camera.center = ((top + bottom) / 2 - top_px / 2 / zoom, (left + right) / 2 - left_px / 2 / zoom)


def union(layers: list) -> np.ndarray:
    """World [[top, left], [bottom, right]] around the layers' extents."""
    extents = np.array([np.asarray(layer.extent.world)[:, -2:] for layer in layers])
    return np.array([extents[:, 0].min(axis=0), extents[:, 1].max(axis=0)])


def _widest(names) -> float:
    """Screen width of the longest name a Points layer of names can write."""
    texts = names.features["area"].astype(str) if len(names.data) else []
    return max((text_width(t, float(names.text.size)) for t in texts), default=0.0)
