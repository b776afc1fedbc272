"""The E/I strip: each unit's putative class (by spike waveform width) as a colour column left of its area
strip, and its legend above it ("E" and "I" in their colours).

Only a raster with at least one classified unit gets them (:func:`has_classes`). The strip is a Labels layer
one label per unit, like the area strip, so hovering it shows the unit's class, waveform width, id and row;
:mod:`.raster_layers` tags both layers and :mod:`.layout` moves them with their raster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_neurorbm._qt.colors import class_colors
from napari_neurorbm.data.celltypes import describe_classes
from napari_neurorbm.data.raster import Raster

GAP = 0.25  # blank between the E/I strip and the area strip, in strip widths
LEGEND = (("E", "E  "), ("I", "I"))  # right-aligned on the strip's right edge: the padding puts E left of I
LEGEND_SIZE = 9


def has_classes(raster: Raster) -> bool:
    """Whether any unit of the raster is classed E or I."""
    return bool(describe_classes(raster.classes))


def class_strip(raster: Raster, area_strip: dict) -> tuple[np.ndarray, dict]:
    """Labels data and keyword arguments: one column, unit ``r`` label ``r + 1`` in its class colour, a strip
    width (and a small gap) left of the area strip described by ``area_strip`` (its layer keywords)."""
    n = raster.n_units
    ids = np.arange(1, n + 1, dtype=np.int32)
    colours = class_colors()
    colormap: dict[int | None, np.ndarray] = {None: np.zeros(4), 0: np.zeros(4)}
    colormap.update({int(i): colours[str(c)] for i, c in zip(ids, raster.classes, strict=True)})
    (dy, step), (y0, x_areas) = area_strip["scale"], area_strip["translate"]
    features = pd.DataFrame({
        "index": ids,
        "class": raster.classes.astype(str),
        "waveform_ms": np.round(raster.waveform_ms, 3),
        "unit_id": np.asarray(raster.unit_ids).astype(str),
        "row": np.arange(n),
    })
    meta = {"colormap": colormap, "features": features, "opacity": 1.0, "scale": (dy, step),
            "translate": (y0, x_areas - (1 + GAP) * step), "units": area_strip["units"]}
    return ids[:, None], meta


def class_legend(strip: dict) -> tuple[np.ndarray, dict]:
    """Points data and keyword arguments: "E" and "I" in their colours just above the strip's top, ending at
    its right edge."""
    (dy, step), (y0, x) = strip["scale"], strip["translate"]
    colours = np.array([class_colors()[name] for name, _ in LEGEND])
    meta = {
        "features": pd.DataFrame({"label": [padded for _, padded in LEGEND]}),
        # napari's y axis points down: "upper" text sits above its point
        "text": {"string": "{label}", "size": LEGEND_SIZE, "color": colours, "anchor": "upper_right"},
        "size": 1, "face_color": "transparent", "border_color": "transparent", "border_width": 0,
        "units": strip["units"],
    }
    return np.array([[y0 - dy / 2, x + step / 2]] * len(LEGEND)), meta
