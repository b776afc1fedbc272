"""The "Couplings" dock: the model's effective pair couplings J_ij as a matrix in the shared neuron order,
area by area (paper 001, Sec. II.B and IV.B, Fig. 4-5); click a pixel to inspect and select a pair. Replicate
models give the mean J, its spread and the reliable pairs (:mod:`.couplings_replicates`); two sessions are
compared area by area in a tab (:mod:`.couplings_compare`).

The dock is a form, jobs (:mod:`.couplings_job`) on the shared runner and its plots
(:mod:`.couplings_plots`); the layout owner draws the matrix on the canvas (:mod:`.coupling_layers`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
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
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.couplings_compare import ComparePanel
from napari_neurorbm._qt.couplings_ei import ClassCouplingsPlot
from napari_neurorbm._qt.couplings_job import area_blocks, couplings_job, replicates_job, unit_labels
from napari_neurorbm._qt.couplings_pair import PairBox
from napari_neurorbm._qt.couplings_plots import CouplingPlots
from napari_neurorbm._qt.couplings_replicates import ReplicatesBox
from napari_neurorbm._qt.docking import ViewerDock, let_go
from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm._qt.jobs import JobRunner, RunnerParts
from napari_neurorbm._qt.layout import get_layout
from napari_neurorbm._qt.relay import Relay
from napari_neurorbm.analysis.areas import write_area_csv, write_table_csv
from napari_neurorbm.analysis.couplings import CouplingsResult
from napari_neurorbm.configs import CouplingsConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

if TYPE_CHECKING:
    import napari

CONTRASTS = (("±99.5th percentile of |J|", True), ("±max |J|", False))
CSV_FILTER = "CSV table (*.csv);;All files (*)"


class CouplingsWidget(ViewerDock, RunnerParts):
    """Compute the model's couplings on a worker; the matrix goes on the canvas, the area plots here."""

    computed = Signal(object)  # the CouplingsResult, once shown
    finished = Signal()  # the worker ended (done, stopped or failed)
    failed = Signal(str)

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(napari_viewer)
        self.matrix = get_layout(napari_viewer).couplings
        self.form = ConfigForm(CouplingsConfig(), only=("min_units", "reliable_t", "device"))
        self.form.min_units.changed.connect(self._redraw_plots)
        self.runner = JobRunner(self, what="the couplings", on_failed=self.failed.emit,
                                stopped_text="Stopped.")
        self.model_label = QLabel(wordWrap=True)
        self.plots = CouplingPlots()
        self.replicates = ReplicatesBox(self.matrix, self.open_replicates, lambda: self.form.reliable_t.value)
        self.compare_panel = ComparePanel(self._start, self.form.config, self.runner.fail,
                                          self.message.setText)
        self.plots.addTab(self.compare_panel, "Compare sessions")
        for redraw in (self.replicates.redraw, self.compare_panel.redraw):
            self.form.reliable_t.changed.connect(redraw)
        self.class_plot = ClassCouplingsPlot()
        self.plots.addTab(self.class_plot, "E/I")
        self.export_button = QPushButton("Export area table (CSV)…")
        self.export_button.setToolTip("Per-area statistics of the within-area J_ij and each area's J_AB row")
        self.export_button.clicked.connect(self._pick_csv)
        layout = QVBoxLayout(self.body)
        self.pair_box = PairBox(self.state, self.matrix, say=self.message.setText)
        self.pair_label, self.clamp_button = self.pair_box.label, self.pair_box.clamp_button
        self.pair_shown = self.pair_box.shown  # row, column of the pair in the info box
        for part in (self.model_label, self._settings_box(), self._run_row(), self.runner.bar,
                     self.runner.message, self.replicates, self._zoom_box(), self.pair_box):
            layout.addWidget(part) if isinstance(part, QWidget) else layout.addLayout(part)
        layout.addWidget(self.plots, stretch=1)
        layout.addWidget(self.export_button)
        listeners = [(self.state.events.model, self._describe_model),
                     (self.state.events.couplings, self._on_couplings)]
        for signal, slot in listeners:
            signal.connect(slot)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.destroyed.connect(partial(let_go, napari_viewer, listeners, self._on_mouse))
        self._describe_model(self.state.model)
        if isinstance(self.state.couplings, CouplingsResult):
            self._on_couplings(self.state.couplings)

    @property
    def pair(self) -> tuple[int, int] | None:
        """The pair (row, column) shown in the info box and marked on the matrix."""
        return self.matrix.pair

    # ---- form -----------------------------------------------------------------------------------
    def _settings_box(self) -> QGroupBox:
        """The config's fields (magicgui), then what only the dock has: norms over training, colour range."""
        box = self.form.boxed("Settings")
        self.n_checkpoints = QSpinBox(minimum=0, maximum=1000, value=8, specialValueText="off")
        self.n_checkpoints.setToolTip(
            "Checkpoints (evenly spread) for the norms over training; each costs a full J computation")
        self.contrast = QComboBox(toolTip="Colour range of the J matrix, symmetric around zero")
        for text, robust in CONTRASTS:
            self.contrast.addItem(text, robust)
        self.contrast.currentIndexChanged.connect(
            lambda *_: self.matrix.set_contrast(self.contrast.currentData()))
        extra = QFormLayout()
        extra.addRow("Checkpoints for norms", self.n_checkpoints)
        extra.addRow("Colour range", self.contrast)
        box.layout().addLayout(extra)
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

    def _describe_model(self, model) -> None:
        result = self.state.couplings
        rep = result.replicates if isinstance(result, CouplingsResult) else None
        if rep is not None:
            rbm = rep.models[0].rbm
            self.model_label.setText(f"Replicates: {rep.n_replicates} models of {rbm.n_visible} visible × "
                                     f"{rbm.n_hidden} hidden units — J shown is their mean; Compute: the "
                                     "viewer's model")
            return
        if model is None:
            self.model_label.setText("No model: train one (Train RBM) or load a model file first.")
            return
        rbm = model.rbm
        parts = [f"Model: {rbm.n_visible} visible × {rbm.n_hidden} hidden units"]
        if model.areas is not None:
            parts.append(f"{len(np.unique(model.areas))} areas")
        parts.append(f"{len(model.checkpoints)} checkpoints")
        stale = isinstance(result, CouplingsResult) and result.model is not model
        self.model_label.setText(" · ".join(parts) + (" — J shown is of another model" if stale else ""))

    # ---- computing --------------------------------------------------------------------------------
    def compute(self) -> None:
        """Start computing H and J (then the norms over training) of ``state.model`` on a worker thread."""
        if self.runner.running:
            return
        model = self.state.model
        try:
            if model is None:
                raise NeuroRBMError("no model to analyse: train one (Train RBM) or load a model file first")
            areas, ids = unit_labels(model, self.state.raster)
            config = self.form.config()
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.plots.show_norms(None, "computing…" if model.checkpoints else "the model has no checkpoints")
        job = couplings_job(model, areas, ids, self.n_checkpoints.value(), config.device)
        self._start(job, "Computing the couplings…", self._on_done)

    def open_replicates(self, paths: list[str]) -> None:
        """Compute the couplings of replicate model files on a worker; their mean J replaces the shown J."""
        job = replicates_job(paths, self.state.raster, self.form.config().device)
        if self._start(job, f"Computing the couplings of {len(paths)} replicates…", self._on_done):
            self.plots.show_norms(None, "not computed for replicates")

    def _start(self, job: Generator[Progress, None, object], busy_text: str, on_done: Callable) -> bool:
        """Run one of the dock's jobs on its runner (Compute disabled, Stop enabled while it runs); whether it
        started (not while another job runs)."""
        if self.runner.running:
            self.runner.fail("the dock is busy: stop its job first")
            return False
        self.compute_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        worker = self.runner.start(job, busy_text, on_done, on_progress=self._on_progress)
        worker.finished.connect(Relay(self._on_finished, self).forward)  # after the runner's own
        return True

    def stop(self) -> None:
        """Stop the worker at its next step; whatever is already shown stays."""
        self.runner.stop()

    def _on_progress(self, p: Progress) -> None:
        if isinstance(p.payload, CouplingsResult):
            self.state.couplings = p.payload
        elif p.payload is not None:
            self.plots.show_norms(p.payload)

    def _on_done(self, _result: object) -> None:
        self.message.setText("Done.")

    def _on_finished(self) -> None:
        self.compute_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        result = self.state.couplings
        if self.runner.outcome.kind == "stopped" and isinstance(result, CouplingsResult) \
                and result.model is self.state.model:
            self.message.setText("Stopped; the couplings computed so far are kept.")
        self.finished.emit()

    # ---- showing a result -------------------------------------------------------------------------
    def _on_couplings(self, result) -> None:
        if not isinstance(result, CouplingsResult):
            return
        self.pair_box.clear()
        for combo in (self.zoom_rows, self.zoom_cols):
            combo.clear()
            combo.addItem("all units", None)
            for name, s, e in area_blocks(result.areas):
                combo.addItem(f"{name} ({e - s})", (s, e))
        self._redraw_plots()
        self._describe_model(self.state.model)
        self.replicates.show_result(result)
        self.computed.emit(result)

    def _redraw_plots(self, *_: object) -> None:
        result, raster = self.state.couplings, self.state.raster
        if isinstance(result, CouplingsResult):
            colours = area_colors(raster.areas if raster is not None else
                                  (result.areas if result.areas is not None else []))
            self.plots.show_areas(result.J, result.areas, self.form.min_units.value, colours)
            self.class_plot.show_result(result, raster)

    def zoom_to_pair(self) -> None:
        """Centre the camera on the block (rows: first area, columns: second area) and fill the canvas."""
        result = self.state.couplings
        if not isinstance(result, CouplingsResult) or self.matrix.layer("matrix") is None:
            self.runner.fail("compute the couplings first")
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
            self.pair_box.pick_at(where)

    # ---- export -----------------------------------------------------------------------------------
    def _pick_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the area table", str(Path.home() / "areas.csv"),
                                              CSV_FILTER)
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the area table (statistics and J_AB rows, areas with ≥ m units; of replicates: of the mean J,
        with the standard errors of J_AB) as CSV; None on failure."""
        result = self.state.couplings
        try:
            if not isinstance(result, CouplingsResult):
                raise NeuroRBMError("compute the couplings first")
            if result.areas is None:
                raise NeuroRBMError("the model has no brain areas, so there is no area table")
            m = self.form.min_units.value
            rep = result.replicates
            written = write_area_csv(path, result.J, result.areas, m) if rep is None else \
                write_table_csv(path, rep.area_table(m))
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return None
        self.message.setText(f"Wrote {written}")
        return written
