"""The "Couplings" dock: the model's effective pair couplings J_ij as a matrix in the shared neuron order,
area by area (paper 001, Sec. II.B and IV.B, Fig. 4-5); click a pixel to inspect and select a pair.

The J matrix is drawn right of the rasters with its rows level with the data raster's rows (when the
model was trained on that raster), so row i of J is the neuron of raster row i.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QSize, QTimer, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.couplings_plots import (
    DIVERGING_POSITIONS,
    DIVERGING_RGB,
    CouplingPlots,
    symmetric_limit,
)
from napari_neurorbm._qt.jobs import show_progress
from napari_neurorbm._qt.raster_layers import KEY as RASTER_KEY
from napari_neurorbm._qt.raster_layers import MAX_NAMES, UNITS, layers_of
from napari_neurorbm._qt.relay import Relay
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.areas import write_area_csv
from napari_neurorbm.analysis.couplings import (
    CouplingsResult,
    higher_order_indicator,
    iter_coupling_norms,
    iter_couplings,
)
from napari_neurorbm.configs import CouplingsConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

if TYPE_CHECKING:
    import napari

    from napari_neurorbm.data.raster import Raster

KEY = "neurorbm_couplings"  # layer.metadata[KEY] = kind of a layer this dock draws
COLORMAP_NAME = "coupling (blue < 0 < red)"
CONTRASTS = (("±99.5th percentile of |J|", True), ("±max |J|", False))
GAP = 0.3  # space between the rasters and the matrix (room for its row names), in matrix sizes
LINE_PIXELS = 1.2  # boundary lines and the pair marker keep this width on screen at any zoom
MARK_PIXELS = 7.0  # the marked pixel is drawn at least this many screen pixels wide
R_SAMPLES = 1000  # Monte Carlo draws of the other spins for R_ij
CSV_FILTER = "CSV table (*.csv);;All files (*)"
# Row names end left of the matrix; column names are written upwards from above it.
TEXT_PLACES = {
    "row names": {"anchor": "upper_right"},
    "column names": {"anchor": "upper_left", "rotation": -90},
}


@dataclass(frozen=True)
class JobFailed:
    """What a couplings job returns instead of raising, so bad input becomes a one-line notification."""

    message: str


def couplings_job(
    model, areas: np.ndarray | None, unit_ids: np.ndarray, n_checkpoints: int, device: str = "auto"
) -> Generator[Progress, None, JobFailed | None]:
    """H and J of the model (yielded as a CouplingsResult payload as soon as they exist), then the coupling
    norms of up to ``n_checkpoints`` of its checkpoints (yielded as a DataFrame payload)."""
    try:
        rbm = model.rbm
        H, J = yield from iter_couplings(rbm.W, rbm.b, rbm.c, device=device)
        result = CouplingsResult(model, H, J, areas, unit_ids)
        yield Progress("couplings", 1, 1, f"J for {len(H)} units", payload=result)
        picked = spread(model.checkpoints, n_checkpoints)
        if picked:
            norms = yield from iter_coupling_norms(picked, device=device)
            yield Progress("coupling norms", len(picked), len(picked), "done", payload=norms)
    except NeuroRBMError as exc:
        return JobFailed(str(exc))
    return None


def pair_indicator(result: CouplingsResult, i: int, j: int) -> tuple[CouplingsResult, int, int, float]:
    """R_ij of one pair of the result's model (eqs. 10-11), returned with what it was asked for."""
    rbm = result.model.rbm
    r = higher_order_indicator(rbm.W, rbm.b, rbm.c, np.array([[i, j]]), R_SAMPLES)
    return result, i, j, float(r[0])


def spread(items: Sequence, k: int) -> list:
    """At most ``k`` items evenly spread over the sequence, first and last included."""
    if k <= 0 or not items:
        return []
    picked = np.unique(np.round(np.linspace(0, len(items) - 1, min(k, len(items)))).astype(int))
    return [items[i] for i in picked]


def unit_labels(model, raster: Raster | None) -> tuple[np.ndarray | None, np.ndarray]:
    """Areas and unit ids of the model's visible units (its metadata, else the raster's), after checking
    that the model's rows are the loaded raster's rows."""
    n = model.rbm.n_visible
    ids = model.unit_ids if model.unit_ids is not None and len(model.unit_ids) == n else None
    if raster is not None:
        if raster.n_units != n:
            raise NeuroRBMError(
                f"the model has {n} visible units but the loaded raster has {raster.n_units}: "
                "load the raster the model was trained on"
            )
        if ids is not None and not np.array_equal(ids.astype(str), np.asarray(raster.unit_ids).astype(str)):
            raise NeuroRBMError("the model was trained on other units (or in another order) than the raster")
    areas = model.areas if model.areas is not None else (raster.areas if raster is not None else None)
    if ids is None:
        ids = np.asarray(raster.unit_ids) if raster is not None else np.arange(n)
    return (None if areas is None else np.asarray(areas).astype(str)), ids


def area_blocks(areas: np.ndarray | None) -> list[tuple[str, int, int]]:
    """(area, first row, end row) of each area whose units are one contiguous block of rows.

    Rows binarized here are grouped by area, so that is every area; an area scattered over the rows
    (a raster read with its rows untouched) has no block: no boundaries, name or zoom entry.
    """
    if areas is None or not len(areas):
        return []
    cuts = np.flatnonzero(areas[1:] != areas[:-1]) + 1
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(areas)]
    names, count = np.unique(areas[starts], return_counts=True)
    single = set(names[count == 1].tolist())
    return [(str(areas[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True) if areas[s] in single]


def diverging_colormap():
    """The shared diverging scale as a napari colormap."""
    from napari.utils.colormaps import Colormap

    colors = np.c_[DIVERGING_RGB, np.ones(len(DIVERGING_RGB))]
    return Colormap(colors=colors, controls=DIVERGING_POSITIONS, name=COLORMAP_NAME)


class CouplingsWidget(QWidget):
    """Compute the model's couplings on a worker, show J beside the raster and the area-level plots."""

    computed = Signal(object)  # the CouplingsResult, once shown
    finished = Signal()  # the worker ended (done, stopped or failed)
    pair_shown = Signal(int, int)  # row, column of the pair in the info box
    failed = Signal(str)

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.worker = None
        self.pair: tuple[int, int] | None = None
        self._rates: tuple[Any, np.ndarray] | None = None
        self._geometry = (0.0, 0.0, 1.0)  # world top, left and pixel size of the J matrix
        self._drawn: CouplingsResult | None = None  # the result the J layer holds
        self._stopping = False
        layout = QVBoxLayout(self)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        layout.addWidget(self.model_label)
        layout.addWidget(self._settings_box())
        layout.addLayout(self._run_row())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self._zoom_box())
        layout.addWidget(self._pair_box())
        self.plots = CouplingPlots()
        layout.addWidget(self.plots, stretch=1)
        self.export_button = QPushButton("Export area table (CSV)…")
        self.export_button.setToolTip("Per-area statistics of the within-area J_ij and each area's J_AB row")
        self.export_button.clicked.connect(self._pick_csv)
        layout.addWidget(self.export_button)
        self.setMinimumSize(360, 640)
        listeners = [
            (self.state.events.model, self._describe_model),
            (self.state.events.couplings, self._on_couplings),
            (self.state.events.raster, self._on_raster),
            (self.viewer.scene.camera.events.zoom, self._on_zoom),
            (self.viewer.layers.events.inserted, self._on_layers),
            (self.viewer.layers.events.removed, self._on_layers),
        ]
        for signal, slot in listeners:
            signal.connect(slot)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.destroyed.connect(partial(_let_go, self.viewer, listeners, self._on_mouse))
        self._describe_model(self.state.model)
        if isinstance(self.state.couplings, CouplingsResult):
            self._on_couplings(self.state.couplings)

    def sizeHint(self) -> QSize:
        return QSize(400, 860)

    # ---- form -----------------------------------------------------------------------------------
    def _settings_box(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        self.min_units = QSpinBox(minimum=1, maximum=100_000, value=CouplingsConfig.min_units)
        self.min_units.setToolTip("Areas with fewer units are left out of J_AB, the histograms and the table")
        self.min_units.valueChanged.connect(self._redraw_plots)
        self.n_checkpoints = QSpinBox(minimum=0, maximum=1000, value=8)
        self.n_checkpoints.setSpecialValueText("off")
        self.n_checkpoints.setToolTip(
            "Checkpoints (evenly spread) for the norms over training; each costs a full J computation"
        )
        self.contrast = QComboBox()
        for text, robust in CONTRASTS:
            self.contrast.addItem(text, robust)
        self.contrast.setToolTip("Colour range of the J matrix, symmetric around zero")
        self.contrast.currentIndexChanged.connect(self._apply_contrast)
        form.addRow("Min. units per area (m)", self.min_units)
        form.addRow("Checkpoints for norms", self.n_checkpoints)
        form.addRow("Colour range", self.contrast)
        return box

    def _run_row(self) -> QHBoxLayout:
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Fields H and all pair couplings J_ij of the current model")
        self.compute_button.clicked.connect(self.compute)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        row = QHBoxLayout()
        row.addWidget(self.compute_button)
        row.addWidget(self.stop_button)
        return row

    def _zoom_box(self) -> QGroupBox:
        box = QGroupBox("Zoom to an area pair")
        row = QHBoxLayout(box)
        self.zoom_rows = QComboBox()
        self.zoom_rows.setToolTip("Area of the rows (i)")
        self.zoom_cols = QComboBox()
        self.zoom_cols.setToolTip("Area of the columns (j)")
        self.zoom_button = QPushButton("Zoom")
        self.zoom_button.clicked.connect(self.zoom_to_pair)
        row.addWidget(self.zoom_rows, stretch=1)
        row.addWidget(QLabel("×"))
        row.addWidget(self.zoom_cols, stretch=1)
        row.addWidget(self.zoom_button)
        return box

    def _pair_box(self) -> QGroupBox:
        box = QGroupBox("Selected pair (click a pixel of J)")
        layout = QVBoxLayout(box)
        self.pair_label = QLabel("No pair selected.")
        self.pair_label.setWordWrap(True)
        self.clamp_button = QPushButton("Send to Clamp")
        self.clamp_button.setToolTip("Select the two units; the Clamp widget works on the current selection")
        self.clamp_button.setEnabled(False)
        self.clamp_button.clicked.connect(self.send_to_clamp)
        layout.addWidget(self.pair_label)
        layout.addWidget(self.clamp_button)
        return box

    def _describe_model(self, model) -> None:
        if model is None:
            self.model_label.setText("No model: train one (Train RBM) or load a model file first.")
            return
        rbm = model.rbm
        areas = model.areas
        parts = [f"Model: {rbm.n_visible} visible × {rbm.n_hidden} hidden units"]
        if areas is not None:
            parts.append(f"{len(np.unique(areas))} areas")
        parts.append(f"{len(model.checkpoints)} checkpoints")
        result = self.state.couplings
        stale = isinstance(result, CouplingsResult) and result.model is not model
        self.model_label.setText(" · ".join(parts) + (" — J shown is of another model" if stale else ""))

    # ---- computing --------------------------------------------------------------------------------
    def compute(self) -> None:
        """Start computing H and J (then the norms over training) of ``state.model`` on a worker thread."""
        from napari.qt.threading import create_worker

        if self.worker is not None:
            return
        model = self.state.model
        try:
            if model is None:
                raise NeuroRBMError("no model to analyse: train one (Train RBM) or load a model file first")
            areas, ids = unit_labels(model, self.state.raster)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        self.plots.show_norms(None, "computing…" if model.checkpoints else "the model has no checkpoints")
        worker = create_worker(couplings_job, model, areas, ids, self.n_checkpoints.value(),
                               _start_thread=False)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(Relay(self._on_returned, self).forward)
        worker.finished.connect(self._on_finished)
        self.destroyed.connect(worker.quit)
        self.worker = worker
        self._stopping = False
        self.compute_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setValue(0)
        self.message.setText("Computing the couplings…")
        worker.start()

    def stop(self) -> None:
        """Stop the worker at its next step; whatever is already shown stays."""
        if self.worker is not None:
            self.worker.quit()
            self._stopping = True
            self.message.setText("Stopping…")

    def _on_progress(self, p: Progress) -> None:
        show_progress(self.progress, self.message, p, text=not self._stopping)
        if isinstance(p.payload, CouplingsResult):
            self.state.couplings = p.payload
        elif p.payload is not None:
            self.plots.show_norms(p.payload)

    def _on_returned(self, result: JobFailed | None) -> None:
        if isinstance(result, JobFailed):
            self._fail(result.message)
        else:
            self.message.setText("Done.")

    def _on_finished(self) -> None:
        self.worker = None
        self.compute_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if self._stopping:
            result = self.state.couplings
            kept = isinstance(result, CouplingsResult) and result.model is self.state.model
            self.message.setText("Stopped; the couplings computed so far are kept." if kept else "Stopped.")
        self.finished.emit()

    def _fail(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.message.setText(message)
        show_error(message)
        self.failed.emit(message)

    # ---- showing a result -------------------------------------------------------------------------
    def _on_couplings(self, result) -> None:
        if not isinstance(result, CouplingsResult):
            return
        self._clear_pair()
        self._draw_layers(result)
        self._fill_zoom_combos(result.areas)
        self._redraw_plots()
        self._describe_model(self.state.model)
        self.computed.emit(result)

    def _on_raster(self, raster) -> None:
        self._rates = None
        result = self.state.couplings
        if isinstance(result, CouplingsResult) and raster is not None and raster.n_units == len(result.J):
            self._draw_layers(result)

    def _on_layers(self, event) -> None:
        """A raster added or removed (e.g. a generated one, then arranged beside the others): once that is
        done, move the matrix right of the rasters again if it no longer is."""
        if RASTER_KEY in getattr(event.value, "metadata", {}):
            QTimer.singleShot(0, self._relocate)

    def _relocate(self) -> None:
        result = self.state.couplings
        if (isinstance(result, CouplingsResult) and self._layer("matrix") is not None
                and self._placement(len(result.J)) != self._geometry):
            self._draw_layers(result)

    def _redraw_plots(self, *_: object) -> None:
        result = self.state.couplings
        if isinstance(result, CouplingsResult):
            self.plots.show_areas(result.J, result.areas, self.min_units.value(), self._colours(result))

    def _colours(self, result: CouplingsResult) -> dict[str, np.ndarray]:
        raster = self.state.raster
        if raster is not None:
            return area_colors(raster.areas)
        return area_colors(result.areas if result.areas is not None else [])

    def _placement(self, n: int) -> tuple[float, float, float]:
        """World (top, left) corner and pixel size of the matrix: its rows level with the data raster's
        rows (napari centres pixel k on translate + k * scale), right of the rasters."""
        data = layers_of(self.viewer, role="data", kind="binary")
        layer = data[0] if data else None
        if layer is None or int(layer.level_shapes[0][0]) != n:
            return -0.5, -0.5, 1.0
        step = float(layer.scale[0])
        right = max(float(lay.extent.world[1][-1]) for lay in layers_of(self.viewer))
        return float(layer.translate[0]) - step / 2, right + GAP * n * step, step

    def _draw_layers(self, result: CouplingsResult) -> None:
        """(Re)place the J image, the area boundaries and the area names; the active layer stays active."""
        active = self.viewer.layers.selection.active
        n = len(result.J)
        top, left, step = self._placement(n)
        self._geometry = (top, left, step)
        lim = symmetric_limit(_off_diagonal(result.J), robust=bool(self.contrast.currentData()))
        image = self._layer("matrix")
        first = image is None
        place = {"scale": (step, step), "translate": (top + step / 2, left + step / 2), "units": UNITS}
        if image is None:
            image = self.viewer.add_image(
                result.J.astype(np.float32), name="couplings J_ij", colormap=diverging_colormap(),
                contrast_limits=(-lim, lim), interpolation2d="nearest", metadata={KEY: "matrix"}, **place
            )
        else:
            if self._drawn is not result:
                image.data = result.J.astype(np.float32)
            image.scale, image.translate = place["scale"], place["translate"]
            image.contrast_limits = (-lim, lim)
        self._drawn = result
        image.colorbar.visible = True
        self._draw_boundaries(result.areas, n)
        self._draw_names(result.areas, n)
        self.viewer.layers.selection.active = active
        if first:
            self.viewer.reset_view()
            self._on_zoom()

    def _draw_boundaries(self, areas: np.ndarray | None, n: int) -> None:
        top, left, step = self._geometry
        cuts = sorted({0, n, *(k for _, s, e in area_blocks(areas) for k in (s, e))})
        lines = []
        for k in cuts:
            y, x = top + k * step, left + k * step
            lines.append(np.array([[y, left], [y, left + n * step]]))
            lines.append(np.array([[top, x], [top + n * step, x]]))
        layer = self._layer("boundaries")
        width = self._pixels(LINE_PIXELS)
        if layer is None:
            self.viewer.add_shapes(
                lines, shape_type="line", edge_color=[0.85, 0.85, 0.85, 0.8], edge_width=width,
                name="area boundaries · J", metadata={KEY: "boundaries"}, units=UNITS,
            )
        else:
            layer.data = []
            layer.add_lines(lines, edge_width=width, edge_color=[0.85, 0.85, 0.85, 0.8])

    def _draw_names(self, areas: np.ndarray | None, n: int) -> None:
        """Area names in the areas' colours: left of the matrix for the rows (just above each area's
        middle) and above it, written upwards, for the columns; areas under 1/40 of the rows unnamed."""
        for kind in ("row names", "column names"):
            old = self._layer(kind)
            if old is not None:
                self.viewer.layers.remove(old)
        runs = [(a, s, e) for a, s, e in area_blocks(areas) if e - s >= n / MAX_NAMES]
        if not runs:
            return
        top, left, step = self._geometry
        pad = 0.015 * n * step
        names = [a for a, _, _ in runs]
        where = {
            "row names": [[top + step * (s + e) / 2, left - pad] for _, s, e in runs],
            "column names": [[top - pad, left + step * (s + e) / 2] for _, s, e in runs],
        }
        for kind, points in where.items():
            self.viewer.add_points(
                np.array(points), name=f"area names ({kind.split()[0]}s) · J", size=1,
                face_color="transparent", border_width=0, features={"area": names}, units=UNITS,
                metadata={KEY: kind},
                text={"string": "{area}", "size": 9, "color": self._colours_for(names), **TEXT_PLACES[kind]},
            )

    def _colours_for(self, names: list[str]) -> np.ndarray:
        result = self.state.couplings
        table = self._colours(result) if isinstance(result, CouplingsResult) else {}
        return np.array([table.get(a, np.ones(4)) for a in names]).reshape(-1, 4)

    def _layer(self, kind: str):
        return next((layer for layer in self.viewer.layers if layer.metadata.get(KEY) == kind), None)

    def _pixels(self, pixels: float) -> float:
        """World length of ``pixels`` screen pixels at the current zoom."""
        return pixels / max(float(self.viewer.scene.camera.zoom), 1e-12)

    def _on_zoom(self, *_: object) -> None:
        boundaries = self._layer("boundaries")
        if boundaries is not None and boundaries.nshapes:
            boundaries.edge_width = self._pixels(LINE_PIXELS)
            boundaries.refresh()  # napari redraws the edges only on a refresh
        if self.pair is not None:
            self._mark_pair(*self.pair)

    def _apply_contrast(self, *_: object) -> None:
        result, image = self.state.couplings, self._layer("matrix")
        if isinstance(result, CouplingsResult) and image is not None:
            lim = symmetric_limit(_off_diagonal(result.J), robust=bool(self.contrast.currentData()))
            image.contrast_limits = (-lim, lim)

    # ---- zoom -------------------------------------------------------------------------------------
    def _fill_zoom_combos(self, areas: np.ndarray | None) -> None:
        for combo in (self.zoom_rows, self.zoom_cols):
            combo.clear()
            combo.addItem("all units", None)
            for name, s, e in area_blocks(areas):
                combo.addItem(f"{name} ({e - s})", (s, e))

    def zoom_to_pair(self) -> None:
        """Centre the camera on the block (rows: first area, columns: second area) and fill the canvas."""
        result = self.state.couplings
        if not isinstance(result, CouplingsResult) or self._layer("matrix") is None:
            self._fail("compute the couplings first")
            return
        n = len(result.J)
        (r0, r1), (c0, c1) = (c.currentData() or (0, n) for c in (self.zoom_rows, self.zoom_cols))
        top, left, step = self._geometry
        camera = self.viewer.scene.camera
        height, width = self.viewer.canvas.size
        camera.center = (top + step * (r0 + r1) / 2, left + step * (c0 + c1) / 2)
        camera.zoom = 0.9 * min(height / (step * (r1 - r0)), width / (step * (c1 - c0)))

    # ---- picking a pair ---------------------------------------------------------------------------
    def _on_mouse(self, viewer, event):
        """A click (press and release without moving) on the J matrix picks that pair."""
        if getattr(event, "button", 1) != 1:
            return
        where = tuple(event.position)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = True
            yield
        if not moved:
            self.pick_at(where)

    def pick_at(self, world_position: Sequence[float]) -> tuple[int, int] | None:
        """Show the pair under a world position of the J matrix (None off the matrix or on its diagonal)."""
        image, result = self._layer("matrix"), self.state.couplings
        if image is None or not image.visible or not isinstance(result, CouplingsResult):
            return None
        r, c = (int(np.floor(x + 0.5)) for x in image.world_to_data(world_position)[-2:])
        n = len(result.J)
        if not (0 <= r < n and 0 <= c < n) or r == c:
            return None
        self.show_pair(r, c)
        return r, c

    def show_pair(self, i: int, j: int) -> None:
        """Describe the pair (i, j) in the box, highlight both units on the rasters, compute R_ij."""
        from napari.qt.threading import create_worker

        result = self.state.couplings
        if not isinstance(result, CouplingsResult):
            return
        self.pair = (i, j)
        self._write_pair(result, i, j, None)
        self._mark_pair(i, j)
        self._select(i, j)
        self.clamp_button.setEnabled(True)
        worker = create_worker(pair_indicator, result, i, j, _start_thread=False)
        worker.returned.connect(Relay(self._on_r, self).forward)
        worker.start()
        self.pair_shown.emit(i, j)

    def _on_r(self, answer: tuple[CouplingsResult, int, int, float]) -> None:
        result, i, j, r = answer
        if (i, j) == self.pair and result is self.state.couplings:
            self._write_pair(result, i, j, r)

    def _write_pair(self, result: CouplingsResult, i: int, j: int, r: float | None) -> None:
        def unit(k: int) -> str:
            area = f"{result.areas[k]}, " if result.areas is not None else ""
            return f"unit {result.unit_ids[k]} ({area}row {k})"

        rates = self._rates_hz()
        lines = [
            f"{unit(i)} ↔ {unit(j)}",
            f"J_ij = {result.J[i, j]:+.4g}    R_ij = " + ("computing…" if r is None else f"{r:.4g}"),
            "firing rates: "
            + (f"{rates[i]:.3g} Hz, {rates[j]:.3g} Hz" if rates is not None else "no raster loaded"),
        ]
        self.pair_label.setText("\n".join(lines))

    def _rates_hz(self) -> np.ndarray | None:
        raster, result = self.state.raster, self.state.couplings
        if raster is None or not isinstance(result, CouplingsResult) or raster.n_units != len(result.J):
            return None
        if self._rates is None or self._rates[0] is not raster:
            self._rates = (raster, raster.rates_hz())
        return self._rates[1]

    def _select(self, i: int, j: int) -> None:
        raster, result = self.state.raster, self.state.couplings
        if raster is not None and raster.n_units == len(result.J):
            self.state.select([i, j])

    def _mark_pair(self, i: int, j: int) -> None:
        """Outline the pixels (i, j) and (j, i), never smaller than a few screen pixels."""
        top, left, step = self._geometry
        half = max(step, self._pixels(MARK_PIXELS)) / 2
        boxes = []
        for r, c in ((i, j), (j, i)):
            y, x = top + step * (r + 0.5), left + step * (c + 0.5)
            boxes.append(np.array([[y - half, x - half], [y + half, x + half]]))
        layer = self._layer("pair")
        style = {"edge_width": self._pixels(1.5 * LINE_PIXELS), "edge_color": "yellow",
                 "face_color": "transparent"}
        if layer is None:
            active = self.viewer.layers.selection.active
            self.viewer.add_shapes(boxes, shape_type="rectangle", name="selected pair · J", units=UNITS,
                                   metadata={KEY: "pair"}, **style)
            self.viewer.layers.selection.active = active
        else:
            layer.data = []
            layer.add_rectangles(boxes, **style)

    def _clear_pair(self) -> None:
        self.pair = None
        self.pair_label.setText("No pair selected.")
        self.clamp_button.setEnabled(False)
        layer = self._layer("pair")
        if layer is not None:
            self.viewer.layers.remove(layer)

    def send_to_clamp(self) -> None:
        """Make the pair the current selection (the Clamp widget clamps the selected units)."""
        if self.pair is None:
            return
        self._select(*self.pair)
        first, second = (self.state.couplings.unit_ids[k] for k in self.pair)
        self.message.setText(f"Units {first} and {second} selected for the Clamp widget.")

    # ---- export -----------------------------------------------------------------------------------
    def _pick_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the area table", str(Path.home() / "areas.csv"),
                                              CSV_FILTER)
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the area table (statistics and J_AB rows, areas with ≥ m units) as CSV; None on failure."""
        result = self.state.couplings
        try:
            if not isinstance(result, CouplingsResult):
                raise NeuroRBMError("compute the couplings first")
            if result.areas is None:
                raise NeuroRBMError("the model has no brain areas, so there is no area table")
            written = write_area_csv(path, result.J, result.areas, self.min_units.value())
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return None
        self.message.setText(f"Wrote {written}")
        return written


def _let_go(viewer, listeners: list, mouse_callback, *_: object) -> None:
    """Disconnect a closed dock from the viewer and the state, which outlive it."""
    for signal, slot in listeners:
        signal.disconnect(slot)
    if mouse_callback in viewer.mouse_drag_callbacks:
        viewer.mouse_drag_callbacks.remove(mouse_callback)


def _off_diagonal(J: np.ndarray) -> np.ndarray:
    return J[~np.eye(len(J), dtype=bool)]
