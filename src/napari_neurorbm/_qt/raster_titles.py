"""The titles above the rasters: one Points layer of text, a title at the top-left corner of each raster when
there are several, each shortened to the screen room before the next title.

napari draws text at a fixed size in screen pixels, so the titles' lift above their rasters and their
length are set anew at every zoom (:func:`fit_titles`); :func:`place_titles` makes them when rasters come
and go. The layout owner (:mod:`.layout`) decides when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from napari_neurorbm._qt.labels import fit_text
from napari_neurorbm._qt.raster_layers import KEY, UNITS, tag_of

if TYPE_CHECKING:
    import napari

TITLES = "raster titles"
TITLE_SIZE = 10
TITLE_LIFT_PX = 4.0  # titles sit this many screen pixels above their raster


def titles_layer(viewer: napari.Viewer):
    """The viewer's layer of raster titles, or None."""
    return next((layer for layer in viewer.layers if layer.name == TITLES), None)


def place_titles(viewer: napari.Viewer, rasters: list) -> None:
    """One title above the top-left corner of each binary raster layer of ``rasters`` (left to right); none
    when the recording is alone."""
    old = titles_layer(viewer)
    if len(rasters) < 2:
        if old is not None:
            viewer.layers.remove(old)
        return
    texts = [tag_of(b).get("title") or f"recording · {tag_of(b)['raster'].name}" for b in rasters]
    where = np.array([np.asarray(b.translate) - np.asarray(b.scale) / 2 for b in rasters])
    features = pd.DataFrame({"title": texts, "text": texts})
    if old is not None and len(old.data) == len(where):
        old.data, old.features = where, features
        return
    if old is not None:
        viewer.layers.remove(old)
    active = viewer.layers.selection.active
    viewer.add_points(
        where, name=TITLES, size=1, face_color="transparent", border_width=0, units=UNITS,
        features=features,
        text={"string": "{text}", "size": TITLE_SIZE, "anchor": "upper_left", "color": "white"},
        metadata={KEY: {"kind": "titles", "role": "titles"}},
    )
    viewer.layers.selection.active = active


def fit_titles(viewer: napari.Viewer, rasters: list, zoom: float, last_right: float) -> None:
    """Lift the titles a few pixels above their rasters and shorten each to the room before the next; the
    last one has the room up to world x ``last_right``."""
    titles = titles_layer(viewer)
    if titles is None or not len(titles.data):
        return
    tops = [b.translate[0] - b.scale[0] / 2 for b in rasters]
    lefts = np.array([b.translate[1] - b.scale[1] / 2 for b in rasters])
    rights = np.r_[lefts[1:], last_right]
    room = (rights - lefts) * zoom - TITLE_SIZE  # a small gap before the next title
    texts = [fit_text(t, r, TITLE_SIZE) for t, r in zip(titles.features["title"], room, strict=True)]
    titles.data = np.c_[np.asarray(tops) - TITLE_LIFT_PX / zoom, lefts]
    titles.features = pd.DataFrame({"title": titles.features["title"], "text": texts})
