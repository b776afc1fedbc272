"""``neurorbm train`` never loses work: killed with SIGTERM, Ctrl-C or kill -9 in a real subprocess, then
continued with --resume, it ends with exactly the model of a run that was never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from napari_neurorbm.cli import main
from napari_neurorbm.cli.train import StopSignals
from napari_neurorbm.rbm.io import load_model
from test_cli_train import write_raster
from test_rbm_resume import assert_same_files

UPDATES = 1200
RUN = "--hidden 8 --gibbs-steps 5 --batch 300 --chains 300 --lr 0.01 --optimizer adam --device cpu".split()
RUN += f"--updates {UPDATES} --eval-every 50 --eval-share 1 --log-z exact --checkpoints 15".split()
# one torch thread: the same CPU blocks (random streams) in every run, and quick on a busy 2-core machine
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
WAIT_S = 60


def neurorbm(*args: str) -> subprocess.Popen:
    """``neurorbm ARGS`` in a subprocess (``python -m napari_neurorbm.cli``), stderr read line by line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_neurorbm.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    proc.lines = []
    proc.reader = threading.Thread(target=lambda: proc.lines.extend(proc.stderr), daemon=True)
    proc.reader.start()
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, list[str]]:
    rc = proc.wait(timeout=WAIT_S)
    proc.reader.join(timeout=WAIT_S)
    return rc, [line.rstrip("\n") for line in proc.lines]


def wait_for_progress(proc: subprocess.Popen, model: Path) -> None:
    """Until the run has autosaved and printed a progress line past 10 %."""
    deadline = time.monotonic() + WAIT_S
    while not (model.exists() and any(f"/{UPDATES}" in line and "upd/s" in line for line in proc.lines)):
        assert proc.poll() is None, proc.lines
        assert time.monotonic() < deadline, "the run never autosaved"
        time.sleep(0.02)


def assert_same_model_files(a: Path, b: Path) -> None:
    """W, b, c, checkpoints, chains, resumable state and the JSON metadata (history...) all equal."""
    assert_same_files(a, b)
    history = load_model(a).metadata["history"]
    assert [h["update"] for h in history] == list(range(0, UPDATES + 1, 50))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("crash")
    raster = write_raster(tmp / "raster.npz")
    model = tmp / "whole.npz"
    rc, lines = finish(neurorbm("train", str(raster), *RUN, "--out", str(model), "--autosave-minutes", "0"))
    assert rc == 0, lines
    return raster, model


SIGNALS = [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")]


@pytest.mark.parametrize(("signum", "status", "name"), SIGNALS)
def test_a_signal_writes_the_file_and_resume_is_bit_identical(uninterrupted, tmp_path, signum, status, name):
    raster, whole = uninterrupted
    model = tmp_path / "model.npz"
    proc = neurorbm("train", str(raster), *RUN, "--out", str(model), "--autosave-minutes", "0.002")
    wait_for_progress(proc, model)
    proc.send_signal(signum)
    rc, lines = finish(proc)
    assert rc == status, lines
    said = [line for line in lines if "stopped" in line]
    stopped_at = load_model(model).metadata["update"]
    assert said == [
        f"neurorbm train: stopped by {name} at update {stopped_at}; wrote {model}; "
        f"continue with: neurorbm train {raster} --resume {model}"
    ]
    assert 0 < stopped_at < UPDATES and sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    rc, lines = finish(neurorbm("train", str(raster), "--resume", str(model)))
    assert rc == 0, lines
    assert_same_model_files(whole, model)


def test_after_kill_9_the_last_autosave_resumes_to_the_same_model(uninterrupted, tmp_path):
    raster, whole = uninterrupted
    model = tmp_path / "model.npz"
    proc = neurorbm("train", str(raster), *RUN, "--out", str(model), "--autosave-minutes", "0.002")
    wait_for_progress(proc, model)
    time.sleep(0.3)  # a few more autosaves: one may be half-written when the kill comes
    proc.kill()
    rc, _ = finish(proc)
    assert rc == -signal.SIGKILL
    # a half-written autosave can only be a hidden temporary file: never a second .npz, never a broken one
    assert [p.name for p in tmp_path.glob("*.npz")] == ["model.npz"]
    assert all(p.name.startswith(".model.npz.") and p.suffix == ".tmp" for p in tmp_path.glob(".*"))
    saved = load_model(model)
    assert 0 < saved.metadata["update"] < UPDATES and saved.state is not None
    rc, lines = finish(neurorbm("train", str(raster), "--resume", str(model)))
    assert rc == 0, lines
    assert_same_model_files(whole, model)


def test_a_first_signal_asks_to_stop_a_second_stops_at_once_and_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM and stop.exit_status == 143 and stop.name == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_bad_autosave_interval_is_one_line(tmp_path, capsys):
    assert main(["train", str(tmp_path / "r.npz"), "--out", str(tmp_path / "m.npz"),
                 "--autosave-minutes", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "neurorbm train: error: --autosave-minutes must be >= 0 minutes (0 = off), got -1.0"
