"""Rasters as napari layers: count and binary rasters (rows = neurons, x = seconds) and the area strip.

The reader, the sample data and every widget build their layers here (:func:`raster_layer_data`), so a
raster looks the same wherever it comes from. Long rasters are multiscale images whose coarse levels
are max-pooled (see :mod:`.pyramid`): a spike stays visible at every zoom.

Geometry: a row is ``row_height`` world units tall (chosen per raster so that the whole raster is about
twice as wide as tall; neurons keep the raster's order, top to bottom) and a column is one frame,
``frame_spacing`` seconds wide, starting at the first frame's time. Use :func:`row_at` to turn a world
position into a row. The area strip is a Labels layer one label per unit: hovering it, or the raster
beside it while the strip is the selected layer, shows the unit's area, id and row in the status bar. Units
with putative E/I classes get a second strip left of it (:mod:`.class_strip`), the area names moving left.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from napari_neurorbm._qt.class_strip import class_legend, class_strip, has_classes
from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.pyramid import raster_levels
from napari_neurorbm.data.raster import Raster, frame_spacing
from napari_neurorbm.data.session import Session

if TYPE_CHECKING:
    import napari
    from napari.layers import Shapes

KEY = "neurorbm"  # layer.metadata[KEY] = {"kind": ..., "role": ...}
COVER_COLS = 40  # the strip's hover cover over the raster, in strip-widths
# napari's scale bar measures the horizontal axis (seconds) only if both displayed axes share a
# dimensionality, so rows nominally use seconds too; they are never measured.
UNITS = ("s", "s")
NAME_SPACE = 0.09  # room left of a raster's strip for its area names, as a fraction of the raster's width
NAME_PAD = 0.005  # area names end this fraction of the raster's width left of the strip
TRANSPARENT = np.zeros(4)


def row_height(raster: Raster) -> float:
    """World height of a row: frame spacing times the power of two giving a raster about 2:1 wide."""
    ratio = raster.n_frames / (2.0 * raster.n_units)
    return frame_spacing(raster) * 2.0 ** round(math.log2(max(ratio, 1e-9)))


def raster_layer_data(
    raster: Raster,
    *,
    role: str = "data",
    label: str | None = None,
    rows: float | None = None,
    origin: tuple[float, float] | None = None,
    session: Session | None = None,
) -> list[tuple[Any, dict, str]]:
    """Layer data tuples (napari's reader format): count raster, binarized raster, area names, the E/I legend
    and strip (when units have classes, see :mod:`.class_strip`), area strip.

    ``role`` tags the layers ("data" for the loaded recording; e.g. "generated" for a model's raster),
    ``label`` prefixes the layer names (default: the raster's name), ``rows`` is the row height (default:
    :func:`row_height`) and ``origin`` the world (y, x) of the top-left corner (default: 0, first frame time).
    The binary layer's metadata keeps the raster (and ``session``) so that the viewer state can adopt it.
    """
    label = label or raster.name
    dx = frame_spacing(raster)
    dy = rows if rows is not None else row_height(raster)
    y0, x0 = origin if origin is not None else (0.0, float(raster.frame_times[0]))
    counts_levels, binary_levels = raster_levels(raster.counts, dy / dx)
    multiscale = len(counts_levels) > 1
    place = {"scale": (dy, dx), "translate": (y0, x0), "units": UNITS}
    bin_ms = raster.bin_s * 1e3
    counts_meta = {
        "name": f"spike counts ({bin_ms:g} ms bins) · {label}",
        "colormap": "inferno",
        "contrast_limits": (0, count_ceiling(raster.counts)),
        "multiscale": multiscale,
        "metadata": _tag("counts", role, raster),
        **place,
    }
    binary_meta = {
        "name": f"binarized ({bin_ms:g} ms) · {label}",
        "colormap": "gray",
        "contrast_limits": (0, 1),
        "multiscale": multiscale,
        "metadata": _tag("binary", role, raster, raster=raster, session=session),
        **place,
    }
    width = dx * raster.n_frames
    strip = area_strip_data(raster, role=role, label=label, rows=dy, origin=(y0, x0), width=width)
    classes = class_layers_data(raster, role=role, label=label, area_strip=strip[1])
    return [
        (counts_levels if multiscale else counts_levels[0], counts_meta, "image"),
        (binary_levels if multiscale else binary_levels[0], binary_meta, "image"),
        area_names_data(raster, role=role, label=label, strip=classes[-1][1] if classes else strip[1]),
        *classes,
        strip,  # last, so that napari makes it the selected layer and hovering shows the areas
    ]


def class_layers_data(raster: Raster, *, role: str, label: str,
                      area_strip: dict) -> list[tuple[Any, dict, str]]:
    """The E/I legend and strip (Points and Labels tuples) left of the area strip; none when no unit of the
    raster has a class."""
    if not has_classes(raster):
        return []
    data, strip = class_strip(raster, area_strip)
    strip.update(name=f"E/I · {label}", metadata=_tag("classes", role, raster))
    where, legend = class_legend(strip)
    legend.update(name=f"E/I legend · {label}", metadata=_tag("legend", role, raster))
    return [(where, legend, "points"), (data, strip, "labels")]


def area_strip_data(
    raster: Raster, *, role: str, label: str, rows: float, origin: tuple[float, float], width: float
) -> tuple[np.ndarray, dict, str]:
    """Labels tuple: one colour column per unit left of the raster plus a transparent cover over it.

    Unit ``r`` is label ``r + 1`` in the strip and ``r + 1 + n_units`` in the cover; both carry the
    unit's area, id and row as features, which napari shows in the status bar.
    """
    n = raster.n_units
    ids = np.arange(1, n + 1, dtype=np.int32)
    data = np.empty((n, 1 + COVER_COLS), dtype=np.int32)
    data[:, 0] = ids
    data[:, 1:] = (ids + n)[:, None]
    colours = area_colors(raster.areas)
    colormap: dict[int | None, np.ndarray] = {None: TRANSPARENT, 0: TRANSPARENT}
    colormap.update({int(i): colours[str(a)] for i, a in zip(ids, raster.areas, strict=True)})
    colormap.update({int(i) + n: TRANSPARENT for i in ids})
    features = pd.DataFrame(
        {
            "index": np.r_[ids, ids + n],
            "area": np.tile(raster.areas.astype(str), 2),
            "unit_id": np.tile(np.asarray(raster.unit_ids).astype(str), 2),
            "row": np.tile(np.arange(n), 2),
        }
    )
    step = width / COVER_COLS
    meta = {
        "name": f"areas · {label}",
        "colormap": colormap,
        "features": features,
        "opacity": 1.0,
        "scale": (rows, step),
        "translate": (origin[0], origin[1] - step),
        "units": UNITS,
        "metadata": _tag("areas", role, raster),
    }
    return data, meta, "labels"


def area_names_data(raster: Raster, *, role: str, label: str, strip: dict) -> tuple[np.ndarray, dict, str]:
    """Points tuple: each area's name, in its colour, ending left of the strip at the middle of its rows.

    The ``label`` feature is what is written: the layout owner (:mod:`.layout`) blanks the names that would
    overlap at the current zoom, the biggest areas (``rows``) keeping theirs.
    """
    (dy, step), (y0, x_strip) = strip["scale"], strip["translate"]
    blocks = raster.area_blocks()
    colours = area_colors(raster.areas)
    x = x_strip - step / 2 - NAME_PAD * step * COVER_COLS  # the strip's pixel is centred on its translate
    where = np.array([[y0 + dy * (s + e - 1) / 2, x] for _, s, e in blocks]).reshape(-1, 2)
    names = [a for a, _, _ in blocks]
    meta = {
        "name": f"area names · {label}",
        "features": pd.DataFrame({"area": names, "rows": [e - s for _, s, e in blocks], "label": names}),
        "text": {
            "string": "{label}",
            "size": 9,
            "anchor": "upper_right",
            "color": np.array([colours[a] for a in names]).reshape(-1, 4),
        },
        "size": 1,
        "units": UNITS,
        "face_color": "transparent",
        "border_color": "transparent",
        "border_width": 0,
        "metadata": _tag("names", role, raster),
    }
    return where, meta, "points"


def count_ceiling(counts: np.ndarray, q: float = 99.5) -> int:
    """Upper contrast limit for counts: a high percentile of the nonzero counts, at least 2."""
    step = max(1, counts.size // 4_000_000)
    sample = counts.reshape(-1)[::step] if counts.flags.c_contiguous else counts[:, :: max(1, step)]
    hist = np.bincount(np.asarray(sample, dtype=np.int64).ravel(), minlength=2)[1:]
    if hist.sum() == 0:
        return 2
    value = int(np.searchsorted(np.cumsum(hist), q / 100 * hist.sum()) + 1)
    return max(2, value)


def add_raster_layers(
    viewer: napari.Viewer, raster: Raster, *, role: str = "data", label: str | None = None, **where
) -> list:
    """Add (or replace) the layers of ``raster`` for ``role``.

    Rasters other than the data raster default to the data raster's row height and go below the
    rasters already shown, so rows line up and nothing overlaps, until the layout owner (:mod:`.layout`)
    places them; it also chooses the active layer and the view.
    """
    from napari.layers import Layer

    from napari_neurorbm._qt.state import get_state

    get_state(viewer)  # the viewer's layout owner places what is added here
    old = layers_of(viewer, role=role)
    index = min((viewer.layers.index(layer) for layer in old), default=len(viewer.layers))
    for layer in old:
        viewer.layers.remove(layer)
    data_layers = layers_of(viewer, role="data", kind="binary")
    if role != "data" and data_layers:
        where.setdefault("rows", float(data_layers[0].scale[0]))
        where.setdefault("origin", _below(viewer, data_layers[0]))
    added = []
    for data, meta, kind in raster_layer_data(raster, role=role, label=label, **where):
        layer = Layer.create(data, meta, kind)
        viewer.layers.insert(min(index, len(viewer.layers)), layer)
        index = viewer.layers.index(layer) + 1
        added.append(layer)
    return added


def scale_bar(viewer: napari.Viewer):
    """The viewer's scale bar overlay (napari >= 0.9 keeps it among the canvas overlays)."""
    canvas = getattr(viewer, "canvas", None)
    return canvas.overlays["scale_bar"] if canvas is not None else viewer.scale_bar


def _below(viewer: napari.Viewer, data_layer) -> tuple[float, float]:
    """Top-left corner for a new raster under every raster shown, a small gap apart."""
    shown = layers_of(viewer, kind="binary")
    bottoms = [layer.translate[0] + layer.scale[0] * layer.level_shapes[0][0] for layer in shown]
    height = data_layer.scale[0] * data_layer.level_shapes[0][0]
    return max(bottoms) + 0.04 * height, float(data_layer.translate[1])


def layers_of(viewer: napari.Viewer, *, role: str | None = None, kind: str | None = None) -> list:
    """The viewer's NeuroRBM raster layers, optionally only one role and/or kind."""
    out = []
    for layer in viewer.layers:
        tag = layer.metadata.get(KEY)
        if isinstance(tag, dict) and role in (None, tag.get("role")) and kind in (None, tag.get("kind")):
            out.append(layer)
    return out


def row_under(viewer: napari.Viewer, world_position, n_units: int) -> int | None:
    """Row under a world position on any shown raster, area or E/I strip of ``n_units`` rows (None
    elsewhere)."""
    x = world_position[-1]
    strips = layers_of(viewer, kind="areas") + layers_of(viewer, kind="classes")
    for layer in layers_of(viewer, kind="binary") + strips:
        (_, x0), (_, x1) = layer.extent.world[:, -2:]
        row = row_at(layer, world_position)
        if layer.visible and row is not None and x0 <= x <= x1 and layer.level_shapes[0][0] == n_units:
            return row
    return None


def row_at(layer, world_position) -> int | None:
    """Row of a raster or strip layer under a world position (None outside its rows).

    napari centres pixel k on data coordinate k, so row k spans [k - 0.5, k + 0.5).
    """
    y = layer.world_to_data(world_position)[0]
    n = layer.level_shapes[0][0] if getattr(layer, "multiscale", False) else layer.data.shape[0]
    row = int(np.floor(y + 0.5))
    return row if 0 <= row < n else None


def _tag(kind: str, role: str, shown: Raster, **refs) -> dict:
    """Layer metadata: what the layer shows, for which role, plus references (raster, session)."""
    return {KEY: {"kind": kind, "role": role, "bin_s": float(shown.bin_s), **refs}}


def tag_of(layer) -> dict:
    """What a NeuroRBM layer shows (its kind, role, raster…); empty for any other layer."""
    tag = layer.metadata.get(KEY)
    return tag if isinstance(tag, dict) else {}


def add_onset_lines(viewer: napari.Viewer, raster: Raster, onset: int, role: str) -> Shapes:
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
