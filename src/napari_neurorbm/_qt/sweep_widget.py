"""The "Model selection" dock: open a sweep folder, or start a sweep on a local Dask cluster and watch it
fill, and pick the number of hidden units as the paper's Fig. 2 does.

It shows the train (dashed) and test (solid) log-likelihood of every run against updates, coloured by N_h,
a star at each run's maximum; the best test LL against N_h over seeds, with the N_h chosen
(:mod:`napari_neurorbm.sweep.selection`); and the table of runs. Picking a run (a row, a curve or a star)
makes its model the viewer's, so that Generate, Couplings and Clamp use it. Reading the folder runs on the
job runner's thread: while a sweep runs, the folder is read again every few seconds there, and the dock
only draws.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from napari_neurorbm._qt.docking import ViewerDock, let_go
from napari_neurorbm._qt.jobs import JobRunner, Outcome, RunnerParts
from napari_neurorbm._qt.sweep_choice import use_run
from napari_neurorbm._qt.sweep_plots import SweepPlots
from napari_neurorbm._qt.sweep_start import SweepStart
from napari_neurorbm._qt.sweep_table import RunTable
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.sweep.folder import SweepFolder
from napari_neurorbm.sweep.selection import Selection, iter_read_selection, iter_watch

if TYPE_CHECKING:
    import napari

STAGES = {"read": "Reading the sweep folder", "sweep": "Sweep: runs done"}
TABLE_TITLE = "Runs (click one to make its model the viewer's)"


class ModelSelectionWidget(ViewerDock, RunnerParts):
    """Fig. 2 of a sweep folder, a sweep started here, and the run that becomes the viewer's model."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(napari_viewer)
        self.folder: SweepFolder | None = None
        self.selection: Selection | None = None
        self.picked: str | None = None
        self._published: ModelFile | None = None
        self._sweeping = False
        self.runner = JobRunner(self, what="model selection", stage_names=STAGES,
                                stopped_text="Stopped: the sweep folder keeps every run; Start continues it.")
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a sweep folder (neurorbm sweep --out)")
        self.path_edit.returnPressed.connect(self.open_typed)
        self.open_button = _button("Open", "Read the sweep folder (again, to see a sweep run elsewhere "
                                   "move on)", self.open_typed)
        self.new_button = QPushButton("New sweep…")
        self.new_button.setToolTip("Show the form that starts a sweep on this machine")
        self.new_button.setCheckable(True)
        self.new_button.toggled.connect(self._toggle_start)
        self.start = SweepStart()
        self.start.setVisible(False)
        self.start.start_button.clicked.connect(self.start_or_stop)
        self.raster_combo = QComboBox()
        self.raster_combo.setToolTip("The sweep's raster whose runs are shown")
        self.raster_combo.currentIndexChanged.connect(self._redraw)
        self.verdict = QLabel("Open a sweep folder, or start a sweep (New sweep…).")
        self.verdict.setWordWrap(True)
        self.plots = SweepPlots()
        self.plots.picked.connect(self.pick_run)
        self.table = RunTable()
        self.table.picked.connect(self.pick_run)
        self._lay_out()
        listeners = [(self.state.events.model, self._on_state_model)]
        for signal, slot in listeners:
            signal.connect(slot)
        self.destroyed.connect(partial(let_go, napari_viewer, listeners, None))

    def _lay_out(self) -> None:
        box = QGroupBox("Sweep folder")
        form = QFormLayout(box)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, stretch=1)
        row.addWidget(_button("Folder…", "Choose a sweep folder", self._pick_folder))
        form.addRow("Folder", row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.new_button)
        form.addRow(buttons)
        self.raster_row = QGroupBox("Raster")
        QVBoxLayout(self.raster_row).addWidget(self.raster_combo)
        self.raster_row.setVisible(False)
        layout = QVBoxLayout(self.body)
        for widget in (box, self.start, self.progress, self.message, self.raster_row, self.verdict):
            layout.addWidget(widget)
        layout.addWidget(self.plots, stretch=1)
        layout.addWidget(QLabel(TABLE_TITLE))
        layout.addWidget(self.table)

    # ---- opening and starting ------------------------------------------------------------------------
    def open_folder(self, path: str | Path) -> None:
        """Read the sweep folder at ``path`` (on the runner's thread) and show it (not while a sweep runs
        here: its folder is being shown)."""
        if self._sweeping:
            self.runner.fail("a sweep is running in this dock: stop it before opening another folder")
            return
        try:
            folder = SweepFolder.open(Path(path).expanduser())
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.path_edit.setText(str(folder.path))
        if self.folder is None or folder.path.resolve() != self.folder.path.resolve():
            self.picked = None  # the viewer's model, if a run's, is another folder's
        self.folder = folder
        self.runner.restart(iter_read_selection(folder), f"Reading {folder.path.name}…", self.show_selection)

    def open_typed(self) -> None:
        """Open the folder typed in the line (a click on Open, or Return)."""
        text = self.path_edit.text().strip()
        if not text:
            self.runner.fail("type or choose a sweep folder first (Folder…)")
            return
        self.open_folder(text)

    def start_or_stop(self) -> None:
        """The form's button: start the sweep it describes, or stop the running one (the folder keeps
        every run: finished runs stay, interrupted ones resume from their autosave when started again)."""
        if self._sweeping:
            self.runner.stop()
            return
        try:
            request = self.start.request(self.state.raster)
            folder = SweepFolder.create(request.folder, request.plan)
            job = sweep_job(folder, request.workers, request.device)
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.folder, self.selection, self.picked = folder, None, None
        self.path_edit.setText(str(folder.path))
        self._set_sweeping(True)
        self.runner.restart(iter_watch(job, folder), "Starting the local cluster…", self.show_selection,
                            on_progress=self._on_progress, on_finished=self._on_sweep_finished)

    def _on_progress(self, p: Progress) -> None:
        if isinstance(p.payload, Selection):
            self.show_selection(p.payload)

    def _on_sweep_finished(self, outcome: Outcome) -> None:
        self._set_sweeping(False)
        if outcome.kind == "done" and self.selection is not None:
            counts = self.selection.counts()
            self.message.setText(f"Sweep done: {counts['done']} runs done, {counts['failed']} failed.")

    def _set_sweeping(self, sweeping: bool) -> None:
        self._sweeping = sweeping
        self.start.start_button.setText("Stop sweep" if sweeping else "Start sweep")
        for widget in (self.open_button, self.path_edit, self.start.form.native):
            widget.setEnabled(not sweeping)

    # ---- showing -------------------------------------------------------------------------------------
    def show_selection(self, sel: Selection) -> None:
        """Show a sweep's selection: rasters, plots, choice and table."""
        self.selection = sel
        rasters = list(dict.fromkeys(sel.runs["raster"]))
        if rasters != [self.raster_combo.itemData(i) for i in range(self.raster_combo.count())]:
            self.raster_combo.blockSignals(True)
            self.raster_combo.clear()
            for raster in rasters:
                self.raster_combo.addItem(Path(raster).stem, raster)
            self.raster_combo.blockSignals(False)
        self.raster_row.setVisible(len(rasters) > 1)
        self._redraw()

    def raster(self) -> str | None:
        """The plan's path of the raster whose runs are shown."""
        return self.raster_combo.currentData()

    def _redraw(self, *_: object) -> None:
        sel, raster = self.selection, self.raster()
        if sel is None or raster is None:
            return
        self.plots.draw(sel, raster)
        self.table.fill(sel.runs[sel.runs["raster"] == raster], self.picked)
        counts = ", ".join(f"{n} {status}" for status, n in sel.counts().items() if n)
        chosen = sel.chosen[sel.chosen["raster"] == raster]
        reasons = [("" if len(chosen) == 1 else f"lr {c.lr:g}: ") + c.reason for c in chosen.itertuples()]
        self.verdict.setText(f"{len(sel.runs)} runs ({counts}). " + (
            "Chosen " + "; ".join(reasons) if reasons else "No run has a test log-likelihood yet."))

    # ---- the viewer's model --------------------------------------------------------------------------
    def pick_run(self, name: str) -> None:
        """Make run ``name`` the viewer's model (loading its raster when the viewer has none like it)."""
        if self.folder is None or self.selection is None or name not in self.selection.runs.index:
            return
        try:
            said = use_run(self.viewer, self.state, self.folder, name, self.selection.runs.at[name, "raster"])
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            self.table.select_run(self.picked)
            return
        self.picked, self._published = name, self.state.model
        self.plots.mark(name)
        self.table.select_run(name)
        self.message.setText(said)

    def _on_state_model(self, model: ModelFile | None) -> None:
        """Another dock set the viewer's model: no run is marked any more."""
        if model is not self._published and self.picked is not None:
            self.picked, self._published = None, None
            self.plots.mark(None)
            self.table.select_run(None)

    def _toggle_start(self, shown: bool) -> None:
        self.start.setVisible(shown)

    def _pick_folder(self) -> None:
        start = self.path_edit.text().strip() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open a sweep folder", start)
        if path:
            self.open_folder(path)


def sweep_job(folder: SweepFolder, workers: int, device: str):
    """The sweep engine's job on ``folder``: its pending runs trained on an embedded local Dask cluster."""
    from napari_neurorbm.sweep.driver import iter_sweep

    return iter_sweep(folder, workers=workers, device=device)


def _button(text: str, tip: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(lambda *_: slot())
    return button
