"""Runs that never lose work, in the core: the model file holds a run's whole resumable state, a run
resumed from it is bit-identical on the CPU to one that never stopped, a failed write leaves the old file
whole, and the dock's autosave folder yields the latest unfinished run of a raster's units."""

import json
import os
import time

import numpy as np
import pytest
import torch

from napari_neurorbm.autosave import (
    Autosave,
    autosave_folder,
    between_updates,
    find_unfinished,
    new_autosave_path,
)
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm import io
from napari_neurorbm.rbm.io import load_model, save_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.sampling import Bernoulli
from napari_neurorbm.rbm.training import Trainer
from test_rbm_training import small_config, structured_frames, use_sweeps

STOP = 62  # mid-epoch (1600 training frames, minibatch 300) and between two evaluations


@pytest.fixture(scope="module")
def raster() -> Raster:
    frames = structured_frames(2400)
    return Raster(
        counts=frames.T.astype(np.uint8),
        bin_s=0.02,
        areas=np.array(["VISp"] * 8 + ["CA1"] * 8),
        unit_ids=np.arange(100, 116),
        segment_starts=np.array([0]),
        frame_times=np.arange(len(frames)) * 0.02,
        train_frames=np.arange(1600),
        test_frames=np.arange(1600, 2400),
    )


def config(optimizer: str, **kw):
    base = {"updates": 120, "eval_every": 20, "batch": 300, "chains": 300, "optimizer": optimizer}
    return small_config(**{**base, "lr": 0.05 if optimizer == "sgd" else 0.01, **kw})


def stop_at(trainer: Trainer, update: int) -> Trainer:
    """Run until ``update`` and stop between two records, as the Stop button and the CLI do."""
    gen = trainer.run()
    for p in gen:
        if p.stage == "train" and p.done == update:
            gen.close()
    assert trainer.update == update
    return trainer


def npz(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def assert_same_files(a, b) -> None:
    """Every array of two model files equal bit for bit, and the JSON metadata and state equal, except the
    wall-clock seconds of the last run (``timing``), which measure the machine, not the run."""
    x, y = npz(a), npz(b)
    assert sorted(x) == sorted(y)
    meta_x, meta_y = (json.loads(str(f.pop("metadata"))) for f in (x, y))
    assert set(meta_x.pop("timing")) == set(meta_y.pop("timing"))
    assert meta_x == meta_y
    for key in x:
        assert x[key].dtype == y[key].dtype and np.array_equal(x[key], y[key]), key


@pytest.mark.parametrize("kernel", ["dense", "sparse"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_run_resumed_from_its_file_is_bit_identical_to_one_that_never_stopped(
    raster, tmp_path, monkeypatch, optimizer, kernel
):
    use_sweeps(monkeypatch, kernel)
    cfg = config(optimizer)
    whole = Trainer.from_raster(raster, cfg)
    records = [p.payload for p in whole.run() if p.stage == "train"]
    part = stop_at(Trainer.from_raster(raster, cfg), STOP)
    assert 0 < len(part._order) < 1600 and len(part._berns) == len(whole._berns)
    saved = load_model(part.save(tmp_path / "part.npz"))
    assert saved.state is not None and saved.metadata["update"] == STOP
    resumed = Trainer.resume(saved, raster, cfg)
    assert [p.payload for p in resumed.run() if p.stage == "train"] == records[STOP + 1 :]  # fe_gap too
    for a, b in zip(whole.rbm.numpy(), resumed.rbm.numpy(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert torch.equal(whole.chains, resumed.chains)
    assert resumed.history == whole.history
    assert [h["update"] for h in resumed.history] == list(range(0, 121, 20))
    assert [u for u, _ in resumed.checkpoints] == [u for u, _ in whole.checkpoints]
    assert_same_files(whole.save(tmp_path / "whole.npz"), resumed.save(tmp_path / "resumed.npz"))


def test_a_finished_run_continued_to_more_updates_follows_the_longer_run(raster, tmp_path):
    """A first leg that ended at its own --updates differs from the long run only in its evaluations and
    checkpoints, which never feed back into training: the model and chains continue exactly."""
    long = Trainer.from_raster(raster, config("adam"))
    drain(long.run())
    short = Trainer.from_raster(raster, config("adam", updates=STOP))
    drain(short.run())
    resumed = Trainer.resume(load_model(short.save(tmp_path / "short.npz")), raster, config("adam"))
    drain(resumed.run())
    for a, b in zip(long.rbm.numpy(), resumed.rbm.numpy(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert torch.equal(long.chains, resumed.chains)


def test_a_file_without_state_resumes_as_before_with_fresh_streams(raster, tmp_path):
    cfg = config("adam")
    part = stop_at(Trainer.from_raster(raster, cfg), STOP)
    path = part.save(tmp_path / "part.npz")
    arrays = {k: v for k, v in npz(path).items() if not k.startswith("state")}
    np.savez(tmp_path / "old.npz", **arrays)  # what files written before the state was stored hold
    old = load_model(tmp_path / "old.npz")
    assert old.state is None and old.metadata["update"] == STOP
    resumed = Trainer.resume(old, raster, cfg)
    assert resumed._opt is None and resumed.update == STOP  # Adam starts afresh, the streams reseeded
    drain(resumed.run())
    assert resumed.update == 120 and [h["update"] for h in resumed.history][-1] == 120
    exact = Trainer.resume(load_model(path), raster, cfg)
    drain(exact.run())
    assert not torch.equal(exact.rbm.W, resumed.rbm.W)


def test_a_changed_layout_resumes_with_fresh_streams_and_says_so(raster, tmp_path):
    part = stop_at(Trainer.from_raster(raster, config("sgd")), STOP)
    saved = load_model(part.save(tmp_path / "part.npz"))
    with pytest.warns(UserWarning, match=r"fresh random streams.*batch 300 -> 200"):
        resumed = Trainer.resume(saved, raster, config("sgd", batch=200))
    drain(resumed.run())
    assert resumed.update == 120


def test_bernoulli_streams_continue_from_a_stored_position():
    p = torch.full((50, 7), 0.3)
    bern = Bernoulli("cpu", (4, 1))
    bern.draw(p, out=torch.empty_like(p))
    position = bern.get_state()
    first = bern.draw(p, out=torch.empty_like(p)).clone()
    other = Bernoulli("cpu", 99)
    other.set_state(position)
    assert position.dtype == np.uint64 and torch.equal(other.draw(p, out=torch.empty_like(p)), first)


def test_state_round_trips_through_a_file_numpy_reads_without_pickle(tmp_path):
    rbm = RBM.from_numpy(np.zeros((5, 3)), np.zeros(5), np.zeros(3))
    state = {"layout": {"device": "cpu"}, "checkpoints": [0, 4], "order": np.arange(6)}
    state["gen"] = np.ones(3, np.uint8)
    path = save_model(tmp_path / "m.npz", rbm, {"update": 4}, state=state)
    raw = npz(path)
    assert {"state", "state_order", "state_gen"} <= raw.keys()
    back = load_model(path).state
    assert back["layout"] == {"device": "cpu"} and back["checkpoints"] == [0, 4]
    assert np.array_equal(back["order"], np.arange(6)) and back["gen"].dtype == np.uint8
    assert load_model(save_model(tmp_path / "plain.npz", rbm, {})).state is None


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_previous_file_whole_and_no_temporary_file(tmp_path, monkeypatch, failure):
    rbm = RBM.from_numpy(np.ones((5, 3)), np.zeros(5), np.zeros(3))
    path = save_model(tmp_path / "m.npz", rbm, {"update": 1})
    before = path.read_bytes()

    def half_written(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise failure

    monkeypatch.setattr(io.np, "savez", half_written)
    with pytest.raises(NeuroRBMError if isinstance(failure, OSError) else KeyboardInterrupt) as exc:
        save_model(path, RBM.from_numpy(np.zeros((5, 3)), np.zeros(5), np.zeros(3)), {"update": 2})
    if isinstance(failure, OSError):
        assert str(exc.value) == f"cannot write model file {path}: No space left on device"
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    assert load_model(path).metadata["update"] == 1


def test_unfinished_autosaves_are_found_by_their_units_latest_first(raster, tmp_path):
    """The dock's autosave folder (NEURORBM_DATA_DIR in tests): a broken file and an older file are passed
    over for the latest file of these units; other units find none."""
    trainer = stop_at(Trainer.from_raster(raster, config("sgd")), 3)
    assert find_unfinished(raster.unit_ids) is None
    older = trainer.save(new_autosave_path("toy raster/1"))
    assert older.parent == autosave_folder() and older.name.endswith("-toy_raster_1.npz")
    os.utime(older, (1e9, 1e9))
    newer = Autosave(new_autosave_path("toy"), minutes=0.001)
    assert not newer.maybe(trainer) and newer.update is None  # not due yet
    time.sleep(0.07)
    assert newer.maybe(trainer) and newer.update == 3
    (autosave_folder() / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    found = find_unfinished(raster.unit_ids)
    assert found.path == newer.path and found.update == 3 and found.updates == 120
    text = found.describe()
    assert text.startswith("Resume unfinished run from ") and text.endswith("(update 3)")
    assert find_unfinished(raster.unit_ids + 1000) is None


def test_records_inside_an_evaluation_are_not_between_updates(raster):
    """Autosaves and stops wait for these: the evaluation of the current update is not in the state yet."""
    cfg = config("sgd", log_z="ais", ais_chains=50, ais_betas=20, updates=40, ptt_sweeps=0)
    trainer, inside = Trainer.from_raster(raster, cfg), 0
    for p in trainer.run():
        evaluated = trainer.history[-1]["update"] if trainer.history else None
        if not between_updates(p):
            inside += 1
            assert evaluated is None or evaluated < trainer.update
        elif p.stage == "train" and trainer.update % 20 == 0:
            assert evaluated == trainer.update
    assert inside >= 3 * 19  # the AIS steps of the evaluations at updates 0, 20 and 40


def test_a_run_resumed_in_a_thread_of_another_torch_thread_count_keeps_its_blocks(raster, tmp_path):
    """The CPU blocks of chains follow the torch threads of the thread that starts a run; a resumed run keeps
    the stopped run's blocks (the napari dock resumes in a worker thread, the CLI in the main thread)."""
    threads = torch.get_num_threads()
    cfg = config("sgd")
    try:
        torch.set_num_threads(2)
        whole = Trainer.from_raster(raster, cfg)
        drain(whole.run())
        saved = load_model(stop_at(Trainer.from_raster(raster, cfg), STOP).save(tmp_path / "part.npz"))
        torch.set_num_threads(1)
        resumed = Trainer.resume(saved, raster, cfg)
        drain(resumed.run())
    finally:
        torch.set_num_threads(threads)
    assert len(resumed._blocks) == len(whole._blocks) == 2
    assert torch.equal(whole.chains, resumed.chains) and torch.equal(whole.rbm.W, resumed.rbm.W)
