"""The "Train RBM" dock: hyperparameters, Train / Stop / Resume on a worker thread, live curves, checkpoints.

The core's :class:`~napari_neurorbm.rbm.training.Trainer` runs inside a napari ``thread_worker``; its records
reach the GUI in batches (at most one every ``BATCH_S``), so a fast small model cannot flood the event loop.
Stop is ``worker.quit()``: the trainer stays as it was at its last update, and Resume runs it again.
The model the viewer looks at is ``state.model``, a :class:`~napari_neurorbm.rbm.io.ModelFile` built from
the selected checkpoint (the best one by test log-likelihood unless the user picks another).

A running training is autosaved (with its resumable state) every few minutes into the user data folder
(``napari_neurorbm.autosave``), and once more when something else than the dock stops it (napari closing);
a run that ends in the dock removes its file. A dock that opens on a raster with an unfinished autosave
offers to resume it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QFont
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from napari_neurorbm._qt.docking import Dock
from napari_neurorbm._qt.jobs import JobRunner, Outcome
from napari_neurorbm._qt.raster_layers import KEY, layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._qt.train_form import TrainForm
from napari_neurorbm._qt.train_job import Batch, RunAutosave, TrainFailed, train_job
from napari_neurorbm._qt.train_models import (
    best_update,
    checkpoint_models,
    checkpoint_test_lls,
    model_at,
    selected_update,
)
from napari_neurorbm._qt.train_plots import TrainCurves
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.autosave import (
    Unfinished,
    find_unfinished,
    new_autosave_path,
)
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile, load_model, save_model
from napari_neurorbm.rbm.training import TrainConfig, Trainer

if TYPE_CHECKING:
    import napari

REFRESH_S = 0.25  # the curves, labels and bars are repainted at most this often while training
BAR_STAGES = {"train": "Training RBM", "select": "Model selection", "ptt": "Model selection (PTT)"}
MODEL_FILTER = "RBM model (*.npz);;All files (*)"
SPLIT_TIP = ("Fraction of frames held out to measure the test log-likelihood. It is the raster's own split, "
             "set when binarizing (Load & binarize); the paper holds out 0.3.")


def _teardown(hooks: list, *_: object) -> None:
    """The widget is gone (e.g. the viewer closed): let go of the viewer's events (the runner stops the
    worker)."""
    for emitter, callback in hooks:
        emitter.disconnect(callback)


class TrainWidget(Dock):
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
        self._source: Trainer | ModelFile | None = None  # what the curves and the checkpoint list show
        self._published: ModelFile | None = None
        self._selected: int | None = None
        self._complete = False
        self._failure: str | None = None
        self._rasters: list[Raster] = []
        self._history: list[dict] = []
        self._gap_updates: list[int] = []
        self._gaps: list[float] = []
        self._clock: tuple[float, int] | None = None
        self._drawn = 0.0
        self._list_stale = False
        self._autosave: RunAutosave | None = None
        self._unfinished: Unfinished | None = None
        layout = QVBoxLayout(self.body)
        layout.addWidget(self._raster_box())
        self.form = TrainForm()
        layout.addWidget(self.form)
        layout.addLayout(self._run_row())
        self.unfinished_button = QPushButton()
        self.unfinished_button.clicked.connect(self.resume_unfinished)
        self.unfinished_button.hide()
        layout.addWidget(self.unfinished_button)
        self.runner = JobRunner(self, what="training", on_failed=self.failed.emit, stage_names=BAR_STAGES,
                                texts=False)
        self.status = self.runner.message
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # a fixed height: a new text must not move the plots below (a relayout repaints the whole dock)
        self.status.setFixedHeight(3 * self.status.fontMetrics().lineSpacing() + 4)
        layout.addWidget(self.runner.bar)
        layout.addWidget(self.status)
        self.curves = TrainCurves()
        layout.addWidget(self.curves, stretch=3)
        layout.addWidget(QLabel("Checkpoints (click one to make it the viewer's model; ★ = best test LL)"))
        self.checkpoints = QListWidget()
        self.checkpoints.setMinimumHeight(90)
        self.checkpoints.setToolTip(
            "Models saved along training (log-spaced), plus the best and the latest. Test LL is shown where "
            "an evaluation (Eval every) fell on the checkpoint; — where none did."
        )
        self.checkpoints.currentItemChanged.connect(self._on_checkpoint_clicked)
        layout.addWidget(self.checkpoints, stretch=1)
        layout.addLayout(self._file_row())
        self.setMinimumWidth(340)
        hooks = [
            (napari_viewer.layers.events.inserted, self._refresh_rasters),
            (napari_viewer.layers.events.removed, self._refresh_rasters),
            (self.state.events.raster, self._refresh_rasters),
            (self.state.events.model, self._on_state_model),
        ]
        for emitter, callback in hooks:
            emitter.connect(callback)
        self.destroyed.connect(partial(_teardown, hooks))
        self._refresh_rasters()
        self._set_running(False)
        if self.state.model is not None:
            self._on_state_model(self.state.model)

    # ---- form -----------------------------------------------------------------------------------
    def _raster_box(self) -> QGroupBox:
        box = QGroupBox("Binarized raster")
        column = QVBoxLayout(box)
        self.raster_combo = QComboBox()
        self.raster_combo.setToolTip("The binarized data raster to train on (the viewer's data layers)")
        self.raster_combo.currentIndexChanged.connect(self._show_split)
        self.raster_combo.currentIndexChanged.connect(self._offer_unfinished)
        self.split = QLabel("")
        self.split.setToolTip(SPLIT_TIP)
        self.split.setWordWrap(True)
        column.addWidget(self.raster_combo)
        column.addWidget(self.split)
        return box

    def _run_row(self) -> QHBoxLayout:
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Start a new run from the paper's initial model (independent neurons)")
        self.train_button.clicked.connect(self.train)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current update; the model and checkpoints are kept")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip(
            "Continue the stopped run (or the loaded model file's run) up to Updates, with the same model, "
            "chains and optimizer"
        )
        self.resume_button.clicked.connect(self.resume)
        row = QHBoxLayout()
        for button in (self.train_button, self.stop_button, self.resume_button):
            row.addWidget(button)
        return row

    def _file_row(self) -> QHBoxLayout:
        self.save_button = QPushButton("Save model…")
        self.save_button.setToolTip("Write the viewer's model, its checkpoints and training record to an npz")
        self.save_button.clicked.connect(self._pick_save_path)
        self.load_button = QPushButton("Load model…")
        self.load_button.setToolTip("Read a model file (neurorbm train, or saved here) as the viewer's model")
        self.load_button.clicked.connect(self._pick_load_path)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.load_button)
        return row

    def config(self) -> TrainConfig:
        """The form's hyperparameters, with the picked raster's own test fraction (NeuroRBMError naming the
        first impossible value)."""
        raster = self.raster()
        test_fraction = raster.test_frames.size / raster.n_frames if raster is not None else None
        return self.form.config(test_fraction)

    def _run_autosave(self, raster: Raster, path: Path | None = None) -> RunAutosave | None:
        """The autosave of a run on ``raster`` (into ``path``, else a new file), or None when it is off."""
        minutes = self.form.autosave_minutes()
        return None if minutes == 0 else RunAutosave(path or new_autosave_path(raster.name), minutes)

    # ---- rasters ----------------------------------------------------------------------------------
    def raster(self) -> Raster | None:
        """The raster picked in the combo box."""
        i = self.raster_combo.currentIndex()
        return self._rasters[i] if 0 <= i < len(self._rasters) else None

    def _refresh_rasters(self, *_: object) -> None:
        """List the viewer's data rasters (and the state's raster); keep the pick while it is still there."""
        current = self.raster()
        layers = layers_of(self.viewer, role="data", kind="binary")
        named = [(layer.name, layer.metadata[KEY].get("raster")) for layer in layers]
        named = [(name, r) for name, r in named if isinstance(r, Raster)]
        if self.state.raster is not None and all(r is not self.state.raster for _, r in named):
            named.insert(0, (self.state.raster.name, self.state.raster))
        self._rasters = [r for _, r in named]
        keep = current if any(r is current for r in self._rasters) else self.state.raster
        self.raster_combo.blockSignals(True)
        self.raster_combo.clear()
        for name, r in named:
            self.raster_combo.addItem(f"{name} ({r.n_units} units × {r.n_frames} frames)")
        self.raster_combo.setCurrentIndex(next((i for i, r in enumerate(self._rasters) if r is keep), 0))
        self.raster_combo.blockSignals(False)
        self._show_split()
        self._offer_unfinished()

    def _show_split(self, *_: object) -> None:
        raster = self.raster()
        if self._source is None and self.worker is None:  # nothing trained or opened yet: say what is next
            self.status.setText("Load a recording (Load & binarize), then Train." if raster is None else
                                f"Train starts a new run on {raster.name}.")
        if raster is None:
            self.split.setText("No binarized raster yet: load one with Load & binarize.")
            return
        n_test = raster.test_frames.size
        self.split.setText(
            f"Test fraction {n_test / max(raster.n_frames, 1):.2f}: {n_test} test and "
            f"{raster.train_frames.size} training frames (the raster's own split)"
        )

    def _require_raster(self) -> Raster:
        raster = self.raster()
        if raster is None:
            raise NeuroRBMError("no binarized raster to train on: load a recording first (Load & binarize)")
        return raster

    def _make_current(self, raster: Raster) -> None:
        """The model and the state's raster go together: training on a raster makes it the current one."""
        if raster is self.state.raster:
            return
        layer = next((x for x in layers_of(self.viewer, role="data", kind="binary")
                      if x.metadata[KEY].get("raster") is raster), None)
        self.state.session = None if layer is None else layer.metadata[KEY].get("session")
        self.state.raster = raster

    # ---- running ----------------------------------------------------------------------------------
    @property
    def worker(self):
        """The running training worker, or None."""
        return self.runner.worker

    def train(self) -> None:
        """Start a new run on the picked raster with the form's hyperparameters."""
        try:
            raster = self._require_raster()
            config = self.config()
            autosave = self._run_autosave(raster)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        self._make_current(raster)
        self.trainer, self._trainer_raster, self._source = None, raster, None
        self._history, self._gap_updates, self._gaps = [], [], []
        self._selected = None
        self.curves.reset()
        self.checkpoints.clear()
        self._start(partial(Trainer.from_raster, raster, config), config.updates, autosave)

    def resume(self) -> None:
        """Continue the stopped run, or the run stored in the viewer's model file, up to Updates."""
        self._resume()

    def _resume(self, autosave_path: Path | None = None) -> None:
        """Resume, autosaving into ``autosave_path`` (the file of an unfinished run) or a new file."""
        try:
            raster = self._require_raster()
            config = self.config()
            start = self._resumable(raster, config)
            autosave = self._run_autosave(raster, autosave_path)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        self._make_current(raster)
        self._trainer_raster = raster
        self._start(start, config.updates, autosave)

    def resume_unfinished(self) -> None:
        """Continue the offered unfinished run (napari closed or crashed during it) from its autosave, exactly
        where the file left it, up to the run's own Updates; the file stays its autosave until it ends."""
        found = self._unfinished
        if found is None:
            return
        try:
            raster = self._require_raster()
            model = load_model(found.path)
            check_same_units(model, raster, raster.name)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        self._make_current(raster)
        self.state.model = model  # the dock shows the run's curves and configuration, Resume continues it
        if found.update < found.updates:
            self._resume(found.path)
            return
        found.path.unlink(missing_ok=True)  # its training had ended: the viewer now keeps the model
        self._offer_unfinished()
        self.status.setText(f"Loaded the autosave of a run that had reached its {found.updates} updates.")

    def _offer_unfinished(self, *_: object) -> None:
        """Show the Resume-unfinished button when, no run going, an autosave fits the picked raster."""
        raster = self.raster()
        found = None
        if raster is not None and self.worker is None:
            found = find_unfinished(raster.unit_ids)
        self._unfinished = found
        self.unfinished_button.setVisible(found is not None)
        if found is not None:
            self.unfinished_button.setText(found.describe())
            self.unfinished_button.setToolTip(
                f"A run on this raster did not end (napari closed or crashed): continue it from its autosave "
                f"{found.path}, exactly where it was saved"
            )

    def _resumable(self, raster: Raster, config: TrainConfig) -> Trainer | Callable[[], Trainer]:
        trainer = self.trainer
        if trainer is not None and self._trainer_raster is raster:
            trainer.config = trainer.config.replace(minutes=config.minutes)
            if config.updates > trainer.config.updates:
                trainer.config = trainer.config.replace(updates=config.updates)
            elif self._complete and trainer.update >= trainer.config.updates:
                raise NeuroRBMError(
                    f"the run is complete at update {trainer.update}; raise Updates above "
                    f"{trainer.config.updates} to continue it"
                )
            return trainer
        if isinstance(self._source, ModelFile):
            check_same_units(self._source, raster, raster.name)
            return partial(Trainer.resume, self._source, raster, config)
        if trainer is not None:
            raise NeuroRBMError(f"the stopped run was trained on {self._trainer_raster.name}, not "
                                f"{raster.name}: pick that raster to resume it, or Train a new model")
        raise NeuroRBMError("nothing to resume: train a model or load a model file first")

    def _start(
        self, start: Trainer | Callable[[], Trainer], total: int, autosave: RunAutosave | None
    ) -> None:
        self._complete, self._failure, self._clock, self._autosave = False, None, None, autosave
        self._set_running(True)
        self.runner.start(train_job(start, autosave=autosave), "Preparing the training data…",
                          self._on_returned, on_progress=self._on_batch, on_finished=self._on_finished)
        self._offer_unfinished()
        self.started.emit()

    def stop(self) -> None:
        """Stop at the next update; the run is kept and Resume continues it."""
        if self.worker is not None:
            if self._autosave is not None:
                self._autosave.stopped_in_dock = True  # the run ends in the dock: its model is kept here
            self.runner.stop()

    def _set_running(self, running: bool) -> None:
        for widget in (self.train_button, self.resume_button, self.form, self.raster_combo,
                       self.load_button, self.save_button):
            widget.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_batch(self, p: Progress) -> None:
        batch: Batch = p.payload
        new_trainer = batch.trainer is not self.trainer
        self.trainer = self._source = batch.trainer
        if batch.past is not None:  # a job's first batch: the evaluations of the run so far
            self._history = [{k: h.get(k) for k in ("update", "train_ll", "test_ll")} for h in batch.past]
        for rec in batch.records:
            if "fe_gap" in rec and (not self._gap_updates or rec["update"] > self._gap_updates[-1]):
                self._gap_updates.append(rec["update"])
                self._gaps.append(rec["fe_gap"])
            if "train_ll" in rec:
                self._history.append({k: rec.get(k) for k in ("update", "train_ll", "test_ll")})
        if new_trainer:
            self.curves.show_reference(batch.trainer.independent_test_ll)
        self._list_stale |= new_trainer or any("checkpoint" in r or "train_ll" in r for r in batch.records)
        if batch.past is not None or time.monotonic() - self._drawn >= REFRESH_S:
            self._refresh(batch.progress)

    def _refresh(self, p: Progress) -> None:
        """Redraw what changed (painting is what costs: it is done at most every REFRESH_S)."""
        self._drawn = time.monotonic()
        self._show_progress(p)
        self._draw()
        if self._list_stale:
            self._list_checkpoints()

    def _show_progress(self, p: Progress) -> None:
        if p.stage != "train":
            self.status.setText(f"Model selection ({p.stage}): {p.message}")
            return
        now = time.monotonic()
        if self._clock is None:
            self._clock = (now, p.done)
        start, first = self._clock
        text = f"Update {p.done} of {p.total}"
        if p.done > first:
            text += f" · {(p.done - first) / max(now - start, 1e-9):.0f} updates/s"
        best = self.trainer.best if self.trainer is not None else None
        if best is not None:
            text += f" · best test LL {best.test_ll:.4f} at update {best.update}"
        self.status.setText(text)

    def _draw(self) -> None:
        source = self._source
        if isinstance(source, Trainer):
            ptt = source.ptt
        else:
            ptt = [] if source is None else source.metadata.get("ptt", [])
        self.curves.show_history(self._history, ptt)
        self.curves.show_gaps(np.asarray(self._gap_updates, float), np.asarray(self._gaps, float))
        best = None if source is None else best_update(source)
        self.curves.mark_best(best, None if best is None else checkpoint_test_lls(source).get(best))
        self.curves.mark_selected(self._selected)

    def _on_returned(self, result: Trainer | TrainFailed) -> None:
        if isinstance(result, TrainFailed):
            if result.trainer is not None:
                self.trainer = self._source = result.trainer
            self._failure = result.message
            self._fail(result.message)
        else:
            self._complete = True

    def _on_finished(self, _outcome: Outcome) -> None:
        """The worker has ended. A run that ended in the dock (done, failed, or the dock's Stop) has its
        model there: its autosave goes; one stopped from outside (napari closing) keeps its last one."""
        if self._autosave is not None and not self._autosave.kept:
            self._autosave.path.unlink(missing_ok=True)
        self._autosave = None
        self._offer_unfinished()
        self._set_running(False)
        trainer = self.trainer
        if trainer is not None:
            # a raster loaded meanwhile has other units: the run's model is then kept here, not in the viewer
            same_raster = self.state.raster is self._trainer_raster
            self._publish(model_at(trainer), to_viewer=same_raster)
            self._draw()
            self._list_checkpoints()
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

    # ---- checkpoints and the viewer's model --------------------------------------------------------
    def _list_checkpoints(self) -> None:
        """One row per checkpoint: update and test LL; the best starred and bold; the selected one current.

        Rows are rebuilt only when the set of checkpoints changes (a rebuild loses the scroll position).
        """
        source = self._source
        updates = [] if source is None else sorted(checkpoint_models(source))
        lls = {} if source is None else checkpoint_test_lls(source)
        best = None if source is None else best_update(source)
        box = self.checkpoints
        box.blockSignals(True)
        if updates != self.checkpoint_updates():
            box.clear()
            for update in updates:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, update)
                box.addItem(item)
        for row, update in enumerate(updates):
            item, ll = box.item(row), lls.get(update)
            text = f"update {update:>7d}   test LL " + ("—" if ll is None else f"{ll:.4f}")
            item.setText(("★ " if update == best else "   ") + text)
            font = QFont(item.font())
            font.setBold(update == best)
            item.setFont(font)
            item.setToolTip("best: maximal test log-likelihood" if update == best else "")
            if update == self._selected:
                box.setCurrentItem(item)
                box.scrollToItem(item)
        box.blockSignals(False)
        self._list_stale = False

    def checkpoint_updates(self) -> list[int]:
        """The updates in the checkpoint list, top to bottom."""
        items = (self.checkpoints.item(i) for i in range(self.checkpoints.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items]

    def _on_checkpoint_clicked(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.select_checkpoint(item.data(Qt.ItemDataRole.UserRole))

    def select_checkpoint(self, update: int) -> None:
        """Make checkpoint ``update`` the viewer's model (``state.model``)."""
        if self._source is None:
            return
        try:
            self._publish(model_at(self._source, update, chains=self.worker is None))
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        self._list_checkpoints()
        self._draw()

    def _publish(self, model: ModelFile, to_viewer: bool = True) -> None:
        self._selected = selected_update(model)
        self._published = model
        if to_viewer:
            self.state.model = model

    def _on_state_model(self, model: ModelFile | None) -> None:
        """A model set elsewhere (or loaded here) becomes what the widget shows and what Resume continues."""
        if model is None or model is self._published or self.worker is not None:
            return
        self.trainer, self._source, self._published = None, model, model
        self._selected = selected_update(model)
        self._history = [dict(h) for h in model.metadata.get("history", [])]
        self._gap_updates, self._gaps = [], []  # a live indicator: files do not keep it for every update
        config = TrainConfig.from_dict(model.metadata.get("config", {}))
        self.form.set_config(replace(config, n_hidden=model.rbm.n_hidden))
        self.curves.reset()
        self.curves.show_reference(model.metadata.get("independent_test_ll"))
        self._draw()
        self._list_checkpoints()
        done = model.metadata.get("update")
        self.status.setText(
            f"Model of {model.rbm.n_visible} visible × {model.rbm.n_hidden} hidden units"
            + ("" if done is None else f", trained for {done} updates")
            + f"; showing update {self._selected}."
        )

    # ---- files --------------------------------------------------------------------------------------
    def _pick_save_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the RBM model", str(Path.home()), MODEL_FILTER)
        if path:
            self.save_model_file(path)

    def _pick_load_path(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load an RBM model", str(Path.home()), MODEL_FILTER)
        if path:
            self.load_model_file(path)

    def save_model_file(self, path: str | Path) -> Path | None:
        """Write the widget's model (selected checkpoint, all checkpoints, chains, metadata) to ``path``."""
        model = self._published or self.state.model
        try:
            if model is None:
                raise NeuroRBMError("no model to save: train one or load a model file first")
            written = save_model(path, model.rbm, model.metadata, model.checkpoints, model.chains)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return None
        self.status.setText(f"Saved the model of update {selected_update(model)} to {written}.")
        return written

    def load_model_file(self, path: str | Path) -> ModelFile | None:
        """Read a model file and make it the viewer's model (its units must be the current raster's)."""
        try:
            model = load_model(path)
            raster = self.raster()
            if raster is not None:
                check_same_units(model, raster, raster.name)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return None
        self.state.model = model
        return model

    def _fail(self, message: str) -> None:
        self.runner.fail(message)
