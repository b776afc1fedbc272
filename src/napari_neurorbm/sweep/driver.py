"""Driving a sweep: submit its unfinished runs to Dask, keep the table of runs, report progress, stop cleanly.

:func:`iter_sweep` is the job that ``neurorbm sweep`` and the napari Model selection dock run. It submits
every run of the plan that is not done (a run is done when the table says so and its model file is there),
one Dask task each (:func:`~napari_neurorbm.sweep.task.train_run`); Dask runs a task again when its worker
dies (up to ``distributed.scheduler.allowed-failures`` times), and the task resumes from the run's autosave.
The driver is the table's single writer: it writes ``runs.csv`` whenever a run starts (its attempts counted
from the tasks' start messages, :mod:`.live`), ends, or stops. Closing the job at a yield cancels the runs;
each saves its model file at its next update and stops, within ``STOP_WAIT_S`` (else it keeps its last
autosave), and the embedded cluster is closed. Running the same sweep again continues it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass

import pandas as pd

from napari_neurorbm.autosave import check_minutes
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.sweep.cluster import DEVICES, sweep_client
from napari_neurorbm.sweep.folder import RunSpec, SweepFolder
from napari_neurorbm.sweep.live import Listener, RunLive, stopped_message
from napari_neurorbm.sweep.task import train_run

AUTOSAVE_MINUTES = 1.0  # a sweep's default autosave interval: what a dead worker costs at most
POLL_S = 0.5  # seconds between two progress records
STOP_WAIT_S = 30.0  # how long stopped runs get to save their files before the cluster closes


@dataclass(frozen=True)
class SweepStatus:
    """The payload of a sweep's progress records: the table of runs as it stands (indexed by run name, the
    columns of :data:`~napari_neurorbm.sweep.folder.COLUMNS`) and the running runs' live state by name."""

    table: pd.DataFrame
    running: dict[str, RunLive]

    def count(self, status: str) -> int:
        """How many runs have ``status`` (pending, running, done, failed) in the table."""
        return int((self.table["status"] == status).sum())


def iter_sweep(
    folder: SweepFolder,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    device: str = "auto",
    autosave_minutes: float = AUTOSAVE_MINUTES,
) -> Generator[Progress, None, pd.DataFrame]:
    """Run the unfinished runs of ``folder``'s plan on the Dask scheduler at ``scheduler`` (e.g.
    tcp://host:8786), or on an embedded LocalCluster of ``workers`` workers (default: one per GPU, else one
    per core), training on ``device`` (auto, cpu, cuda) and autosaving every ``autosave_minutes``. Yields a
    progress record (stage "sweep", runs finished out of all runs, payload :class:`SweepStatus`) every
    ``POLL_S`` seconds; returns the final table of runs."""
    if device not in DEVICES:
        raise NeuroRBMError(f"unknown device '{device}' for a sweep (use {', '.join(DEVICES)})")
    if workers is not None and workers < 1:
        raise NeuroRBMError(f"the number of workers must be at least 1, got {workers}")
    check_minutes(autosave_minutes)
    state = _Runs(folder)
    todo = state.todo()
    if not todo:
        yield state.progress("every run is done already")
        return state.final()
    where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
    yield state.progress(f"starting {len(todo)} runs on {where}")
    topic = f"neurorbm-sweep-{uuid.uuid4().hex[:12]}"
    with sweep_client(scheduler, workers, device, len(todo)) as client:
        listener = Listener(client, topic)
        futures = {client.submit(train_run, str(folder.path.resolve()), spec, device, autosave_minutes, topic,
                                 key=f"{spec.name}-{topic}", pure=False): spec.name for spec in todo}
        try:
            while futures:
                time.sleep(POLL_S)
                state.poll(futures, listener)
                yield state.progress()
        finally:
            if futures:
                state.stop(client, futures, listener)
            listener.close()
    return state.final()


class _Runs:
    """The table of runs as the driver keeps it, and what changes it: messages from the tasks, their ends."""

    def __init__(self, folder: SweepFolder) -> None:
        self.folder = folder
        self.table = folder.table().astype(object)
        self.live: dict[str, RunLive] = {}

    def todo(self) -> list[RunSpec]:
        """The runs to submit (all but the done ones whose file is there), marked pending in the table."""
        def done(name: str) -> bool:
            return self.table.at[name, "status"] == "done" and self.folder.model_path(name).exists()

        specs = [s for s in self.folder.plan.runs() if not done(s.name)]
        self.table.loc[[s.name for s in specs], "status"] = "pending"
        return specs

    def poll(self, futures: dict, listener: Listener) -> None:
        """Take in the tasks' messages and the runs that ended (removed from ``futures``); write the table if
        anything but an update count changed."""
        ended = [f for f in futures if f.done()]  # before the messages: a task's start comes before its end
        changed = [self.apply(msg) for msg in listener.drain()]
        for f in ended:
            self.end(futures.pop(f), _row(f))
        if any(changed) or ended:
            self.folder.write_table(self.table)

    def apply(self, msg: dict) -> bool:
        """One message from a task (start, progress, stopped); returns whether the table changed."""
        name, kind = msg["run"], msg["kind"]
        if kind == "start":
            self.live[name] = RunLive(msg["update"], msg["total"], msg["host"], msg["pid"], msg["device"])
            attempts = int(self.table.at[name, "attempts"] or 0) + 1
            self._set(name, status="running", attempts=attempts, host=msg["host"], device=msg["device"])
            return True
        if kind == "progress" and name in self.live:
            old = self.live[name]
            self.live[name] = RunLive(msg["update"], msg["total"], old.host, old.pid, old.device)
            return False
        if kind == "stopped":
            self.live.pop(name, None)
            self._set(name, status="pending", updates=msg["update"], message=stopped_message(msg["update"]))
            return True
        return False

    def end(self, name: str, row: dict) -> None:
        self.live.pop(name, None)
        self._set(name, **row)

    def stop(self, client, futures: dict, listener: Listener) -> None:
        """Cancel the runs left; wait (up to STOP_WAIT_S) for the running ones to save and stop; the others
        keep their last autosave."""
        client.cancel(list(futures))
        deadline = time.monotonic() + STOP_WAIT_S
        while self.live and time.monotonic() < deadline:
            time.sleep(0.1)
            for msg in listener.drain():
                self.apply(msg)
        for name, run in self.live.items():
            self._set(name, status="pending", updates=run.update,
                      message=f"interrupted near update {run.update}; it continues from its last autosave")
        self.live.clear()
        self.folder.write_table(self.table)

    def progress(self, message: str | None = None) -> Progress:
        status = SweepStatus(self.table.infer_objects(), dict(self.live))
        finished = status.count("done") + status.count("failed")
        if message is None:
            running = ", ".join(f"{n} {r.update}/{r.total}" for n, r in self.live.items())
            message = (f"{status.count('done')} done, {len(self.live)} running"
                       f"{f' ({running})' if running else ''}, {status.count('failed')} failed, "
                       f"{status.count('pending')} queued")
        return Progress("sweep", finished, len(self.table), message, payload=status)

    def final(self) -> pd.DataFrame:
        """The table as ``runs.csv`` holds it."""
        return self.folder.table()

    def _set(self, name: str, **values) -> None:
        self.table.loc[name, list(values)] = list(values.values())


def _row(future) -> dict:
    """The row a finished task returned, or a failed row with the one-line reason it raised."""
    if future.status == "finished":
        return future.result()
    exc = future.exception() if future.status == "error" else None
    if exc is None:
        return {"status": "failed", "message": "cancelled"}
    first = str(exc).splitlines()[0] if str(exc) else ""
    return {"status": "failed", "message": f"{exc.__class__.__name__}: {first}".rstrip(": ")}
