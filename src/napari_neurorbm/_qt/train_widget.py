"""The "Train RBM" dock: hyperparameters, Train / Stop / Resume on a worker thread, live curves, checkpoints.

Built from small parts: the raster picker (:mod:`.train_rasters`), the form of
:class:`~napari_neurorbm.configs.TrainConfig` (:mod:`.train_form`), the job runner (:mod:`.jobs`) running
:func:`~napari_neurorbm._qt.train_job.train_job`, the curves and checkpoints of the run (:mod:`.train_view`),
the models it offers (:mod:`.train_models`) and the autosave parts (:mod:`.train_autosave`). Stop ends
the job; the trainer stays as it was at its last update and Resume runs it again. The viewer's model is
``state.model``, the model file of the selected checkpoint (the best by test log-likelihood unless the user
picks another) with the run's resumable state: Save writes it whole, so that a saved run continues
exactly, here or with ``neurorbm train --resume``.

A running training is autosaved into the user data folder; a run that ends in the dock removes its file,
and a dock that opens on a raster with an unfinished autosave offers to resume it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout

from napari_neurorbm._qt.docking import Dock, let_go
from napari_neurorbm._qt.jobs import JobRunner, Outcome, RunnerParts
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._qt.train_autosave import AutosaveField, UnfinishedOffer
from napari_neurorbm._qt.train_files import ModelFileButtons
from napari_neurorbm._qt.train_form import train_form
from napari_neurorbm._qt.train_job import Batch, RunAutosave, TrainFailed, continuation, train_job
from napari_neurorbm._qt.train_models import model_at, selected_update
from napari_neurorbm._qt.train_rasters import RasterPicker
from napari_neurorbm._qt.train_view import TrainView
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile, load_model
from napari_neurorbm.rbm.training import TrainConfig, Trainer

if TYPE_CHECKING:
    import napari

BAR_STAGES = {"train": "Training RBM", "select": "Model selection", "ptt": "Model selection (PTT)"}


class TrainWidget(Dock, RunnerParts):
    """Train an RBM on the viewer's binarized raster, watch its log-likelihood, pick a checkpoint."""

    started = Signal()
    stopped = Signal()  # the worker has ended (done, stopped or failed) and state.model is up to date
    failed = Signal(str)

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.trainer: Trainer | None = None
        self._trainer_raster: Raster | None = None
        self._published: ModelFile | None = None
        self._complete, self._failure = False, None
        self._autosave: RunAutosave | None = None
        self.rasters = RasterPicker(napari_viewer, self.state)
        self.autosave = AutosaveField()
        self.form = train_form(extra=[self.autosave])
        self.unfinished_button = UnfinishedOffer()
        self.unfinished_button.clicked.connect(self.resume_unfinished)
        self.runner = JobRunner(self, what="training", on_failed=self.failed.emit, stage_names=BAR_STAGES,
                                texts=False)
        self.status = self.message
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # a fixed height: a new text must not move the plots below (a relayout repaints the whole dock); 3
        # lines of napari's font, which is larger than the one the label measures before it is styled
        self.status.setFixedHeight(4 * self.status.fontMetrics().lineSpacing() + 4)
        self.view = TrainView()
        self.curves, self.checkpoints = self.view.curves, self.view.checkpoints
        self.checkpoints.picked.connect(self.select_checkpoint)
        self._lay_out()
        listeners = [(napari_viewer.layers.events.inserted, self.rasters.refresh),
                     (napari_viewer.layers.events.removed, self.rasters.refresh),
                     (self.state.events.raster, self.rasters.refresh),
                     (self.state.events.model, self._on_state_model)]
        for emitter, callback in listeners:
            emitter.connect(callback)
        self.destroyed.connect(partial(let_go, napari_viewer, listeners, None))
        self.rasters.changed.connect(self._on_raster_picked)
        self.rasters.refresh()
        self._set_running(False)
        if self.state.model is not None:
            self._on_state_model(self.state.model)

    def _lay_out(self) -> None:
        box = QGroupBox("Hyperparameters (paper defaults; hover for details)")
        QVBoxLayout(box).addWidget(self.form.native)
        self.train_button = _button("Train", "Start a new run from the paper's initial model (independent "
                                    "neurons)", self.train)
        self.stop_button = _button("Stop", "Stop after the current update; the model and checkpoints are "
                                   "kept", self.stop)
        self.resume_button = _button("Resume", "Continue the stopped run (or the loaded model file's run) up "
                                     "to the number of updates, with the same model, chains and optimizer",
                                     self.resume)
        self.files = ModelFileButtons(self.state, lambda: self._published or self.state.model, self.raster,
                                      self.runner.fail, self.status.setText)
        self.save_button, self.load_button = self.files.save_button, self.files.load_button
        self.save_model_file, self.load_model_file = self.files.save, self.files.load
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.rasters)
        layout.addWidget(box)
        layout.addLayout(_row(self.train_button, self.stop_button, self.resume_button))
        for widget in (self.unfinished_button, self.progress, self.status):
            layout.addWidget(widget)
        layout.addWidget(self.view, stretch=1)
        layout.addWidget(self.files)
        self.setMinimumWidth(340)

    # ---- form and rasters --------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The form's hyperparameters, with the picked raster's own test fraction (NeuroRBMError naming the
        first impossible value)."""
        fraction = self.rasters.test_fraction()
        config = self.form.config()
        return config if fraction is None else config.replace(test_fraction=round(fraction, 6)).validate()

    def raster(self) -> Raster | None:
        """The raster picked in the combo box."""
        return self.rasters.raster()

    def _on_raster_picked(self) -> None:
        raster = self.raster()
        if self.view.source is None and self.worker is None:  # nothing trained or opened: say what is next
            self.status.setText("Load a recording (Load & binarize), then Train." if raster is None else
                                f"Train starts a new run on {raster.name}.")
        self.unfinished_button.look(raster if self.worker is None else None)

    def _require_raster(self) -> Raster:
        raster = self.raster()
        if raster is None:
            raise NeuroRBMError("no binarized raster to train on: load a recording first (Load & binarize)")
        return raster

    # ---- running ----------------------------------------------------------------------------------
    def train(self) -> None:
        """Start a new run on the picked raster with the form's hyperparameters."""
        try:
            raster, config = self._require_raster(), self.config()
            autosave = self.autosave.for_run(raster)
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.trainer = None
        self.view.clear()
        self._start(raster, partial(Trainer.from_raster, raster, config), autosave)

    def resume(self, autosave_path: Path | None = None) -> None:
        """Continue the stopped run, or the run stored in the viewer's model file, up to the number of
        updates; autosave into ``autosave_path`` (the file of an unfinished run) or a new file."""
        try:
            raster, config = self._require_raster(), self.config()
            start = continuation(self.trainer, self._trainer_raster, self._complete, self.view.source,
                                 raster, config)
            autosave = self.autosave.for_run(raster, autosave_path)
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self._start(raster, start, autosave)

    def resume_unfinished(self) -> None:
        """Continue the offered unfinished run from its autosave, exactly where the file left it, up to the
        run's own number of updates; the file stays its autosave until it ends."""
        found = self.unfinished_button.found
        if found is None:
            return
        try:
            raster = self._require_raster()
            model = load_model(found.path)
            check_same_units(model, raster, raster.name)
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.rasters.make_current(raster)
        self.state.model = model  # the dock shows the run's curves and configuration, Resume continues it
        if found.update < found.updates:
            self.resume(found.path)
            return
        found.path.unlink(missing_ok=True)  # its training had ended: the viewer now keeps the model
        self.unfinished_button.look(raster)
        self.status.setText(f"Loaded the autosave of a run that had reached its {found.updates} updates.")

    def _start(self, raster: Raster, start: Trainer | Callable[[], Trainer], autosave: RunAutosave | None
               ) -> None:
        self.rasters.make_current(raster)
        self._trainer_raster = raster
        self._complete, self._failure, self._autosave = False, None, autosave
        self.view.live.new_job()
        self._set_running(True)
        self.runner.start(train_job(start, autosave=autosave), "Preparing the training data…",
                          self._on_returned, on_progress=self._on_batch, on_finished=self._on_finished)
        self.unfinished_button.look(None)
        self.started.emit()

    def stop(self) -> None:
        """Stop at the next update; the run is kept and Resume continues it."""
        if self.worker is not None:
            if self._autosave is not None:
                self._autosave.stopped_in_dock = True  # the run ends in the dock: its model is kept here
            self.runner.stop()

    def _set_running(self, running: bool) -> None:
        for widget in (self.train_button, self.resume_button, self.form.native, self.rasters,
                       self.load_button, self.save_button):
            widget.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_batch(self, p: Progress) -> None:
        batch: Batch = p.payload
        self.trainer = batch.trainer
        if self.view.add(batch):
            self.status.setText(self.view.live.status(batch.progress, self.trainer))

    def _on_returned(self, result: Trainer | TrainFailed) -> None:
        if isinstance(result, TrainFailed):
            if result.trainer is not None:
                self.trainer = self.view.source = result.trainer
            self._failure = result.message
            self.runner.fail(result.message)
        else:
            self._complete = True

    def _on_finished(self, _outcome: Outcome) -> None:
        """The worker has ended. A run that ended in the dock (done, failed, or the dock's Stop) has its
        model there: its autosave goes; one stopped from outside (napari closing) keeps its last one."""
        if self._autosave is not None and not self._autosave.kept:
            self._autosave.path.unlink(missing_ok=True)
        self._autosave = None
        self._set_running(False)
        self.unfinished_button.look(self.raster())
        trainer = self.trainer
        if trainer is not None:
            # a raster loaded meanwhile has other units: the run's model is then kept here, not in the viewer
            same_raster = self.state.raster is self._trainer_raster
            self._publish(model_at(trainer), to_viewer=same_raster)
            self.view.draw()
            note = "" if same_raster else " The viewer shows another raster now: Save keeps this model."
            self.status.setText((self._failure or self._summary(trainer)) + note)
        self.stopped.emit()

    def _summary(self, trainer: Trainer) -> str:
        head = "Done" if self._complete else "Stopped"
        text = f"{head} at update {trainer.update} of {trainer.config.updates} on {trainer.device}."
        if trainer.best is not None:
            text += (f" Best: update {trainer.best.update}, test LL {trainer.best.test_ll:.4f} nats/frame"
                     f" (independent neurons {trainer.independent_test_ll:.4f}).")
        return text + ("" if self._complete else " Resume continues the run.")

    # ---- the viewer's model -------------------------------------------------------------------------
    def select_checkpoint(self, update: int) -> None:
        """Make checkpoint ``update`` the viewer's model (``state.model``)."""
        if self.view.source is None:
            return
        try:
            self._publish(model_at(self.view.source, update, chains=self.worker is None))
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.view.draw()

    def _publish(self, model: ModelFile, to_viewer: bool = True) -> None:
        self.view.selected = selected_update(model)
        self._published = model
        if to_viewer:
            self.state.model = model

    def _on_state_model(self, model: ModelFile | None) -> None:
        """A model set elsewhere (or loaded here) becomes what the widget shows and what Resume continues;
        the form shows its configuration, and the settings the form does not show keep the file's."""
        if model is None or model is self._published or self.worker is not None:
            return
        self.trainer, self._published = None, model
        self.view.show_file(model)
        config = TrainConfig.from_dict(model.metadata.get("config", {})).replace(n_hidden=model.rbm.n_hidden)
        self.form.base = config
        self.form.fill(config)
        done = model.metadata.get("update")
        self.status.setText(f"Model of {model.rbm.n_visible} visible × {model.rbm.n_hidden} hidden units"
                            + ("" if done is None else f", trained for {done} updates")
                            + f"; showing update {self.view.selected}.")


def _button(text: str, tip: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(lambda: slot())
    return button


def _row(*widgets: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row
