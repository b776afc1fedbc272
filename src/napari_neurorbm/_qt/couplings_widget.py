"""The "Couplings" dock: the model's effective pair couplings J_ij as a matrix in the shared neuron order,
area by area (paper 001, Sec. II.B and IV.B, Fig. 4-5); click a pixel to inspect and select a pair.

The dock is a form, a job (:mod:`.couplings_job`) on the shared runner and its plots
(:mod:`.couplings_plots`); the layout owner draws the matrix on the canvas (:mod:`.coupling_layers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Signal
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
from napari_neurorbm._qt.couplings_job import (
    CouplingsResult,
    area_blocks,
    couplings_job,
    pair_indicator,
    unit_labels,
)
from napari_neurorbm._qt.couplings_plots import CouplingPlots
from napari_neurorbm._qt.docking import Dock
from napari_neurorbm._qt.layout import get_layout
from napari_neurorbm._qt.model_runs import JobFailed, show_failure, show_progress, start_job
from napari_neurorbm._qt.relay import Relay
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.areas import write_area_csv
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

if TYPE_CHECKING:
    import napari

CONTRASTS = (("±99.5th percentile of |J|", True), ("±max |J|", False))
CSV_FILTER = "CSV table (*.csv);;All files (*)"


class CouplingsWidget(Dock):
    """Compute the model's couplings on a worker; the matrix goes on the canvas, the area plots here."""

    computed = Signal(object)  # the CouplingsResult, once shown
    finished = Signal()  # the worker ended (done, stopped or failed)
    pair_shown = Signal(int, int)  # row, column of the pair in the info box
    failed = Signal(str)

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.matrix = get_layout(napari_viewer).couplings
        self.worker = None
        self._stopping = False
        self.model_label = QLabel(wordWrap=True)
        self.progress = QProgressBar(maximum=1000)
        self.message = QLabel("", wordWrap=True)
        self.plots = CouplingPlots()
        self.export_button = QPushButton("Export area table (CSV)…")
        self.export_button.setToolTip("Per-area statistics of the within-area J_ij and each area's J_AB row")
        self.export_button.clicked.connect(self._pick_csv)
        layout = QVBoxLayout(self.body)
        for part in (self.model_label, self._settings_box(), self._run_row(), self.progress, self.message,
                     self._zoom_box(), self._pair_box()):
            layout.addWidget(part) if isinstance(part, QWidget) else layout.addLayout(part)
        layout.addWidget(self.plots, stretch=1)
        layout.addWidget(self.export_button)
        listeners = [(self.state.events.model, self._describe_model),
                     (self.state.events.couplings, self._on_couplings)]
        for signal, slot in listeners:
            signal.connect(slot)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.destroyed.connect(partial(_let_go, napari_viewer, listeners, self._on_mouse))
        self._describe_model(self.state.model)
        if isinstance(self.state.couplings, CouplingsResult):
            self._on_couplings(self.state.couplings)

    @property
    def pair(self) -> tuple[int, int] | None:
        """The pair (row, column) shown in the info box and marked on the matrix."""
        return self.matrix.pair

    # ---- form -----------------------------------------------------------------------------------
    def _settings_box(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        self.min_units = QSpinBox(minimum=1, maximum=100_000, value=30)
        self.min_units.setToolTip("Areas with fewer units are left out of J_AB, the histograms and the table")
        self.min_units.valueChanged.connect(self._redraw_plots)
        self.n_checkpoints = QSpinBox(minimum=0, maximum=1000, value=8, specialValueText="off")
        self.n_checkpoints.setToolTip(
            "Checkpoints (evenly spread) for the norms over training; each costs a full J computation")
        self.contrast = QComboBox(toolTip="Colour range of the J matrix, symmetric around zero")
        for text, robust in CONTRASTS:
            self.contrast.addItem(text, robust)
        self.contrast.currentIndexChanged.connect(
            lambda *_: self.matrix.set_contrast(self.contrast.currentData()))
        form.addRow("Min. units per area (m)", self.min_units)
        form.addRow("Checkpoints for norms", self.n_checkpoints)
        form.addRow("Colour range", self.contrast)
        return box

    def _run_row(self) -> QHBoxLayout:
        self.compute_button = QPushButton("Compute", toolTip="Fields H and all pair couplings J_ij")
        self.compute_button.clicked.connect(self.compute)
        self.stop_button = QPushButton("Stop", enabled=False)
        self.stop_button.clicked.connect(self.stop)
        row = QHBoxLayout()
        row.addWidget(self.compute_button)
        row.addWidget(self.stop_button)
        return row

    def _zoom_box(self) -> QGroupBox:
        box = QGroupBox("Zoom to an area pair")
        row = QHBoxLayout(box)
        self.zoom_rows = QComboBox(toolTip="Area of the rows (i)")
        self.zoom_cols = QComboBox(toolTip="Area of the columns (j)")
        self.zoom_button = QPushButton("Zoom")
        self.zoom_button.clicked.connect(self.zoom_to_pair)
        parts = ((self.zoom_rows, 1), (QLabel("×"), 0), (self.zoom_cols, 1), (self.zoom_button, 0))
        for part, stretch in parts:
            row.addWidget(part, stretch=stretch)
        return box

    def _pair_box(self) -> QGroupBox:
        box = QGroupBox("Selected pair (click a pixel of J)")
        layout = QVBoxLayout(box)
        self.pair_label = QLabel("No pair selected.", wordWrap=True)
        self.clamp_button = QPushButton("Send to Clamp", enabled=False)
        self.clamp_button.setToolTip("Select the two units; the Clamp widget works on the current selection")
        self.clamp_button.clicked.connect(self.send_to_clamp)
        layout.addWidget(self.pair_label)
        layout.addWidget(self.clamp_button)
        return box

    def _describe_model(self, model) -> None:
        if model is None:
            self.model_label.setText("No model: train one (Train RBM) or load a model file first.")
            return
        rbm = model.rbm
        parts = [f"Model: {rbm.n_visible} visible × {rbm.n_hidden} hidden units"]
        if model.areas is not None:
            parts.append(f"{len(np.unique(model.areas))} areas")
        parts.append(f"{len(model.checkpoints)} checkpoints")
        result = self.state.couplings
        stale = isinstance(result, CouplingsResult) and result.model is not model
        self.model_label.setText(" · ".join(parts) + (" — J shown is of another model" if stale else ""))

    # ---- computing --------------------------------------------------------------------------------
    def compute(self) -> None:
        """Start computing H and J (then the norms over training) of ``state.model`` on a worker thread."""
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
        self._stopping = False
        self.compute_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setValue(0)
        self.message.setText("Computing the couplings…")
        job = couplings_job(model, areas, ids, self.n_checkpoints.value())
        self.worker = start_job(self, job, progress=self._on_progress, done=self._on_done,
                                finished=self._on_finished)

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

    def _on_done(self, result: CouplingsResult | JobFailed) -> None:
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
        show_failure(message, self.message)
        self.failed.emit(message)

    # ---- showing a result -------------------------------------------------------------------------
    def _on_couplings(self, result) -> None:
        if not isinstance(result, CouplingsResult):
            return
        self.pair_label.setText("No pair selected.")
        self.clamp_button.setEnabled(False)
        for combo in (self.zoom_rows, self.zoom_cols):
            combo.clear()
            combo.addItem("all units", None)
            for name, s, e in area_blocks(result.areas):
                combo.addItem(f"{name} ({e - s})", (s, e))
        self._redraw_plots()
        self._describe_model(self.state.model)
        self.computed.emit(result)

    def _redraw_plots(self, *_: object) -> None:
        result, raster = self.state.couplings, self.state.raster
        if isinstance(result, CouplingsResult):
            colours = area_colors(raster.areas if raster is not None else
                                  (result.areas if result.areas is not None else []))
            self.plots.show_areas(result.J, result.areas, self.min_units.value(), colours)

    def zoom_to_pair(self) -> None:
        """Centre the camera on the block (rows: first area, columns: second area) and fill the canvas."""
        result = self.state.couplings
        if not isinstance(result, CouplingsResult) or self.matrix.layer("matrix") is None:
            self._fail("compute the couplings first")
            return
        n = len(result.J)
        self.matrix.zoom_to(*(c.currentData() or (0, n) for c in (self.zoom_rows, self.zoom_cols)))

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
        image, result = self.matrix.layer("matrix"), self.state.couplings
        if image is None or not image.visible or not isinstance(result, CouplingsResult):
            return None
        r, c = (int(np.floor(x + 0.5)) for x in image.world_to_data(world_position)[-2:])
        n = len(result.J)
        if not (0 <= r < n and 0 <= c < n) or r == c:
            return None
        self.show_pair(r, c)
        return r, c

    def show_pair(self, i: int, j: int) -> None:
        """Describe the pair (i, j) in the box, mark it, highlight both units on the rasters, compute R_ij."""
        from napari.qt.threading import create_worker

        result = self.state.couplings
        if not isinstance(result, CouplingsResult):
            return
        self.matrix.mark((i, j))
        self._write_pair(result, i, j, None)
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

        raster = self.state.raster
        rates = raster.rates_hz() if raster is not None and raster.n_units == len(result.J) else None
        self.pair_label.setText("\n".join([
            f"{unit(i)} ↔ {unit(j)}",
            f"J_ij = {result.J[i, j]:+.4g}    R_ij = " + ("computing…" if r is None else f"{r:.4g}"),
            "firing rates: "
            + (f"{rates[i]:.3g} Hz, {rates[j]:.3g} Hz" if rates is not None else "no raster loaded"),
        ]))

    def _select(self, i: int, j: int) -> None:
        raster = self.state.raster
        if raster is not None and raster.n_units == len(self.state.couplings.J):
            self.state.select([i, j])

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
