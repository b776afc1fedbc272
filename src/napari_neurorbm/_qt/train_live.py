"""What the Train dock shows of a run as it goes: the evaluations (train and test LL per evaluated update),
the free-energy gap of every update (a live indicator: files do not keep it), and the status line with
the speed and the best model so far."""

from __future__ import annotations

import time

import numpy as np

from napari_neurorbm._qt.train_job import Batch
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.training import Trainer

LL_KEYS = ("update", "train_ll", "test_ll")


class LiveRecord:
    """The curves' data of one run in the dock, fed batch by batch, and the speed since the job began."""

    def __init__(self, history: list[dict] | None = None) -> None:
        self.history = [{k: h.get(k) for k in LL_KEYS} for h in history or []]
        self.gap_updates: list[int] = []
        self.gaps: list[float] = []
        self._clock: tuple[float, int] | None = None

    def new_job(self) -> None:
        """A job (a run or its continuation) starts: the speed is measured anew."""
        self._clock = None

    def add(self, batch: Batch) -> None:
        """Take a batch's records (a job's first batch brings the evaluations of the run so far)."""
        if batch.past is not None:
            self.history = [{k: h.get(k) for k in LL_KEYS} for h in batch.past]
        for rec in batch.records:
            if "fe_gap" in rec and (not self.gap_updates or rec["update"] > self.gap_updates[-1]):
                self.gap_updates.append(rec["update"])
                self.gaps.append(rec["fe_gap"])
            if "train_ll" in rec:
                self.history.append({k: rec.get(k) for k in LL_KEYS})

    def gap_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Updates and F gaps as float arrays."""
        return np.asarray(self.gap_updates, float), np.asarray(self.gaps, float)

    def status(self, p: Progress, trainer: Trainer | None) -> str:
        """The status line of progress record ``p``: update, speed, best test LL; or the selection stage."""
        if p.stage != "train":
            return f"Model selection ({p.stage}): {p.message}"
        now = time.monotonic()
        if self._clock is None:
            self._clock = (now, p.done)
        start, first = self._clock
        text = f"Update {p.done} of {p.total}"
        if p.done > first:
            text += f" · {(p.done - first) / max(now - start, 1e-9):.0f} updates/s"
        best = None if trainer is None else trainer.best
        if best is not None:
            text += f" · best test LL {best.test_ll:.4f} at update {best.update}"
        return text
