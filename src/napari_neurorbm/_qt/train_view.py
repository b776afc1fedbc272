"""What the Train dock shows of a run or a model file: the curves (:mod:`.train_plots`, fed by
:mod:`.train_live`) and the checkpoint list (:mod:`.train_checkpoints`), with the selected checkpoint
marked. While a run goes they are repainted at most every ``REFRESH_S`` (painting is what costs)."""

from __future__ import annotations

import time

from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_neurorbm._qt.train_checkpoints import TITLE, CheckpointList
from napari_neurorbm._qt.train_job import Batch
from napari_neurorbm._qt.train_live import LiveRecord
from napari_neurorbm._qt.train_models import best_update, checkpoint_test_lls, selected_update
from napari_neurorbm._qt.train_plots import TrainCurves
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.training import Trainer

REFRESH_S = 0.25


class TrainView(QWidget):
    """Curves and checkpoints of :attr:`source` (a run or a file), :attr:`selected` marked; a click in the
    list is :attr:`checkpoints`' ``picked`` signal."""

    def __init__(self) -> None:
        super().__init__()
        self.source: Trainer | ModelFile | None = None
        self.selected: int | None = None
        self.live = LiveRecord()
        self.curves = TrainCurves()
        self.checkpoints = CheckpointList()
        self._drawn, self._list_stale = 0.0, False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.curves, stretch=3)
        layout.addWidget(QLabel(TITLE))
        layout.addWidget(self.checkpoints, stretch=1)

    def clear(self) -> None:
        """A new run: nothing to show yet."""
        self.source, self.selected, self.live = None, None, LiveRecord()
        self.curves.reset()
        self.checkpoints.clear()

    def add(self, batch: Batch) -> bool:
        """Take a batch of the running job; return whether it was drawn (a job's first batch always is)."""
        new_source = batch.trainer is not self.source
        self.source = batch.trainer
        self.live.add(batch)
        if new_source:
            self.curves.show_reference(batch.trainer.independent_test_ll)
        self._list_stale |= new_source or any("checkpoint" in r or "train_ll" in r for r in batch.records)
        due = batch.past is not None or time.monotonic() - self._drawn >= REFRESH_S
        if due:
            self._drawn = time.monotonic()
            self.draw(list_too=self._list_stale)
        return due

    def show_file(self, model: ModelFile) -> None:
        """Show a model file's run: its evaluations, PTT points, checkpoints, its selection."""
        self.source, self.selected = model, selected_update(model)
        self.live = LiveRecord(model.metadata.get("history", []))
        self.curves.reset()
        self.curves.show_reference(model.metadata.get("independent_test_ll"))
        self.draw()

    def draw(self, list_too: bool = True) -> None:
        """Repaint the curves and markers (and the checkpoint list when ``list_too``)."""
        source = self.source
        if isinstance(source, Trainer):
            ptt = source.ptt
        else:
            ptt = [] if source is None else source.metadata.get("ptt", [])
        self.curves.show_history(self.live.history, ptt)
        self.curves.show_gaps(*self.live.gap_curve())
        best = None if source is None else best_update(source)
        self.curves.mark_best(best, None if best is None else checkpoint_test_lls(source).get(best))
        self.curves.mark_selected(self.selected)
        if list_too:
            self.checkpoints.show_models(source, self.selected)
            self._list_stale = False
