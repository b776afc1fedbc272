"""News of the running runs, from the Dask tasks to the process that drives the sweep.

A task reports through Dask's structured events (``Worker.log_event`` on a topic that the driver's client
subscribes to): a "start" message when it begins training (the driver counts attempts from these, so a run
that Dask retried after its worker died says so), its update count about every ``PROGRESS_S`` seconds, and
"stopped" when it saved and stopped because its future was cancelled. The messages travel on the
connections Dask already has (also to an external scheduler), nothing is written to disk for them, and a
task run outside Dask (tests, a plain call) simply reports nothing.

Stopping is cancellation: the driver cancels a run's future; the task sees it (its task state on the worker
turns "cancelled"), saves its model file and returns. The same happens when the driver's client goes away
(a killed driver on an external cluster), so an orphaned task never keeps writing a run that a rerun of the
sweep starts again elsewhere.
"""

from __future__ import annotations

import math
import queue
import time
from dataclasses import dataclass
from typing import Any

PROGRESS_S = 1.0  # seconds between two progress messages of a task (and its checks for a stop)


@dataclass(frozen=True)
class RunLive:
    """A running run as the driver knows it: its update out of its (projected) total, and where it runs (host
    and process id of the worker, torch device)."""

    update: int
    total: int
    host: str
    pid: int
    device: str


def stopped_message(update: int) -> str:
    """The table's message for a run that saved and stopped at ``update`` when its future was cancelled."""
    return f"stopped at update {update}; it continues from there when the sweep runs"


class RunChannel:
    """The task's side: messages about run ``name`` on ``topic``, and whether its future was cancelled."""

    def __init__(self, topic: str | None, name: str) -> None:
        self.topic, self.name = topic, name
        self._worker = _current_worker() if topic else None
        self._key = None if self._worker is None else self._worker.get_current_task()
        self._last = -math.inf

    def send(self, kind: str, **fields: Any) -> None:
        """One message (``kind``: start, progress, stopped) with msgpack-able ``fields``."""
        if self._worker is not None:
            self._worker.log_event(self.topic, {"run": self.name, "kind": kind, **fields})

    def due(self) -> bool:
        """Whether ``PROGRESS_S`` seconds have passed since the last time this said yes."""
        now = time.monotonic()
        if now - self._last < PROGRESS_S:
            return False
        self._last = now
        return True

    def cancelled(self) -> bool:
        """Whether the driver cancelled this task (or its client is gone): Dask cannot interrupt a running
        task, so the task asks."""
        if self._worker is None:
            return False
        task = self._worker.state.tasks.get(self._key)
        return task is None or task.state == "cancelled"


class Listener:
    """The driver's side: the messages of ``topic``, gathered by the client's event loop into a queue that
    the driver empties between two progress records."""

    def __init__(self, client, topic: str) -> None:
        self.client, self.topic = client, topic
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        client.subscribe_topic(topic, lambda event: self._queue.put(event[1]))

    def drain(self) -> list[dict]:
        """The messages received since the last call, in order."""
        out = []
        while not self._queue.empty():
            out.append(self._queue.get())
        return out

    def close(self) -> None:
        """Stop listening (the client may be closing already)."""
        self.client.unsubscribe_topic(self.topic)


def _current_worker():
    """The Dask worker running this code, or None outside a Dask task."""
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None
