"""The coupling matrix on the canvas: J_ij in the shared neuron order, area boundaries, area names, the
marked pair, the colour bar and the label of the quantity. Part of the layout owner (:mod:`.layout`).

The matrix is drawn from ``state.couplings`` right of the rasters, its rows level with the data raster's
rows when the model has as many units, so row i of J is the neuron of raster row i.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.couplings_job import area_blocks, shown_matrix
from napari_neurorbm._qt.couplings_plots import DIVERGING_POSITIONS, DIVERGING_RGB, symmetric_limit
from napari_neurorbm._qt.labels import LINE_PX, blank_unkept, thin
from napari_neurorbm._qt.raster_layers import UNITS, layers_of
from napari_neurorbm.analysis.couplings import CouplingsResult
from napari_neurorbm.configs import CouplingsConfig

if TYPE_CHECKING:
    import napari

    from napari_neurorbm._qt.state import ViewerState

KEY = "neurorbm_couplings"  # layer.metadata[KEY] = kind of a layer drawn here
COLORMAP_NAME = "coupling (blue < 0 < red)"
SPREAD_COLORMAP = "inferno"  # the spread of J over replicates is >= 0: a sequential scale from 0
GAP = 0.3  # space between the rasters and the matrix (room for its row names), in matrix sizes
LINE_PIXELS = 1.2  # boundary lines and the pair marker keep this width on screen at any zoom
MARK_PIXELS = 7.0  # the marked pixel is drawn at least this many screen pixels wide
NAME_SIZE = 9
NAME_LIFT_PX = 0.6 * LINE_PX * NAME_SIZE  # column names keep this far above the matrix on screen: at the
# top-left corner the first column name clears the first row name, which reaches half a line above its row
LINE_COLOUR = [0.85, 0.85, 0.85, 0.8]
# Row names end left of the matrix; column names are written upwards from above it.
TEXT_PLACES = {
    "row names": {"anchor": "upper_right"},
    "column names": {"anchor": "upper_left", "rotation": -90},
}


def diverging_colormap():
    """The shared diverging scale as a napari colormap."""
    from napari.utils.colormaps import Colormap

    colors = np.c_[DIVERGING_RGB, np.ones(len(DIVERGING_RGB))]
    return Colormap(colors=colors, controls=DIVERGING_POSITIONS, name=COLORMAP_NAME)


class CouplingLayers:
    """Draws ``state.couplings`` where :meth:`place` is told (right of the rasters); ``geometry`` is the
    world (top, left) corner and pixel size of the matrix."""

    def __init__(self, viewer: napari.Viewer, state: ViewerState, on_visible: Callable[[], None]) -> None:
        self._viewer, self._state = weakref.ref(viewer), weakref.ref(state)
        self._on_visible = on_visible  # called when the matrix is shown or hidden
        self.geometry = (0.0, 0.0, 1.0)
        self._name_pad = 0.0  # world gap between the matrix and its names (column names: see follow_zoom)
        self.robust = True  # colour range: ±99.5th percentile of |J| (else ±max)
        self.pair: tuple[int, int] | None = None
        self.view = ("mean", CouplingsConfig.reliable_t)  # what is drawn of replicates (couplings_job.VIEWS)
        self._drawn: CouplingsResult | None = None
        self._drawn_view: tuple[str, float] | None = None

    def layer(self, kind: str):
        """The layer of ``kind`` ("matrix", "boundaries", "row names", "column names", "pair") or None."""
        viewer = self._viewer()
        layers = viewer.layers if viewer is not None else []
        return next((layer for layer in layers if layer.metadata.get(KEY) == kind), None)

    def draw(self) -> bool:
        """Draw the current couplings; whether this made the matrix layer (its first drawing)."""
        state, viewer = self._state(), self._viewer()
        result = state.couplings if state is not None else None
        if viewer is None or not isinstance(result, CouplingsResult):
            return False
        raster = state.raster
        if result is self._drawn and (raster is None or raster.n_units != len(result.J)):
            return False  # a raster of other units: the matrix stays where it is
        if result is not self._drawn:
            self.mark(None)
        first = self.layer("matrix") is None
        self.place()
        return first

    def place(self, right: float = -np.inf) -> None:
        """(Re)place the J image, its boundaries and names right of every raster and of ``right`` (world x,
        e.g. the end of the last raster's slot); the active layer stays."""
        state, viewer = self._state(), self._viewer()
        result = state.couplings if state is not None else None
        if viewer is None or not isinstance(result, CouplingsResult):
            return
        active = viewer.layers.selection.active
        self.geometry = top, left, step = self._placement(len(result.J), right)
        place = {"scale": (step, step), "translate": (top + step / 2, left + step / 2), "units": UNITS}
        image = self.layer("matrix")
        if image is None:
            matrix, quantity = shown_matrix(result, *self.view)
            image = viewer.add_image(
                matrix.astype(np.float32), name=f"couplings {quantity}", colormap=self._colormap(result),
                interpolation2d="nearest", metadata={KEY: "matrix"}, **place,
            )
            image.name_overlay.position = "top_right"
            image.events.visible.connect(lambda *_: self._on_visible())
            self._drawn, self._drawn_view = result, self.view
        image.scale, image.translate = place["scale"], place["translate"]
        self._show(image, result)
        self._boundaries(result.areas, len(result.J))
        self._names(result.areas, len(result.J))
        if self.pair is not None:
            self.mark(self.pair)
        viewer.layers.selection.active = active

    def _show(self, image, result: CouplingsResult) -> None:
        """Put the matrix of the current view into the image (when it is not there yet), named for it."""
        if result is not self._drawn or self.view != self._drawn_view:
            matrix, quantity = shown_matrix(result, *self.view)
            image.data = matrix.astype(np.float32)
            image.name = f"couplings {quantity}"
            image.colormap = self._colormap(result)
        self._drawn, self._drawn_view = result, self.view
        self.set_contrast(self.robust)

    def _colormap(self, result: CouplingsResult):
        """The sequential scale for the spread of replicates, else the diverging one."""
        spread = result.replicates is not None and self.view[0] == "spread"
        return SPREAD_COLORMAP if spread else diverging_colormap()

    def set_view(self, view: str, threshold: float) -> None:
        """Show another view of replicate couplings (couplings_job.VIEWS; ``threshold``: reliable t)."""
        self.view = (view, threshold)
        state, image = self._state(), self.layer("matrix")
        if state is not None and image is not None and isinstance(state.couplings, CouplingsResult):
            self._show(image, state.couplings)

    def set_contrast(self, robust: bool) -> None:
        """Colour range of the shown matrix off the diagonal: symmetric around zero, ±99.5th percentile of |J|
        or ±max; from 0 for the spread."""
        self.robust = robust
        image = self.layer("matrix")
        if image is None or self._drawn is None:
            return
        shown = image.data
        lim = symmetric_limit(shown[~np.eye(len(shown), dtype=bool)], robust=robust)
        image.contrast_limits = (0.0, lim) if image.colormap.name == SPREAD_COLORMAP else (-lim, lim)

    def _placement(self, n: int, right: float) -> tuple[float, float, float]:
        """Rows level with the data raster's rows (napari centres pixel k on translate + k * scale), right of
        every raster; a unit square at the origin when no raster has n rows."""
        viewer = self._viewer()
        data = layers_of(viewer, role="data", kind="binary")
        if not data or int(data[0].level_shapes[0][0]) != n:
            return -0.5, -0.5, 1.0
        step = float(data[0].scale[0])
        right = max(right, *(float(layer.extent.world[1][-1]) for layer in layers_of(viewer)))
        return float(data[0].translate[0]) - step / 2, right + GAP * n * step, step

    def _boundaries(self, areas: np.ndarray | None, n: int) -> None:
        top, left, step = self.geometry
        cuts = sorted({0, n, *(k for _, s, e in area_blocks(areas) for k in (s, e))})
        lines = []
        for k in cuts:
            y, x = top + k * step, left + k * step
            lines += [np.array([[y, left], [y, left + n * step]]), np.array([[top, x], [top + n * step, x]])]
        layer = self.layer("boundaries")
        width = self._pixels(LINE_PIXELS)
        if layer is None:
            self._viewer().add_shapes(
                lines, shape_type="line", edge_color=LINE_COLOUR, edge_width=width,
                name="area boundaries · J", metadata={KEY: "boundaries"}, units=UNITS,
            )
        else:
            layer.data = []
            layer.add_lines(lines, edge_width=width, edge_color=LINE_COLOUR)

    def _names(self, areas: np.ndarray | None, n: int) -> None:
        """Area names in the areas' colours: left of the matrix for the rows and above it, written upwards,
        for the columns (thinned to the zoom by :meth:`follow_zoom`)."""
        viewer = self._viewer()
        for kind in TEXT_PLACES:
            old = self.layer(kind)
            if old is not None:
                viewer.layers.remove(old)
        runs = area_blocks(areas)
        if not runs:
            return
        top, left, step = self.geometry
        pad = self._name_pad = 0.015 * n * step
        names = [a for a, _, _ in runs]
        state = self._state()
        table = area_colors(state.raster.areas if state.raster is not None else areas)
        colours = np.array([table.get(a, np.ones(4)) for a in names]).reshape(-1, 4)
        where = {
            "row names": [[top + step * (s + e) / 2, left - pad] for _, s, e in runs],
            "column names": [[top - pad, left + step * (s + e) / 2] for _, s, e in runs],
        }
        for kind, points in where.items():
            viewer.add_points(
                np.array(points), name=f"area names ({kind.split()[0]}s) · J", size=1,
                face_color="transparent", border_width=0, units=UNITS, metadata={KEY: kind},
                features={"area": names, "rows": [e - s for _, s, e in runs], "label": names},
                text={"string": "{label}", "size": NAME_SIZE, "color": colours, **TEXT_PLACES[kind]},
            )

    def follow_zoom(self, zoom: float) -> None:
        """Keep lines thin on screen and names apart at the camera's zoom."""
        boundaries = self.layer("boundaries")
        if boundaries is not None and boundaries.nshapes:
            boundaries.edge_width = LINE_PIXELS / zoom
            boundaries.refresh()  # napari redraws the edges only on a refresh
        top = self.geometry[0]
        for kind, axis in (("row names", 0), ("column names", 1)):
            names = self.layer(kind)
            if names is not None and len(names.data):
                if axis == 1:
                    lift = max(self._name_pad, NAME_LIFT_PX / zoom)
                    names.data = np.c_[np.full(len(names.data), top - lift), names.data[:, 1]]
                keep = thin(names.data[:, axis] * zoom, names.features["rows"], LINE_PX * NAME_SIZE)
                names.features = blank_unkept(names.features, keep)
        if self.pair is not None:
            self.mark(self.pair)

    def in_view(self, view: np.ndarray) -> bool:
        """Whether the matrix is shown and is what is looked at in ``view`` (world [[top, left], [bottom,
        right]]): at least half of it is in view, or it fills at least half of the view, not a sliver at the
        edge."""
        image = self.layer("matrix")
        if image is None or not image.visible:
            return False
        matrix = np.asarray(image.extent.world)[:, -2:]
        common = np.clip(np.minimum(matrix[1], view[1]) - np.maximum(matrix[0], view[0]), 0, None).prod()
        return bool(common >= 0.5 * min(np.prod(matrix[1] - matrix[0]), np.prod(view[1] - view[0])))

    def show_overlays(self, shown: bool) -> None:
        """Show or hide the colour bar and the label of the quantity."""
        image = self.layer("matrix")
        if image is not None:
            image.colorbar.visible = image.name_overlay.visible = shown

    def mark(self, pair: tuple[int, int] | None) -> None:
        """Outline the pixels (i, j) and (j, i), never smaller than a few screen pixels; None: no mark."""
        self.pair, viewer, layer = pair, self._viewer(), self.layer("pair")
        if pair is None:
            if layer is not None:
                viewer.layers.remove(layer)
            return
        top, left, step = self.geometry
        half = max(step, self._pixels(MARK_PIXELS)) / 2
        boxes = []
        for r, c in (pair, pair[::-1]):
            y, x = top + step * (r + 0.5), left + step * (c + 0.5)
            boxes.append(np.array([[y - half, x - half], [y + half, x + half]]))
        style = {"edge_width": self._pixels(1.5 * LINE_PIXELS), "edge_color": "yellow",
                 "face_color": "transparent"}
        if layer is None:
            active = viewer.layers.selection.active
            viewer.add_shapes(boxes, shape_type="rectangle", name="selected pair · J", units=UNITS,
                              metadata={KEY: "pair"}, **style)
            viewer.layers.selection.active = active
        else:
            layer.data = []
            layer.add_rectangles(boxes, **style)

    def zoom_to(self, rows: tuple[int, int], cols: tuple[int, int]) -> None:
        """Centre the camera on a block of the matrix (rows r0:r1, columns c0:c1) and fill the canvas."""
        viewer = self._viewer()
        (r0, r1), (c0, c1) = rows, cols
        top, left, step = self.geometry
        camera = viewer.scene.camera
        height, width = viewer.canvas.size
        camera.center = (top + step * (r0 + r1) / 2, left + step * (c0 + c1) / 2)
        camera.zoom = 0.9 * min(height / (step * (r1 - r0)), width / (step * (c1 - c0)))

    def _pixels(self, pixels: float) -> float:
        """World length of ``pixels`` screen pixels at the current zoom."""
        return pixels / max(float(self._viewer().scene.camera.zoom), 1e-12)
