"""One run of a sweep as a Dask task: train (or go on training) one model into the sweep folder; its row.

:func:`train_run` is a plain top-level function, so that Dask pickles it by reference and any worker that
imports napari_neurorbm runs it. It resumes from ``runs/<name>.npz`` when an autosave of the run is there (the
run was interrupted, or the worker that ran it died and Dask runs the task again), else starts the run, and
autosaves every ``autosave_minutes``: a dead worker costs at most that much training. On a CPU it trains with
one torch thread (one worker process per core is the sweep's parallelism). A run that fails (bad input, a
diverging training) returns a "failed" row with its one-line message instead of raising, so the sweep goes on.

The model file's metadata gets a ``sweep`` entry: the run's name, the host of its last attempt, its wall time
over all attempts, the updates its attempts resumed from, and whether it finished; a finished file is taken
as it is when the sweep is run again.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import torch

from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.autosave import Autosave
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, load_model
from napari_neurorbm.rbm.model import pick_device
from napari_neurorbm.rbm.training import TrainConfig, Trainer
from napari_neurorbm.sweep.folder import PLAN_FILE, RunSpec, SweepFolder
from napari_neurorbm.sweep.halves import raster_half
from napari_neurorbm.sweep.live import RunChannel, stopped_message

NOTE = "sweep"  # the model file's metadata entry written by a sweep
SPLIT_SEED = 0  # every run of a raster without a stored split gets the same test frames
MIN_BUDGET_MINUTES = 1e-3  # what a resumed run with a spent time budget gets: enough to select its model


def train_run(folder: str, spec: RunSpec, device: str = "auto", autosave_minutes: float = 1.0,
              topic: str | None = None) -> dict:
    """Train the run ``spec`` of the sweep in ``folder`` (a path every worker reaches) on ``device``; return
    its row: status ("done", "failed", or "pending" when stopped by a cancellation), updates, wall_s, device,
    host, best_update, best_test_ll, ll_method, independent_test_ll, message. ``topic``: where to report
    progress (:mod:`.live`)."""
    channel, origin = RunChannel(topic, spec.name), time.monotonic()
    trainer = None
    try:
        sweep = _open_folder(folder)
        config = sweep.plan.config(spec).replace(device=device)
        if pick_device(device).type == "cpu":
            torch.set_num_threads(1)
        path = sweep.model_path(spec.name)
        previous = load_model(path) if path.exists() else None
        if previous is not None and previous.metadata.get(NOTE, {}).get("finished"):
            return {**result_row(previous.metadata), "status": "done", "message": _resumed(previous.metadata)}
        raster = raster_half(read_raster(spec.raster, config.test_fraction, SPLIT_SEED), spec.half)
        trainer = _trainer(previous, raster, config, spec)
        origin -= trainer.info[NOTE]["wall_s"]  # the run's wall time is now - origin, over all attempts
        channel.send("start", update=trainer.update, total=config.updates, host=socket.gethostname(),
                     pid=os.getpid(), device=str(trainer.device))
        if _train(trainer, Autosave(path, autosave_minutes), channel, origin):
            stopped = stopped_message(trainer.update)
            return {**result_row(trainer.metadata()), "status": "pending", "message": stopped}
        _save(trainer, path, origin, finished=True)
        return {**result_row(trainer.metadata()), "status": "done", "message": _resumed(trainer.metadata())}
    except NeuroRBMError as exc:
        if trainer is not None and trainer.diverged:  # keep what it learnt before: its history, checkpoints
            _save(trainer, path, origin, finished=False)
        meta = {} if trainer is None else trainer.metadata()
        return {**result_row(meta), "status": "failed", "message": str(exc)}


def result_row(meta: dict) -> dict:
    """A run's results (the table's columns) from its model file's metadata."""
    best, note = meta.get("best") or {}, meta.get(NOTE) or {}
    return {"updates": meta.get("update"), "wall_s": note.get("wall_s"), "device": meta.get("device"),
            "host": note.get("host"), "best_update": best.get("update"), "best_test_ll": best.get("test_ll"),
            "ll_method": ll_method(meta), "independent_test_ll": meta.get("independent_test_ll")}


def ll_method(meta: dict) -> str | None:
    """How the best test log-likelihood was computed: ptt, ais (a final, longer AIS) or the live evaluation's
    log Z method (exact, ais); None without one."""
    if meta.get("ptt"):
        return "ptt"
    if meta.get("selection"):
        return "ais"
    best = meta.get("best") or {}
    return next((h.get("log_z_method") for h in meta.get("history", []) if h["update"] == best.get("update")),
                None)


def _open_folder(folder: str) -> SweepFolder:
    if not (Path(folder) / PLAN_FILE).exists():
        raise NeuroRBMError(f"the sweep folder {folder} is not reachable from {socket.gethostname()}: it "
                            "must be on a file system that every worker shares")
    return SweepFolder.open(folder)


def _trainer(previous: ModelFile | None, raster, config: TrainConfig, spec: RunSpec) -> Trainer:
    """The run resumed from its autosave, or started (no file, or one that diverged: it would again)."""
    if previous is None or previous.metadata.get("diverged"):
        trainer, note = Trainer.from_raster(raster, config), {"wall_s": 0.0, "resumed_from": []}
    else:
        note = dict(previous.metadata.get(NOTE) or {"wall_s": 0.0, "resumed_from": []})
        if config.minutes:  # the time budget is the run's, over all its attempts
            config = config.replace(minutes=max(config.minutes - note["wall_s"] / 60, MIN_BUDGET_MINUTES))
        check_same_units(previous, raster, Path(spec.raster).name)
        trainer = Trainer.resume(previous, raster, config)
        note["resumed_from"] = [*note["resumed_from"], trainer.update]
    trainer.info[NOTE] = {**note, "name": spec.name, "host": socket.gethostname(), "finished": False}
    return trainer


def _train(trainer: Trainer, autosave: Autosave, channel: RunChannel, origin: float) -> bool:
    """Run the trainer; between two updates, autosave when due and report progress; stop (after saving) when
    the task was cancelled. Returns whether it stopped before the end."""
    for p in trainer.run():
        # only between two updates (stage "train") and before the last one: there the state is whole and a
        # file resumes; the model selection at the end is not saved halfway, a resumed run redoes it
        if p.stage != "train" or trainer.update >= trainer.config.updates:
            continue
        trainer.info[NOTE]["wall_s"] = time.monotonic() - origin
        autosave.maybe(trainer)
        if channel.due():
            channel.send("progress", update=trainer.update, total=p.total)
            if channel.cancelled():
                autosave.write(trainer)
                channel.send("stopped", update=trainer.update)
                return True
    return False


def _save(trainer: Trainer, path: Path, origin: float, *, finished: bool) -> None:
    trainer.info[NOTE].update(wall_s=time.monotonic() - origin, finished=finished)
    trainer.save(path)


def _resumed(meta: dict) -> str:
    """'resumed from update 120' (or updates 120, 300) for a run that continued an autosave, else ''."""
    ups = (meta.get(NOTE) or {}).get("resumed_from") or []
    return "" if not ups else f"resumed from update{'s' if len(ups) > 1 else ''} {', '.join(map(str, ups))}"

