"""What the Generate and Clamp docks share: a core job on a worker (with Stop), and the rasters they make
from a model's frames (shown beside the recording by the layout owner, :mod:`.layout`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from qtpy.QtCore import QObject

from napari_neurorbm._qt.raster_layers import frame_spacing
from napari_neurorbm._qt.relay import Relay
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

# ---------------------------------------------------------------- jobs on a worker


@dataclass(frozen=True)
class JobFailed:
    """What a job returns instead of raising, so that bad input ends as a one-line notification."""

    message: str


def guarded(job: Generator[Progress, None, Any]) -> Generator[Progress, None, Any]:
    """Run a core progress generator; a NeuroRBMError becomes a returned :class:`JobFailed`."""
    try:
        return (yield from job)
    except NeuroRBMError as exc:
        return JobFailed(str(exc))


def start_job(owner: QObject, job: Generator[Progress, None, Any], *, progress: Callable,
              done: Callable, finished: Callable):
    """Start ``job`` on a napari worker thread and return the worker (``worker.quit()`` stops it).

    ``progress`` gets each Progress, ``done`` the result (or a JobFailed), ``finished`` is called last,
    also after Stop. Deleting ``owner`` (its dock or the viewer closing) stops the job.
    """
    from napari.qt.threading import create_worker

    worker = create_worker(guarded, job, _start_thread=False)
    worker.yielded.connect(Throttle(progress, owner).forward)
    worker.returned.connect(Relay(done, owner).forward)
    worker.finished.connect(Relay(finished, owner).forward)
    owner.destroyed.connect(worker.quit)
    worker.start()
    return worker


class Throttle(Relay):
    """Forwards at most one Progress per ``interval_s`` (and every first and last of a stage) to a callback:
    redrawing a progress bar for every record would keep the GUI thread busy."""

    def __init__(self, callback: Callable[[Progress], None], owner: QObject, interval_s: float = 0.1) -> None:
        super().__init__(callback, owner)
        self._interval_s = interval_s
        self._last = (-np.inf, None)

    def forward(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self._last[0] >= self._interval_s or p.stage != self._last[1] or p.done >= p.total:
            self._last = (now, p.stage)
            self._callback(p)


def show_progress(bar, label, p: Progress, *, text: bool = True) -> None:
    """Move a 0..1000 progress bar to ``p`` and, when ``text``, say the stage and its detail in ``label``."""
    bar.setValue(round(1000 * min(max(p.fraction, 0.0), 1.0)))
    if text:
        detail = p.message or (f"{p.done}/{p.total}" if p.total else "")
        label.setText(f"{p.stage}: {detail}" if detail else p.stage)


def show_failure(message: str, label=None) -> None:
    """One-line error notification (and the same line in ``label`` when given)."""
    from napari.utils.notifications import show_error

    if label is not None:
        label.setText(message)
    show_error(message)


class JobControl:
    """One job at a time behind a Run/Stop button (Generate and Clamp docks): the button's text, the progress
    bar and the message line follow the job, and a job stopped before its result says that nothing changed.
    A plain object: ``start_job`` ties its callbacks to the owner widget's lifetime."""

    def __init__(self, owner: QObject, button, progress, message, idle_text: str) -> None:
        self.owner, self.button, self.progress, self.message = owner, button, progress, message
        self.idle_text = idle_text
        self.worker = None
        self.outcome: Any = None
        self._done: Callable = lambda _result: None

    def toggle(self, start: Callable[[], None]) -> None:
        """Stop the running job at its next step, or call ``start`` when none runs."""
        if self.worker is None:
            start()
            return
        self.worker.quit()
        self.message.setText("Stopping…")

    def start(self, job: Generator[Progress, None, Any], busy_text: str, done: Callable) -> None:
        """Run ``job`` on a worker; ``done`` gets its result or a :class:`JobFailed`."""
        self.outcome, self._done = None, done
        self.button.setText("Stop")
        self.progress.setValue(0)
        self.message.setText(busy_text)
        self.worker = start_job(self.owner, job, progress=self._on_progress, done=self._on_done,
                                finished=self._on_finished)

    def _on_progress(self, p: Progress) -> None:
        show_progress(self.progress, self.message, p)

    def _on_done(self, result: Any) -> None:
        self.outcome = result
        self._done(result)

    def _on_finished(self) -> None:
        self.worker = None
        self.button.setText(self.idle_text)
        if self.outcome is None:
            self.message.setText("Stopped: nothing was added.")


# ---------------------------------------------------------------- model rasters


def held_out_raster(raster: Raster) -> Raster:
    """The raster's held-out test frames, one after another, at the recording's frame spacing."""
    cols = np.asarray(raster.test_frames)
    if cols.size == 0:
        raise NeuroRBMError("the raster has no test frames to compare with (binarize with a test fraction)")
    n = cols.size
    return Raster(
        counts=np.ascontiguousarray(raster.counts[:, cols]), bin_s=raster.bin_s, areas=raster.areas,
        unit_ids=raster.unit_ids, segment_starts=np.zeros(1, np.int64),
        frame_times=np.arange(n) * frame_spacing(raster), train_frames=np.zeros(0, np.int64),
        test_frames=np.arange(n), name=f"{raster.name} test frames",
    )


def model_raster(frames: np.ndarray, segment_starts: np.ndarray, like: Raster, name: str) -> Raster:
    """Model-made 0/1 frames (frames x units) as a Raster in ``like``'s rows, a frame per column of ``like``.

    Every frame is in the 'train' split; chains are the segments.
    """
    n = len(frames)
    return Raster(
        counts=np.ascontiguousarray(np.asarray(frames, dtype=np.uint8).T), bin_s=like.bin_s,
        areas=like.areas, unit_ids=like.unit_ids, segment_starts=np.asarray(segment_starts, np.int64),
        frame_times=np.arange(n) * frame_spacing(like), train_frames=np.arange(n),
        test_frames=np.zeros(0, np.int64), name=name,
    )
