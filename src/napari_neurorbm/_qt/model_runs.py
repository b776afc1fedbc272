"""What the Generate and Clamp docks share: model rasters shown beside the recording (their jobs run on
:mod:`.jobs`).

Rasters sit side by side in one row, left to right: the recording (at its own times), its held-out test
frames, the generated run, the clamped run and its control. Every raster keeps the recording's row
height, so a neuron is on the same line everywhere; the binarized layers share colormap and contrast
(changing one changes all), and a title above each says what it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from napari_neurorbm._qt.raster_layers import (
    COVER_COLS,
    KEY,
    NAME_SPACE,
    UNITS,
    add_raster_layers,
    frame_spacing,
    layers_of,
)
from napari_neurorbm._qt.selection import NAME as SELECTION
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError

if TYPE_CHECKING:
    import napari

ROLES = ("data", "test", "generated", "clamped", "control")  # left to right
LINKED = ("colormap", "contrast_limits", "gamma")
TITLES = "raster titles"
GAP = 0.04  # blank space between rasters, as a fraction of the wider neighbour
MIN_SLOT = 0.3  # narrowest slot of a raster beside the recording, as a fraction of the recording's width


# ---------------------------------------------------------------- rasters side by side


def held_out_raster(raster: Raster) -> Raster:
    """The raster's held-out test frames, one after another, at the recording's frame spacing."""
    cols = np.asarray(raster.test_frames)
    if cols.size == 0:
        raise NeuroRBMError("the raster has no test frames to compare with (binarize with a test fraction)")
    n = cols.size
    return Raster(
        counts=np.ascontiguousarray(raster.counts[:, cols]), bin_s=raster.bin_s, areas=raster.areas,
        unit_ids=raster.unit_ids, segment_starts=np.zeros(1, np.int64),
        frame_times=np.arange(n) * frame_spacing(raster), train_frames=np.zeros(0, np.int64),
        test_frames=np.arange(n), name=f"{raster.name} test frames",
    )


def model_raster(frames: np.ndarray, segment_starts: np.ndarray, like: Raster, name: str) -> Raster:
    """Model-made 0/1 frames (frames x units) as a Raster in ``like``'s rows, a frame per column of ``like``.

    Every frame is in the 'train' split; chains are the segments.
    """
    n = len(frames)
    return Raster(
        counts=np.ascontiguousarray(np.asarray(frames, dtype=np.uint8).T), bin_s=like.bin_s,
        areas=like.areas, unit_ids=like.unit_ids, segment_starts=np.asarray(segment_starts, np.int64),
        frame_times=np.arange(n) * frame_spacing(like), train_frames=np.arange(n),
        test_frames=np.zeros(0, np.int64), name=name,
    )


def show_rasters(viewer: napari.Viewer, shown: Sequence[tuple[str, Raster, str]], *,
                 counts: Iterable[str] = ()) -> list:
    """Add (or replace) each (role, raster, title) beside the others, looking like the recording.

    Model rasters hold 0/1 frames only, so their count layer is dropped unless the role is in ``counts``.
    The new binarized (and count) layers take the recording's current colormap and contrast and stay
    linked to it. Area names are hidden (the strips keep the area colours): rows line up with the
    recording's, whose names are shown. Returns the layers added.
    """
    data = layers_of(viewer, role="data", kind="binary")
    top = float(data[0].translate[0]) if data else 0.0
    keep_counts = set(counts)
    added = []
    for role, raster, title in shown:
        old = layers_of(viewer, role=role)
        if old:
            viewer.layers.unlink_layers(old)
        layers = add_raster_layers(viewer, raster, role=role, label=title, origin=(top, 0.0))  # x: arrange
        for layer in layers:
            layer.metadata[KEY]["title"] = title
            if _kind(layer) == "counts" and role not in keep_counts:
                viewer.layers.remove(layer)
            elif _kind(layer) == "names":
                layer.visible = False
        added += [layer for layer in layers if layer in viewer.layers]
    for kind in ("binary", "counts"):
        _link_kind(viewer, kind)
    arrange(viewer)
    return added


def remove_rasters(viewer: napari.Viewer, roles: Iterable[str]) -> None:
    """Take the rasters of ``roles`` out of the viewer (e.g. a new recording has other rows)."""
    gone = [layer for role in roles for layer in layers_of(viewer, role=role)]
    for layer in gone:
        viewer.layers.remove(layer)
    if gone:
        arrange(viewer)


def focus(viewer: napari.Viewer, roles: Iterable[str]) -> None:
    """Fit the view to the rasters of ``roles``, with room for their titles."""
    viewer.fit_to_view(layers=[layer for role in roles for layer in layers_of(viewer, role=role)], margin=0.1)
    viewer.scene.camera.zoom *= 0.85


def _link_kind(viewer: napari.Viewer, kind: str) -> None:
    """Give every raster layer of ``kind`` the recording's display settings and link them."""
    layers = [layer for role in ROLES for layer in layers_of(viewer, role=role, kind=kind)]
    if len(layers) < 2:
        return
    for layer in layers[1:]:
        for attr in LINKED:
            setattr(layer, attr, getattr(layers[0], attr))
    viewer.layers.link_layers(layers, LINKED)


def arrange(viewer: napari.Viewer) -> None:
    """Place the rasters left to right in ROLES order (the recording stays at its times) and title them."""
    right, prev_width, first_width = None, 0.0, None
    for role in ROLES:
        binary = layers_of(viewer, role=role, kind="binary")
        if not binary:
            continue
        left, width = _x_span(binary[0])
        first_width = width if first_width is None else first_width
        # a short run still gets a slot wide enough for its title next to a long recording
        width = max(width, MIN_SLOT * first_width)
        if right is not None:
            # room for this raster's area strip and names, which sit left of it
            target = right + width * (1.0 / COVER_COLS + NAME_SPACE) + GAP * max(width, prev_width)
            for layer in layers_of(viewer, role=role):
                layer.translate = np.asarray(layer.translate) + np.array([0.0, target - left])
            left = target
        right, prev_width = left + width, width
    _titles(viewer)
    _selection_on_top(viewer)


def _x_span(binary) -> tuple[float, float]:
    n_frames = binary.level_shapes[0][1] if binary.multiscale else binary.data.shape[1]
    return float(binary.translate[1]), float(binary.scale[1] * n_frames)


def _titles(viewer: napari.Viewer) -> None:
    """Re-draw one title above the top-left corner of each raster (re-adding it refreshes the highlight)."""
    old = next((layer for layer in viewer.layers if layer.name == TITLES), None)
    if old is not None:
        viewer.layers.remove(old)
    where, texts = [], []
    for role in ROLES:
        for binary in layers_of(viewer, role=role, kind="binary"):
            tag = binary.metadata[KEY]
            (y0, x0), dy = binary.translate, binary.scale[0]
            n_rows = binary.level_shapes[0][0] if binary.multiscale else binary.data.shape[0]
            lift = 0.01 + 0.07 * (len(where) % 2)  # every other title a line higher: no collisions
            where.append([y0 - lift * n_rows * dy, x0])
            texts.append(tag.get("title") or f"recording · {tag['raster'].name}")
    if len(where) < 2:  # the recording alone needs no title
        return
    active = viewer.layers.selection.active
    viewer.add_points(
        np.array(where), name=TITLES, size=1, face_color="transparent", border_width=0, units=UNITS,
        features=pd.DataFrame({"title": texts}),
        text={"string": "{title}", "size": 10, "anchor": "upper_left", "color": "white"},
        metadata={KEY: {"kind": "titles", "role": "titles"}},
    )
    viewer.layers.selection.active = active


def _selection_on_top(viewer: napari.Viewer) -> None:
    """Keep the selection highlight above the rasters added after it, so it shows on every raster."""
    names = [layer.name for layer in viewer.layers]
    if SELECTION in names and names.index(SELECTION) != len(names) - 1:
        viewer.layers.move(names.index(SELECTION), len(names))


def _kind(layer) -> str | None:
    tag = layer.metadata.get(KEY)
    return tag.get("kind") if isinstance(tag, dict) else None


def add_onset_lines(viewer: napari.Viewer, raster: Raster, onset: int, role: str) -> Any:
    """Mark the clamp onset of every chain (segment) of the ``role`` raster with an orange line."""
    binary = layers_of(viewer, role=role, kind="binary")[0]
    (y0, x0), (dy, dx) = binary.translate, binary.scale
    xs = x0 + (np.asarray(raster.segment_starts) + onset) * dx
    lines = [np.array([[y0, x], [y0 + raster.n_units * dy, x]]) for x in xs]
    width = max(dx, 0.002 * raster.n_frames * dx)  # visible when the whole row of rasters is in view
    active = viewer.layers.selection.active
    layer = viewer.add_shapes(
        lines, shape_type="line", name=f"clamp onsets · {role}", edge_color="orange", edge_width=width,
        units=UNITS, metadata={KEY: {"kind": "onsets", "role": role}},
    )
    viewer.layers.selection.active = active
    return layer
