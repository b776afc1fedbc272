"""The Train dock's job: build or take a :class:`~napari_neurorbm.rbm.training.Trainer` (a new run, or what
Resume continues: :func:`continuation`), run it, hand its records to the GUI in batches, and autosave it
(every few minutes, and once more when something else than the dock stops it, e.g. napari closing: that file
is kept for resuming)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from napari_neurorbm._qt.jobs import one_line
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.autosave import Autosave, between_updates
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.training import TrainConfig, Trainer

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


def continuation(trainer: Trainer | None, trained_on: Raster | None, complete: bool,
                 shown: Trainer | ModelFile | None, raster: Raster, config: TrainConfig
                 ) -> Trainer | Callable[[], Trainer]:
    """What Resume continues on ``raster`` with the form's ``config``: the dock's stopped ``trainer`` (run on
    ``trained_on``; ``complete`` when it reached its updates), raised to the form's updates and time budget,
    or else the run of the model file the dock shows; a one-line NeuroRBMError when there is none."""
    if trainer is not None and trained_on is raster:
        trainer.config = trainer.config.replace(minutes=config.minutes)
        if config.updates > trainer.config.updates:
            trainer.config = trainer.config.replace(updates=config.updates)
        elif complete and trainer.update >= trainer.config.updates:
            raise NeuroRBMError(f"the run is complete at update {trainer.update}; raise the number of "
                                f"updates above {trainer.config.updates} to continue it")
        return trainer
    if isinstance(shown, ModelFile):
        check_same_units(shown, raster, raster.name)
        return partial(Trainer.resume, shown, raster, config)
    if trainer is not None:
        raise NeuroRBMError(f"the stopped run was trained on {trained_on.name}, not {raster.name}: pick that "
                            "raster to resume it, or Train a new model")
    raise NeuroRBMError("nothing to resume: train a model or load a model file first")
