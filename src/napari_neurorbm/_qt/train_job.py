"""The Train dock's job: build or take a :class:`~napari_neurorbm.rbm.training.Trainer`, run it, hand its
records to the GUI in batches, and autosave it (every few minutes, and once more when something else than
the dock stops it, e.g. napari closing: that file is kept for resuming)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from napari_neurorbm._qt.jobs import one_line
from napari_neurorbm.autosave import Autosave, between_updates
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.training import Trainer

BATCH_S = 0.05  # the worker hands records to the GUI at most this often (and Stop waits at most this long)


@dataclass(frozen=True)
class Batch:
    """What the worker hands to the GUI (as the payload of a Progress record, see :func:`batched`): the
    trainer, the update records since the last batch, the latest progress record and, in a job's first
    batch only, the evaluations the trainer had before this job."""

    trainer: Trainer
    records: list[dict]
    progress: Progress
    past: list[dict] | None = None


@dataclass(frozen=True)
class TrainFailed:
    """A run that ended on a NeuroRBMError (bad input, divergence); ``trainer`` is None if none was built."""

    message: str
    trainer: Trainer | None


class RunAutosave(Autosave):
    """The autosave of one run in the dock: every few minutes, and once more when the worker is stopped by
    anything but the dock's Stop (napari closing cancels its tasks): that file is kept, for resuming."""

    def __init__(self, path: Path, minutes: float) -> None:
        super().__init__(path, minutes)
        self.stopped_in_dock = False  # set before the dock's Stop: the run ends in the dock, no last write
        self.kept = False  # the job wrote its last autosave on its way out: the file outlives the run

    def last(self, trainer: Trainer, run: Generator | None, p: Progress | None) -> None:
        """The job is closing mid-run (on the worker thread): unless the dock's Stop closed it, finish the
        evaluation in progress, if any (so the file is exact), and write the file for good."""
        if self.stopped_in_dock:
            return
        while run is not None and p is not None and not between_updates(p):
            p = next(run, None)
        self.write(trainer)
        self.kept = True


def batched(batch: Batch) -> Progress:
    """The batch's latest progress record, carrying the batch."""
    p = batch.progress
    return Progress(p.stage, p.done, p.total, p.message, payload=batch)


def train_job(
    start: Trainer | Callable[[], Trainer], interval_s: float = BATCH_S, autosave: RunAutosave | None = None
) -> Generator[Progress, None, Trainer | TrainFailed]:
    """Build the trainer (``start`` is called on the worker) or take it, run it, yield :class:`Batch`es
    (each as the payload of its latest progress record).
    Between two updates (see :func:`~napari_neurorbm.autosave.between_updates`) ``autosave`` writes when
    due; when the worker closes the job mid-run, it writes once more (see :meth:`RunAutosave.last`)."""
    trainer, run, p = None, None, None
    try:
        trainer = start if isinstance(start, Trainer) else start()
        first = Progress("train", trainer.update, trainer.config.updates, "starting")
        yield batched(Batch(trainer, [], first, past=[dict(h) for h in trainer.history]))
        records: list[dict] = []
        last = time.monotonic()
        run = trainer.run()
        for p in run:
            if p.stage == "train" and isinstance(p.payload, dict):
                records.append(p.payload)
            if autosave is not None and between_updates(p):
                autosave.maybe(trainer)
            if time.monotonic() - last >= interval_s:
                yield batched(Batch(trainer, records, p))
                records, last = [], time.monotonic()
        if p is not None:
            yield batched(Batch(trainer, records, p))
    except GeneratorExit:
        if autosave is not None and trainer is not None:
            autosave.last(trainer, run, p)
        raise
    except Exception as exc:  # e.g. out of GPU memory: one line for the user, not a traceback
        return TrainFailed(one_line(exc, "training"), trainer)
    return trainer
