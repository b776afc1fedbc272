"""The one job runner of the docks: a core generator (yielding :class:`~napari_neurorbm.progress.Progress`) on
a napari thread worker, with a Run/Stop button, a progress bar and a message line in the dock, one napari
progress bar per stage in the activity dock, and one outcome: done, stopped or failed (with its message).

Any exception inside the job (a NeuroRBMError, or an error from torch or numpy) ends it as *failed* with a
one-line message, shown as a napari notification and in the dock; nothing a job returns or reports reaches
a dock that is gone (:class:`~napari_neurorbm._qt.relay.Relay`), and deleting the dock stops its job at the
next yield.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from napari.qt.threading import GeneratorWorker
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from napari_neurorbm._qt.relay import Relay
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

LOG = logging.getLogger(__name__)
BAR_STEPS = 1000  # resolution of the dock's progress bar
THROTTLE_S = 0.1  # progress without a payload reaches the GUI at most this often per stage


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``done`` with its ``result``, ``stopped`` by the user, or ``failed`` (``message``)."""

    kind: Literal["done", "stopped", "failed"]
    message: str = ""
    result: Any = None


def one_line(exc: BaseException, what: str) -> str:
    """The message a user sees for an exception: a NeuroRBMError's own text, else '<what> failed: <first
    line of the error>' (e.g. torch's 'CUDA out of memory')."""
    if isinstance(exc, NeuroRBMError):
        return " ".join(str(exc).split())
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return f"{what} failed: {first}"


def guarded(job: Generator[Progress, None, Any], what: str) -> Generator[Progress, None, Outcome]:
    """Run ``job``; whatever it returns or raises becomes an :class:`Outcome` (tracebacks go to the log)."""
    try:
        return Outcome("done", result=(yield from job))
    except Exception as exc:
        if not isinstance(exc, NeuroRBMError):
            LOG.exception("%s failed", what)
        return Outcome("failed", one_line(exc, what))


class ClosingWorker(GeneratorWorker):
    """A generator worker that closes its job on the worker thread when it ends, also when told to quit, so
    that the job's clean-up (``finally``, ``except GeneratorExit``) runs there and then."""

    def work(self):
        try:
            return super().work()
        finally:
            self._gen.close()  # superqt's GeneratorWorker (napari's base) keeps the job's generator as _gen


def notify_warning(args: tuple) -> None:
    """A job's warning (e.g. units left without an E/I class) as a napari notification. napari's own relay of
    a worker's warnings never connects: its mixin comes after QRunnable, whose constructor stops the chain."""
    from napari.utils.notifications import notification_manager

    notification_manager.receive_warning(*args)


class StageBars:
    """One napari progress bar per stage in the activity dock: a new stage closes the previous stage's bar,
    so that no bar waits at 99 % while another stage computes. A stage of unknown length (``total`` 0) is
    shown as busy. Between :meth:`open` and :meth:`close` (a job's life) only."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.names = names or {}
        self.bar = None
        self.stage: str | None = None
        self._live = False
        self._moving = False

    def open(self) -> None:
        """A job starts: its stages get bars."""
        self._live = True

    def show(self, p: Progress) -> None:
        """Move to ``p``. napari's bar runs the event loop when it moves, so a nested call is skipped, and
        the job may end meanwhile (then its bar is closed and nothing more is drawn)."""
        if self._moving or not self._live:
            return
        self._moving = True
        try:
            if p.stage != self.stage:
                self._close_bar()
                from napari.utils import progress

                self.bar, self.stage = progress(total=max(p.total, 0), desc=self._name(p)), p.stage
            bar = self.bar
            if bar is not None and p.total > 0 and bar.total != p.total:
                bar.total = p.total
            if bar is not None and self.bar is bar:
                bar.update(p.done - bar.n)
        finally:
            self._moving = False

    def close(self) -> None:
        """The job has ended (or its dock is gone): close the bar; no more bars until :meth:`open`."""
        self._live = False
        self._close_bar()

    def _close_bar(self) -> None:
        bar, self.bar, self.stage = self.bar, None, None
        if bar is not None:
            bar.close()

    def _name(self, p: Progress) -> str:
        return self.names.get(p.stage, p.stage)


class JobRunner:
    """One job at a time for a dock, behind ``button`` if it has one (its own text, or ``stop_text`` while a
    job runs and a click stops it). ``bar`` and ``message`` are the dock's progress bar and message line.

    A plain object: its callbacks reach the dock through Relays owned by ``owner``, so they stop with it.
    """

    def __init__(self, owner: QWidget, button: QPushButton | None = None, *, what: str,
                 on_failed: Callable[[str], None] | None = None, stop_text: str = "Stop",
                 stopped_text: str = "Stopped: nothing was added.", stage_names: dict[str, str] | None = None,
                 texts: bool = True) -> None:
        self.owner, self.button, self.what = owner, button, what
        self.idle_text = button.text() if button is not None else ""
        self.stop_text, self.stopped_text = stop_text, stopped_text
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.stages = StageBars(stage_names)
        self.texts = texts  # whether progress is written into the message line (else the dock writes it)
        owner.destroyed.connect(self._abandon)
        self.worker: ClosingWorker | None = None
        self._ended: ClosingWorker | None = None
        self._retired: list[ClosingWorker] = []
        self.outcome: Outcome | None = None
        self._on_done: Callable[[Any], None] = lambda _result: None
        self._on_failed = on_failed or (lambda _message: None)
        self._on_progress: Callable[[Progress], None] | None = None
        self._on_finished: Callable[[Outcome], None] = lambda _outcome: None

    @property
    def running(self) -> bool:
        return self.worker is not None

    def toggle(self, start: Callable[[], None]) -> None:
        """The button's click: stop the running job, or call ``start`` when none runs."""
        if self.worker is None:
            start()
        else:
            self.stop()

    def start(self, job: Generator[Progress, None, Any], busy_text: str, on_done: Callable[[Any], None], *,
              on_progress: Callable[[Progress], None] | None = None,
              on_finished: Callable[[Outcome], None] | None = None) -> ClosingWorker:
        """Run ``job`` on a worker thread and return the worker. ``on_done`` gets the job's value,
        ``on_progress`` every record that reaches the GUI (each with a payload, the others at most every
        THROTTLE_S per stage), ``on_finished`` the outcome once the worker has ended; a failure is shown,
        then handed to the runner's ``on_failed``."""
        if self.worker is not None:
            raise RuntimeError("a job is already running")
        self._on_done, self._on_progress = on_done, on_progress
        self._on_finished = on_finished or (lambda _outcome: None)
        self.outcome = None
        worker = self.worker = ClosingWorker(guarded, job, self.what)
        current = partial(self._current, worker)
        worker.yielded.connect(Relay(current(Throttle(self._progress).forward), self.owner).forward)
        worker.returned.connect(Relay(current(self._returned), self.owner).forward)
        worker.finished.connect(Relay(current(self._finished), self.owner).forward)
        worker.warned.connect(Relay(notify_warning, self.owner).forward)
        self.stages.open()
        if self.button is not None:
            self.button.setText(self.stop_text)
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(0)
        self.message.setText(busy_text)
        worker.start()
        return worker

    def restart(self, job: Generator[Progress, None, Any], busy_text: str, on_done: Callable[[Any], None],
                **callbacks: Callable) -> ClosingWorker:
        """Stop the running job, if any (nothing of it reaches the dock any more), and start ``job`` (with
        :meth:`start`'s ``on_progress`` and ``on_finished`` among ``callbacks``)."""
        if self.worker is not None:
            self.worker.quit()
            self._retired = [w for w in self._retired if w.is_running] + [self.worker]  # alive till they end
            self.worker = None
            self.stages.close()
        return self.start(job, busy_text, on_done, **callbacks)

    def _current(self, worker: ClosingWorker, callback: Callable) -> Callable:
        """``callback``, called only while ``worker`` is the runner's job (not one replaced by restart)."""
        def call(*args: Any) -> None:
            if worker is self.worker:
                callback(*args)
        return call

    def stop(self) -> None:
        """Stop the running job at its next yield; nothing it would have returned is delivered."""
        if self.worker is not None:
            self.worker.quit()
            self.message.setText("Stopping…")

    def fail(self, message: str) -> None:
        """Report a failure (also one found before a job starts, e.g. in the form): notification, message."""
        from napari.utils.notifications import show_error

        self.message.setText(message)
        show_error(message)
        self._on_failed(message)

    def _abandon(self) -> None:
        """The dock is gone: stop its job at the next yield (nothing reaches the dock any more), close
        the bars."""
        if self.worker is not None:
            self.worker.quit()
        self._ended, self.worker = self.worker, None
        self.stages.close()

    def _progress(self, p: Progress) -> None:
        show_progress(self.bar, self.message, p, text=self.texts)
        if self._on_progress is not None:
            self._on_progress(p)
        # napari's bars run the event loop (processEvents) when they move: never inside the delivery of a
        # worker's signal, where the worker could end and be dropped under it
        QTimer.singleShot(0, partial(self.stages.show, p))

    def _returned(self, outcome: Outcome) -> None:
        self.outcome = outcome
        if outcome.kind == "failed":
            self.fail(outcome.message)
        else:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(BAR_STEPS)
            self._on_done(outcome.result)

    def _finished(self) -> None:
        self._ended, self.worker = self.worker, None  # the last worker stays referenced until the next
        self.stages.close()
        if self.button is not None:
            self.button.setText(self.idle_text)
        if self.outcome is None:
            self.outcome = Outcome("stopped", self.stopped_text)
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(0)
            self.message.setText(self.stopped_text)
        self._on_finished(self.outcome)


class RunnerParts:
    """A dock's ``runner`` (a :class:`JobRunner`) seen as its own worker, progress bar and message line."""

    runner: JobRunner

    @property
    def worker(self) -> ClosingWorker | None:
        """The running job's worker, or None."""
        return self.runner.worker

    @property
    def progress(self) -> QProgressBar:
        """The dock's progress bar."""
        return self.runner.bar

    @property
    def message(self) -> QLabel:
        """The dock's message line."""
        return self.runner.message


def show_progress(bar: QProgressBar, label: QLabel, p: Progress, *, text: bool = True) -> None:
    """Move a dock's progress bar (0..BAR_STEPS) to ``p``, busy for a stage of unknown length (``total`` 0),
    and, when ``text``, say the stage and its detail in ``label``."""
    if p.total > 0:
        bar.setRange(0, BAR_STEPS)
        bar.setValue(round(BAR_STEPS * min(max(p.fraction, 0.0), 1.0)))
    else:
        bar.setRange(0, 0)
    if text:
        detail = p.message or (f"{p.done}/{p.total}" if p.total else "")
        label.setText(f"{p.stage}: {detail}" if detail else p.stage)


class Throttle:
    """Forwards at most one Progress per ``interval_s`` of a stage (and every first and last record of a
    stage, and every record with a payload): redrawing for every record would keep the GUI thread busy."""

    def __init__(self, callback: Callable[[Progress], None], interval_s: float = THROTTLE_S) -> None:
        self._callback = callback
        self._interval_s = interval_s
        self._last: tuple[float, str | None] = (-float("inf"), None)

    def forward(self, p: Progress) -> None:
        now = time.monotonic()
        due = now - self._last[0] >= self._interval_s or p.stage != self._last[1] or p.done >= p.total
        if due or p.payload is not None:
            self._last = (now, p.stage)
            self._callback(p)
