"""``neurorbm sweep`` end to end: on a real external Dask cluster (a ``dask scheduler`` and two ``dask
worker`` processes on 127.0.0.1), stopped by a signal and continued, and each bad input as one line on stderr
with exit status 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import napari_neurorbm
from napari_neurorbm.cli import main
from napari_neurorbm.sweep.folder import SweepFolder, SweepPlan
from napari_neurorbm.sweep.live import stopped_message
from test_cli_train import write_raster

SMALL = "--gibbs-steps 5 --batch 300 --chains 300 --updates 200 --eval-every 50 --log-z exact".split()
SMALL += "--checkpoints 10 --eval-share 1 --device cpu".split()
DASK = Path(sys.executable).parent / "dask"
START_S = 120


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def raster(tmp_path_factory) -> Path:
    return write_raster(tmp_path_factory.mktemp("sweep-cli") / "toy.npz")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real ``dask scheduler`` and two ``dask worker`` processes (one thread each) on 127.0.0.1; its
    address and scheduler file. They are stopped (SIGTERM, then kill) at the end whatever happens."""
    tmp = tmp_path_factory.mktemp("dask")
    info = tmp / "scheduler.json"
    procs = []

    def start(*args: str) -> None:
        log = open(tmp / f"{len(procs)}.log", "w")  # closed when the test session ends
        procs.append(subprocess.Popen([str(DASK), *args], stdout=log, stderr=log, cwd=tmp, env=env))

    # the workers import this napari_neurorbm, wherever they run from
    src = str(Path(napari_neurorbm.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
              str(info))
        deadline = time.monotonic() + START_S
        while not info.exists():
            assert procs[0].poll() is None and time.monotonic() < deadline, "the dask scheduler did not start"
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            start("worker", address, "--nthreads", "1", "--no-dashboard")
        yield address, info
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_a_sweep_on_an_external_dask_cluster(raster, dask_cluster, tmp_path):
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "napari_neurorbm.cli", "sweep", str(raster), "--hidden", "4,6", "--seeds",
            "0", "--lr", "0.5", *SMALL, "--out", str(out), "--scheduler", dask_cluster[0]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 of 2 runs done" in done.stdout and f"wrote    {out / 'runs.csv'}" in done.stdout
    table = SweepFolder.open(out).table()
    assert list(table["status"]) == ["done", "done"] and list(table["attempts"]) == [1, 1]
    assert all(SweepFolder.open(out).model_path(n).exists() for n in table.index)


def test_a_signal_stops_the_sweep_cleanly_and_the_same_command_continues_it(raster, dask_cluster, tmp_path):
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "napari_neurorbm.cli", "sweep", str(raster), "--hidden", "4", "--lr", "0.5",
            *SMALL, "--updates", "3000", "--eval-every", "500", "--out", str(out), "--scheduler",
            dask_cluster[0], "--autosave-minutes", "0.005"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + START_S
    while not (out / "runs" / "toy-h4-s0-lr0.5.npz").exists():  # the run has trained and autosaved
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=START_S)
    assert proc.returncode == 143, err
    assert err.splitlines()[-1] == ("neurorbm sweep: stopped by SIGTERM: 0 of 1 runs done, the others keep "
                                    "their files; run the same command again to continue")
    row = SweepFolder.open(out).table().iloc[0]
    assert row["status"] == "pending" and 0 < row["updates"] < 3000 and row["attempts"] == 1
    assert row["message"] == stopped_message(row["updates"])
    stopped_at = row["updates"]

    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    row = SweepFolder.open(out).table().iloc[0]
    assert (row["status"], row["updates"], row["attempts"]) == ("done", 3000, 2)
    assert row["message"] == f"resumed from update {stopped_at}"


def test_a_diverging_run_is_recorded_as_failed_and_the_sweep_goes_on(raster, dask_cluster, tmp_path, capsys):
    out = tmp_path / "sweep"
    _, scheduler_file = dask_cluster  # the scheduler named by its file, as in a batch job
    argv = ["sweep", str(raster), "--hidden", "4", "--lr", "0.5,3e38", *SMALL, "--out", str(out),
            "--scheduler", str(scheduler_file)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "1 of 2 runs done, 1 failed" in captured.out
    assert captured.err.count("\n") == 1 and captured.err.startswith(
        "neurorbm sweep: error: 1 of 2 runs failed (see runs.csv); toy-h4-s0-lr3e+38: training diverged")
    table = SweepFolder.open(out).table()
    assert list(table["status"]) == ["done", "failed"]
    assert table.loc["toy-h4-s0-lr3e+38", "message"].startswith("training diverged at update")


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_an_empty_hidden_list_is_one_line(raster, tmp_path, capsys):
    err = one_line_error(capsys, ["sweep", str(raster), "--hidden", "", "--out", str(tmp_path / "s")])
    assert err == ("neurorbm sweep: error: --hidden needs a comma-separated list of integers, e.g. 8,16,32; "
                   "got ''")


def test_a_raster_that_does_not_exist_is_one_line(raster, tmp_path, capsys):
    missing = tmp_path / "missing.npz"
    err = one_line_error(capsys, ["sweep", str(raster), str(missing), "--hidden", "4", "--out",
                                  str(tmp_path / "s")])
    assert err == f"neurorbm sweep: error: {missing}: no such raster file"


def test_an_unreachable_scheduler_is_one_line_within_seconds(raster, tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    err = one_line_error(capsys, ["sweep", str(raster), "--hidden", "4", *SMALL, "--out", str(tmp_path / "s"),
                                  "--scheduler", address])
    assert time.monotonic() - t0 < 10  # not a hang
    assert err.startswith(f"neurorbm sweep: error: cannot reach the Dask scheduler at {address} (")


def test_a_sweep_folder_of_another_configuration_is_one_line(raster, tmp_path, capsys):
    SweepFolder.create(tmp_path / "s", SweepPlan((str(raster),), (4, 8)))
    err = one_line_error(capsys, ["sweep", str(raster), "--hidden", "4,16", "--out", str(tmp_path / "s")])
    assert err == (f"neurorbm sweep: error: {tmp_path / 's'} was written by another sweep configuration "
                   "(hidden: [4, 8] there, [4, 16] now): choose another --out folder, or rerun with that "
                   "folder's settings")


def test_an_out_folder_that_is_a_file_is_one_line(raster, tmp_path, capsys):
    err = one_line_error(capsys, ["sweep", str(raster), "--hidden", "4", "--out", str(raster)])
    assert err == f"neurorbm sweep: error: --out {raster} is a file; give a folder for the sweep"

