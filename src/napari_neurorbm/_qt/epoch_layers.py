"""The recording's epochs and events drawn along the time axis of its raster, in a band below it.

Lanes, top down: the stimulus blocks and the intervals of other tables (a rectangle each, coloured per block;
one per block of Allen's presentations, not one per flash), the trials (a rectangle each, in alternating
shades), then one lane per kind of event (a tick each; trial starts are the trials' left edges). Rectangles
are a Shapes layer and ticks a Points layer, so both stay sharp at any zoom; a tick is at least
:data:`TICK_PX` pixels tall however far the view zooms out. The band is at most :data:`BAND` of the raster's
height, each lane at most :data:`LANE`; the lanes' names stand left of them, thinned to the zoom like the
area names. Every x is where the raster draws the frame that holds that time
(:func:`~napari_neurorbm.data.raster.time_columns`): with a window restricted to epochs, what fell between
the kept stretches is not drawn and the rest lines up with the raster's segments.

Names show on hover, in the status bar and the layer tooltip, while the band's layer is the selected one (as
for the area strip): the layers' features hold them (:class:`EpochShapes` shows a Shapes layer's features,
which napari's Shapes does not). The layout owner (:mod:`.layout`) calls :meth:`EpochBand.sync` whenever it
arranges the canvas, and keeps the band in view with the recording.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from napari.layers import Points, Shapes
from napari.utils.colormaps.standardize_color import transform_color

from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.raster_layers import KEY, NAME_PAD, UNITS, layers_of
from napari_neurorbm.data.epochs import BLOCK, KIND, LABEL, NO_BLOCK, START, STOP, TABLE, TIME, Epochs
from napari_neurorbm.data.raster import Raster, time_columns

if TYPE_CHECKING:
    import napari

ROLE = "epochs"  # the band's layers: metadata[KEY]["role"]; kinds "epochs" and "events"
TRIALS = "trials"
GAP = 0.03  # room between the raster and the band, as a fraction of the raster's height
LANE = 0.06  # height of a lane, as a fraction of the raster's height ...
BAND = 0.36  # ... lower where there are so many lanes that the band would be taller than this
TICK_PX = 6  # a tick's least height on screen
TRIAL_SHADES = ("#8fa8c8", "#5d7596")
EVENT_COLORS = ("#ffd24d", "#ff6f6f", "#7fd6ff", "#b6f08c", "#f0a0ff", "#ffb36b")


class EpochShapes(Shapes):
    """A Shapes layer whose status and tooltip name the shape under the cursor (its ``name`` feature)."""

    def get_status(self, position=None, **kwargs) -> dict:
        status = super().get_status(position, **kwargs)
        name = self._name_at(position, kwargs)
        if name:
            status["coordinates"] += f"; {name}"
            status["value"] = name
        return status

    def _get_tooltip_text(self, position, **kwargs) -> str:
        return self._name_at(position, kwargs)

    def _name_at(self, position, kwargs: dict) -> str:
        if position is None or "name" not in self.features:
            return ""
        keys = ("view_direction", "dims_displayed", "world")
        shape, _ = self.get_value(position, **{k: kwargs[k] for k in keys if k in kwargs})
        return "" if shape is None else str(self.features["name"].iloc[shape])


class EpochBand:
    """The band of one viewer: drawn for the data raster shown, placed under it, removed with it."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self._viewer = weakref.ref(viewer)
        self._raster: Raster | None = None  # the raster the band was drawn for
        self._origin = np.zeros(2)  # the raster's bottom-left corner (world) when it was drawn

    def layers(self) -> list:
        viewer = self._viewer()
        return [] if viewer is None else layers_of(viewer, role=ROLE)

    def sync(self) -> None:
        """Draw the band of the data raster shown (once per raster: layers a user deleted stay deleted),
        place it under the raster, or remove it when there is no raster with epochs."""
        viewer = self._viewer()
        if viewer is None:
            return
        binary = layers_of(viewer, role="data", kind="binary")
        raster = binary[0].metadata[KEY].get("raster") if binary else None
        if raster is None or raster.epochs is None or not len(raster.epochs):
            self._remove(viewer)
            self._raster = None
        elif raster is not self._raster:
            self._remove(viewer)
            self._raster = raster
            self._origin = _corner(binary[0])
            self._draw(viewer, raster, binary[0])
        else:
            shift = _corner(binary[0]) - self._origin
            for layer in self.layers():
                layer.translate = shift

    def _remove(self, viewer: napari.Viewer) -> None:
        for layer in self.layers():
            viewer.layers.remove(layer)

    def _draw(self, viewer: napari.Viewer, raster: Raster, binary) -> None:
        active = viewer.layers.selection.active
        names = layers_of(viewer, role="data", kind="names")
        names_x = float(names[0].data[0, 1]) if names and len(names[0].data) else None
        for data, meta, kind in band_layer_data(raster, binary.translate, binary.scale, names_x):
            viewer.add_layer(EpochShapes(data, **meta) if kind == "shapes" else Points(data, **meta))
        if active is not None and active in viewer.layers:
            viewer.layers.selection.active = active


def band_layer_data(raster: Raster, translate, scale, names_x: float | None = None) -> list[tuple]:
    """Layer data tuples of the band under ``raster`` drawn with ``translate`` and ``scale`` (its binary
    layer's): the rectangles (shapes), the ticks (points) and the lanes' names (points with text, ending at
    ``names_x`` like the area names, else just left of the band, at the bottom of their lanes since napari
    writes the text above its point; the layout thins them to the zoom)."""
    (y0, x0), (dy, dx) = np.asarray(translate, dtype=float)[-2:], np.asarray(scale, dtype=float)[-2:]
    height = raster.n_units * dy
    rects, ticks = band_items(raster, raster.epochs)
    lanes = _lanes(rects, ticks)
    top = y0 + (raster.n_units - 0.5) * dy + GAP * height  # the raster's last row ends half a row down
    lane_h = min(LANE, BAND / max(len(lanes), 1)) * height
    lane_y = {name: top + i * 1.2 * lane_h for i, name in enumerate(lanes)}  # a fifth of a lane between two

    def x(col) -> np.ndarray:  # the raster centres its pixel k on k: frame f spans f - 0.5 to f + 0.5
        return x0 + (np.asarray(col, dtype=np.float64) - 0.5) * dx

    out = []
    if len(rects):
        ya = rects["lane"].map(lane_y).to_numpy()
        yb = ya + lane_h
        xa, xb = x(rects["c0"]), x(rects["c1"])
        shapes = [np.array([[a, left], [a, right], [b, right], [b, left]])
                  for a, b, left, right in zip(ya, yb, xa, xb, strict=True)]
        out.append((shapes, {
            "shape_type": "rectangle", "name": f"epochs · {raster.name}",
            "face_color": np.stack(rects["color"]), "edge_width": 0, "features": rects[["name", "lane"]],
            "units": UNITS, "metadata": _tag("epochs"),
        }, "shapes"))
    if len(ticks):
        y = ticks[KIND].map(lane_y).to_numpy() + lane_h / 2
        out.append((np.column_stack([y, x(ticks["col"])]), {
            "name": f"events · {raster.name}", "symbol": "vbar", "size": lane_h,
            "face_color": np.stack(ticks["color"]), "border_width": 0,
            "canvas_size_limits": (TICK_PX, 10_000), "units": UNITS, "features": ticks[[KIND, LABEL, TIME]],
            "metadata": _tag("events"),
        }, "points"))
    written = [_lane_name(lane, rects) for lane in lanes]
    colours = {**{lane: TRIAL_SHADES[0] for lane in ("epochs", TRIALS)}, **_event_colours(ticks)}
    where = [[lane_y[name] + lane_h, x(0) - NAME_PAD * dx * raster.n_frames if names_x is None
              else names_x] for name in lanes]
    out.append((np.array(where).reshape(-1, 2), {
        "name": f"epoch lanes · {raster.name}", "size": 1, "face_color": "transparent", "border_width": 0,
        "features": pd.DataFrame({"area": written, "rows": np.arange(len(lanes), 0, -1), "label": written}),
        "text": {"string": "{label}", "size": 8, "anchor": "upper_right",
                 "color": transform_color([colours[lane] for lane in lanes]) if lanes else "white"},
        "units": UNITS, "metadata": _tag("names"),
    }, "points"))
    return out


def band_items(raster: Raster, epochs: Epochs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the band draws, in the raster's columns (see :func:`time_columns`): rectangles (lane, c0, c1,
    name, color) and ticks (kind, label, time_s, col, color). What lies wholly outside the kept frames is
    left out."""
    iv = epochs.intervals
    trials = iv[TABLE] == TRIALS
    rects = pd.concat([_blocks(iv[~trials]).assign(lane="epochs"), _trials(iv[trials])], ignore_index=True)
    rects["c0"] = time_columns(raster, rects[START].to_numpy(), edge="next")
    rects["c1"] = time_columns(raster, rects[STOP].to_numpy(), edge="previous")
    rects = rects[rects["c1"] > rects["c0"]].reset_index(drop=True)
    ticks = epochs.events.copy()
    if (rects["lane"] == TRIALS).any():  # trial starts are the trials' left edges already
        ticks = ticks[ticks[KIND] != "trial start"]
    ticks["col"] = time_columns(raster, ticks[TIME].to_numpy())
    ticks = ticks[np.isfinite(ticks["col"])].reset_index(drop=True)
    colours = _event_colours(ticks)
    ticks["color"] = list(transform_color([colours[k] for k in ticks[KIND]])) if len(ticks) else []
    return rects, ticks


def _event_colours(ticks: pd.DataFrame) -> dict[str, str]:
    """A colour per kind of event, in order of their lanes."""
    kinds = list(pd.unique(ticks[KIND]))
    return {k: EVENT_COLORS[i % len(EVENT_COLORS)] for i, k in enumerate(kinds)}


def _blocks(iv: pd.DataFrame) -> pd.DataFrame:
    """One rectangle per run of a block (Allen's presentations) and per interval of a table without blocks,
    named and coloured per block."""
    blocked = iv[BLOCK] != NO_BLOCK
    run = (iv[TABLE] != iv[TABLE].shift()) | (iv[BLOCK] != iv[BLOCK].shift())
    groups = iv[blocked].groupby(run[blocked].cumsum(), sort=False)
    rows = [{START: g[START].min(), STOP: g[STOP].max(), "name": _block_name(g)} for _, g in groups]
    rows += [{START: r[START], STOP: r[STOP], "name": _interval_name(r)} for _, r in iv[~blocked].iterrows()]
    out = pd.DataFrame(rows, columns=[START, STOP, "name"])
    colours = area_colors(out["name"])
    out["color"] = [colours[n] for n in out["name"]]
    return out.sort_values(START, kind="stable")


def _interval_name(row: pd.Series) -> str:
    """'epochs: stim, A, 5-9 s' (the table, the label where it says more, the span)."""
    label = "" if row[LABEL] in ("", row[TABLE]) else f": {row[LABEL]}"
    return f"{row[TABLE]}{label}, {row[START]:.6g}-{row[STOP]:.6g} s"


def _block_name(rows: pd.DataFrame) -> str:
    """'block 0: Natural_Images_... (active), 0-48 s'."""
    stimulus = rows["stimulus_name"].mode().iloc[0] if "stimulus_name" in rows else rows[TABLE].iloc[0]
    mode = ""
    if "active" in rows and rows["active"].notna().any():
        mode = " (active)" if rows["active"].mean() > 0.5 else " (passive)"
    span = f"{rows[START].min():.6g}-{rows[STOP].max():.6g} s"
    return f"block {int(rows[BLOCK].iloc[0])}: {stimulus}{mode}, {span}"


def _trials(iv: pd.DataFrame) -> pd.DataFrame:
    """One rectangle per trial, alternating two shades so that neighbours stay apart."""
    flags = [c for c in ("go", "catch", "hit", "miss", "aborted") if c in iv]
    names = []
    for _, r in iv.iterrows():
        held = [c for c in flags if r[c] == 1]
        flagged = f" ({', '.join(held)})" if held else ""
        names.append(f"{r[LABEL]}{flagged}, {r[START]:.6g}-{r[STOP]:.6g} s")
    shades = list(transform_color([TRIAL_SHADES[i % 2] for i in range(len(iv))])) if len(iv) else []
    return pd.DataFrame({START: iv[START].to_numpy(), STOP: iv[STOP].to_numpy(), "name": names,
                         "color": shades, "lane": TRIALS})


def _lane_name(lane: str, rects: pd.DataFrame) -> str:
    """What a lane is called on screen: "blocks" for Allen's stimulus blocks, the kind of its events."""
    if lane == "epochs" and rects["name"].str.startswith("block ").any():
        return "blocks"
    return lane


def _tag(kind: str) -> dict:
    return {KEY: {"kind": kind, "role": ROLE}}


def _lanes(rects: pd.DataFrame, ticks: pd.DataFrame) -> list[str]:
    """The lanes that have something to draw, top down."""
    lanes = [lane for lane in ("epochs", TRIALS) if (rects["lane"] == lane).any()] if len(rects) else []
    return lanes + list(pd.unique(ticks[KIND]))


def _corner(binary) -> np.ndarray:
    """World (bottom, left) of a raster layer, which the band keeps its place under."""
    (y0, x0), (dy, _) = np.asarray(binary.translate)[-2:], np.asarray(binary.scale)[-2:]
    n_rows = binary.level_shapes[0][0]
    return np.array([y0 + n_rows * dy, x0])

