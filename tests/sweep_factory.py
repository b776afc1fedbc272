"""Sweep folders for tests, without the sweep engine: hand-written ones (model files holding only a given
log-likelihood history, for known answers) and trained ones (tiny Trainer runs one after another)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from napari_neurorbm.data.raster import Raster
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import save_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.training import TrainConfig, Trainer
from napari_neurorbm.sweep.folder import SweepFolder, SweepPlan


def hand_written_sweep(path: Path, raster: Path, test_lls: dict[tuple[int, int], list[float]], **runs
                       ) -> SweepFolder:
    """A folder of the N_h and seeds in ``test_lls`` on ``raster`` (which must exist), with those runs
    (:func:`write_runs`, given ``runs``' options)."""
    hidden = tuple(sorted({h for h, _ in test_lls}))
    seeds = tuple(sorted({s for _, s in test_lls}))
    folder = SweepFolder.create(path, SweepPlan((str(raster),), hidden, seeds))
    write_runs(folder, test_lls, **runs)
    return folder


def write_runs(folder: SweepFolder, test_lls: dict[tuple[int, int], list[float]], *,
               statuses: dict[tuple[int, int], str] | None = None,
               reported: dict[tuple[int, int], float] | None = None, eval_every: int = 10) -> None:
    """Give the run (N_h, seed) of ``folder`` (of its first learning rate) the test LL curve
    ``test_lls[(N_h, seed)]`` (evaluations every ``eval_every`` updates from 0; train LL 0.1 above), a
    status from ``statuses`` (default done) and, when done, the table's best test LL ``reported`` (default:
    the curve's maximum)."""
    statuses, reported = statuses or {}, reported or {}
    table = folder.table().astype(object)
    for spec in folder.plan.runs():
        key = (spec.n_hidden, spec.seed)
        if key not in test_lls or spec.lr != folder.plan.lrs[0]:
            continue
        lls = test_lls[key]
        history = [{"update": eval_every * i, "train_ll": v + 0.1, "test_ll": v} for i, v in enumerate(lls)]
        rbm = RBM.from_numpy(np.zeros((3, spec.n_hidden)), np.zeros(3), np.zeros(spec.n_hidden))
        save_model(folder.model_path(spec.name), rbm, {"history": history, "n_hidden": spec.n_hidden})
        status = statuses.get(key, "done")
        best = int(np.argmax(lls))
        row = {"status": status, "attempts": 1, "updates": eval_every * (len(lls) - 1), "wall_s": 1.5}
        if status == "done":
            row.update(best_update=eval_every * best, best_test_ll=reported.get(key, lls[best]),
                       ll_method="exact")
        for column, value in row.items():
            table.loc[spec.name, column] = value
    folder.write_table(table)


def trained_sweep(path: Path, raster: Raster, raster_path: Path, hidden: tuple[int, ...],
                  seeds: tuple[int, ...], config: TrainConfig) -> SweepFolder:
    """A finished sweep of ``raster`` (saved at ``raster_path``) trained run after run with ``config`` (its
    N_h and seed set per run), as the engine would leave it."""
    raster_path = raster.save(raster_path)
    plan = SweepPlan((str(raster_path),), hidden, seeds, (config.lr,), base=config)
    folder = SweepFolder.create(path, plan)
    table = folder.table().astype(object)
    for spec in folder.plan.runs():
        t0 = time.perf_counter()
        trainer = drain(Trainer.from_raster(raster, folder.plan.config(spec)).run())
        trainer.save(folder.model_path(spec.name))
        best = trainer.best
        table.loc[spec.name, ["status", "attempts", "updates", "wall_s", "device", "host"]] = [
            "done", 1, trainer.update, time.perf_counter() - t0, str(trainer.device), "localhost"]
        table.loc[spec.name, ["best_update", "best_test_ll", "independent_test_ll"]] = [
            best.update, best.test_ll, trainer.independent_test_ll]
    folder.write_table(table)
    return folder
