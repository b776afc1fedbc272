"""The sweep engine on Dask: the embedded LocalCluster, a worker killed with -9 mid-run, an interrupted run
continued by a rerun, the halves of the training frames, one run as a plain call."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from distributed import Client

from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.rbm.io import load_model, read_metadata
from napari_neurorbm.rbm.training import Trainer
from napari_neurorbm.sweep.cluster import embedded_cluster
from napari_neurorbm.sweep.driver import SweepStatus, iter_sweep
from napari_neurorbm.sweep.folder import SweepFolder, SweepPlan
from napari_neurorbm.sweep.halves import HALF_BLOCKS, half_frames
from napari_neurorbm.sweep.live import stopped_message
from napari_neurorbm.sweep.summary import summary_text
from napari_neurorbm.sweep.task import train_run
from test_cli_train import write_raster

# tiny runs: exact log Z (8 hidden units at most), small minibatch and chains
BASE = TrainConfig(k=5, batch=300, chains=300, updates=200, eval_every=50, log_z="exact", checkpoints=10,
                   eval_share=1.0, device="cpu")
FAST_AUTOSAVE = 0.005  # minutes: an autosave every 0.3 s


def make_folder(tmp: Path, **plan) -> SweepFolder:
    raster = tmp / "toy.npz"
    if not raster.exists():
        write_raster(raster)
    plan = SweepPlan((str(raster),), **{"hidden": (4,), "lrs": (0.5,), "base": BASE, **plan})
    return SweepFolder.create(tmp / "sweep", plan)


def run_sweep(job) -> tuple[list[Progress], pd.DataFrame]:
    seen: list[Progress] = []
    table = drain(job, seen.append)
    return seen, table


def mtimes(folder: SweepFolder) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (folder.path / "runs").glob("*.npz")}


@pytest.fixture(scope="module")
def cluster_address():
    """The embedded cluster of two one-thread workers, as on a machine with two GPUs (their ids 3 and 5:
    worker i sees only the i-th); shared by the tests that pass its address as scheduler (they train on the
    CPU)."""
    with embedded_cluster(2, ["3", "5"]) as cluster, Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
        yield cluster.scheduler_address


# ---------------------------------------------------------------------------------- the embedded cluster


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    folder = make_folder(tmp_path_factory.mktemp("embedded"), hidden=(4, 6), seeds=(0, 1))
    seen, table = run_sweep(iter_sweep(folder, workers=2, device="cpu"))
    return folder, seen, table


def test_a_sweep_on_the_embedded_cluster_writes_its_table_and_model_files(embedded):
    folder, seen, table = embedded
    assert list(table["status"]) == ["done"] * 4 and list(table["attempts"]) == [1] * 4
    assert table.equals(folder.table())  # what it returns is what runs.csv holds
    assert (table["updates"] == 200).all() and (table["device"] == "cpu").all()
    assert (table["best_test_ll"] > table["independent_test_ll"] + 0.5).all()
    assert set(table["ll_method"]) == {"exact"} and (table["message"].fillna("") == "").all()
    for name in table.index:
        assert list(folder.history(name)["update"]) == [0, 50, 100, 150, 200]
        assert read_metadata(folder.model_path(name))["sweep"]["finished"]
    assert [p.stage for p in seen] == ["sweep"] * len(seen) and seen[-1].done == seen[-1].total == 4
    assert all(isinstance(p.payload, SweepStatus) for p in seen)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    summary = summary_text(folder)
    assert summary.startswith("4 of 4 runs done\n") and "N_h = " in summary


def test_rerunning_a_finished_sweep_trains_nothing(embedded):
    folder, _, table = embedded
    before = mtimes(folder)
    seen, again = run_sweep(iter_sweep(SweepFolder.open(folder.path), workers=2))
    assert [p.message for p in seen] == ["every run is done already"]  # no cluster was even started
    assert again.equals(table) and mtimes(folder) == before


# ---------------------------------------------------------------------------------- a worker killed mid-run


@pytest.fixture(scope="module")
def killed(tmp_path_factory, cluster_address):
    """Two long runs on two workers; the worker of the first run that autosaved is killed with -9."""
    base = BASE.replace(updates=3000, eval_every=500)
    folder = make_folder(tmp_path_factory.mktemp("killed"), seeds=(0, 1), base=base)
    job = iter_sweep(folder, scheduler=cluster_address, device="cpu", autosave_minutes=FAST_AUTOSAVE)
    victim = None
    while True:
        try:
            p = next(job)
        except StopIteration as end:
            return folder, victim, end.value
        for name, run in p.payload.running.items():
            if victim is None and folder.model_path(name).exists():  # after its first autosave
                os.kill(run.pid, signal.SIGKILL)
                victim = name


def test_killing_a_worker_mid_run_loses_nothing(killed):
    folder, victim, table = killed
    assert victim is not None, "no run was seen training after an autosave"
    assert list(table["status"]) == ["done", "done"] and (table["updates"] == 3000).all()
    other = next(n for n in table.index if n != victim)
    assert table.at[victim, "attempts"] == 2 and table.at[other, "attempts"] == 1
    resumed = read_metadata(folder.model_path(victim))["sweep"]["resumed_from"]
    assert len(resumed) == 1 and 0 < resumed[0] < 3000
    assert table.at[victim, "message"] == f"resumed from update {resumed[0]}"
    # its history goes on from the autosave: every evaluation once, in order
    assert list(folder.history(victim)["update"]) == list(range(0, 3001, 500))


# ---------------------------------------------------------------------------------- an interrupted sweep


def test_an_interrupted_run_continues_from_its_autosave_when_the_sweep_runs_again(tmp_path, cluster_address):
    folder = make_folder(tmp_path)
    (spec,) = folder.plan.runs()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on a sweep's CPU worker, so the run continues exactly
    try:
        trainer = Trainer.from_raster(read_raster(spec.raster), folder.plan.config(spec))
        job = trainer.run()
        while trainer.update < 120:  # the sweep's process died here, after an autosave
            next(job)
    finally:
        torch.set_num_threads(threads)
    trainer.save(folder.model_path(spec.name))
    table = folder.table()
    table.loc[spec.name, ["status", "attempts", "updates"]] = ["running", 1, 120]
    folder.write_table(table)

    _, table = run_sweep(iter_sweep(folder, scheduler=cluster_address, device="cpu"))
    row = table.loc[spec.name]
    assert (row["status"], row["attempts"], row["updates"]) == ("done", 2, 200)
    assert row["message"] == "resumed from update 120"
    assert list(folder.history(spec.name)["update"]) == [0, 50, 100, 150, 200]


def test_closing_the_job_stops_the_runs_which_save_and_continue_later(tmp_path, cluster_address):
    folder = make_folder(tmp_path, base=BASE.replace(updates=100_000, eval_every=1000))
    (spec,) = folder.plan.runs()
    # no autosave: the stop saves the file
    job = iter_sweep(folder, scheduler=cluster_address, device="cpu", autosave_minutes=0)
    for p in job:
        if p.payload.running.get(spec.name) and p.payload.running[spec.name].update > 0:
            break
    job.close()
    row = folder.table().loc[spec.name]
    saved = load_model(folder.model_path(spec.name)).metadata
    assert row["status"] == "pending" and row["attempts"] == 1 and 0 < saved["update"] == row["updates"]
    assert row["message"] == stopped_message(saved["update"])
    assert not saved["sweep"]["finished"] and saved["sweep"]["wall_s"] > 0


# ---------------------------------------------------------------------------------- one run, halves


def test_the_halves_are_alternate_blocks_of_the_recording_in_time():
    train = np.sort(np.random.default_rng(0).choice(1000, 700, replace=False))
    h0, h1 = half_frames(train, 1000, 0), half_frames(train, 1000, 1)
    assert np.array_equal(np.sort(np.r_[h0, h1]), train) and not set(h0) & set(h1)
    block = 1000 // HALF_BLOCKS
    assert all((f // block) % 2 == 0 for f in h0) and all((f // block) % 2 == 1 for f in h1)
    # long runs of consecutive frames, not interleaved ones: one gap per block boundary at most
    assert np.count_nonzero(np.diff(h0) > block) == HALF_BLOCKS // 2 - 1


def test_a_half_run_learns_from_its_half_and_is_tested_on_the_raster_s_test_frames(tmp_path):
    folder = make_folder(tmp_path, halves=True)
    spec = folder.plan.runs()[1]
    assert spec.half == 1 and spec.name.endswith("-half1")
    row = train_run(str(folder.path), spec, device="cpu")  # a plain call: no Dask, nothing reported
    assert row["status"] == "done" and row["updates"] == 200 and row["message"] == ""
    raster = read_raster(spec.raster)
    split = read_metadata(folder.model_path(spec.name))["split"]
    assert split["train_frames"] == half_frames(raster.train_frames, raster.n_frames, 1).tolist()
    assert split["test_frames"] == raster.test_frames.tolist()


def test_a_finished_run_is_taken_as_it_is(tmp_path):
    folder = make_folder(tmp_path)
    (spec,) = folder.plan.runs()
    first = train_run(str(folder.path), spec, device="cpu")
    before = mtimes(folder)
    assert train_run(str(folder.path), spec, device="cpu") == first and mtimes(folder) == before


def test_a_sweep_folder_the_worker_cannot_reach_fails_the_run_with_one_line(tmp_path):
    folder = make_folder(tmp_path)
    (spec,) = folder.plan.runs()
    row = train_run(str(tmp_path / "elsewhere"), spec, device="cpu")
    assert row["status"] == "failed" and "must be on a file system that every worker shares" in row["message"]


def test_the_embedded_cluster_gives_each_worker_its_own_gpu_and_one_thread(cluster_address):
    with Client(cluster_address, set_as_default=False) as client:
        seen = client.run(lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("OMP_NUM_THREADS")))
    assert sorted(seen.values()) == [("3", "1"), ("5", "1")]
