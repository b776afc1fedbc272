"""PCD-k training: reproducibility, stop/resume, tracked log Z, model selection, divergence, model files."""

import math

import numpy as np
import pytest
import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm import sampling
from napari_neurorbm.rbm.io import load_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.partition import log_z_exact
from napari_neurorbm.rbm.training import TrainConfig, Trainer, checkpoint_updates, independent_loglik


def structured_frames(
    n_frames: int, n_units: int = 16, n_patterns: int = 4, flip: float = 0.08, seed: int = 0
) -> np.ndarray:
    """Noisy copies of a few random binary patterns: data with strong higher-order structure."""
    g = np.random.default_rng(seed)
    patterns = g.random((n_patterns, n_units)) < 0.3
    x = patterns[g.integers(0, n_patterns, n_frames)] ^ (g.random((n_frames, n_units)) < flip)
    return x.astype(np.float32)


def small_config(**kw) -> TrainConfig:
    base = dict(
        n_hidden=8,
        k=5,
        batch=400,
        chains=400,
        lr=0.01,
        updates=200,
        eval_every=50,
        checkpoints=20,
        optimizer="adam",
        device="cpu",
        seed=3,
        eval_share=1.0,  # evaluate on schedule whatever the evaluations cost
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data():
    x = structured_frames(2400)
    return x[:1600], x[1600:]


def params(t: Trainer) -> list[np.ndarray]:
    return [x.cpu().numpy() for x in (t.rbm.W, t.rbm.b, t.rbm.c)]


def use_sweeps(monkeypatch, kind: str) -> None:
    """Force one of the two CPU sweep kernels whatever the data's activity: dense products, or sparse chains
    multiplied as lists of active units."""
    monkeypatch.setattr(sampling, "SPARSE_MAX", 1.0 if kind == "sparse" else -1.0)


@pytest.fixture(params=["dense", "sparse"])
def sweeps(request, monkeypatch) -> str:
    use_sweeps(monkeypatch, request.param)
    return request.param


def test_sparse_and_dense_sweeps_draw_the_same_chains_and_take_the_same_step(monkeypatch):
    """Dyadic parameters make every sum exact in float32, whatever its order: from one seed both kernels must
    then draw identical chains through k sweeps and compute the same gradient."""
    g = np.random.default_rng(1)
    train = (g.random((300, 24)) < 0.1).astype(np.float32)

    def dyadic(low: int, high: int, shape) -> torch.Tensor:
        return torch.as_tensor(g.integers(low, high, shape) / 64, dtype=torch.float32)

    init = RBM(dyadic(-64, 64, (24, 6)), dyadic(-256, 0, 24), dyadic(-64, 64, 6))
    cfg = small_config(n_hidden=6, batch=300, chains=200, updates=1, eval_every=0, optimizer="sgd", lr=0.5)
    runs = {}
    for kind in ("dense", "sparse"):
        use_sweeps(monkeypatch, kind)
        t = Trainer(train, None, cfg, init=init)
        assert (t._mask is None) == (kind == "dense")
        drain(t.run())
        runs[kind] = t
    assert torch.equal(runs["dense"].chains, runs["sparse"].chains)
    assert 0.02 < float(runs["sparse"].chains.mean()) < 0.3  # the chains moved and stayed sparse
    for a, b in zip(params(runs["dense"]), params(runs["sparse"]), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert not np.allclose(params(runs["dense"])[0], init.W.numpy())  # a real step was taken


def test_training_beats_independent_units_and_selects_max_test_ll(data, sweeps):
    train, test = data
    t = Trainer(train, test, small_config())
    records = [p.payload for p in t.run()]
    assert [r["update"] for r in records if "fe_gap" in r] == list(range(1, 201))
    assert all(math.isfinite(r["fe_gap"]) for r in records if "fe_gap" in r)
    evals = [h["update"] for h in t.history]
    assert evals == [0, 50, 100, 150, 200]
    assert t.history[0]["test_ll"] == pytest.approx(independent_loglik(train, test), abs=1e-3)
    best = max(t.history, key=lambda h: h["test_ll"])
    assert t.best.update == best["update"] and t.best.test_ll == best["test_ll"]
    assert t.best.test_ll > independent_loglik(train, test) + 1.0  # far better than independent units
    assert t.selected[0] == t.best.update
    ups = [u for u, _ in t.checkpoints]
    assert ups[0] == 0 and ups[-1] == 200 and ups == sorted(ups) and len(ups) >= 15
    assert np.diff(np.log(ups[1:])).std() < 0.5  # log-spaced


def test_seeded_runs_are_reproducible_and_stop_resume_loses_nothing(data, sweeps):
    train, test = data
    cfg = small_config(updates=60, eval_every=20, optimizer="sgd", lr=0.1)
    whole = Trainer(train, test, cfg)
    drain(whole.run())
    again = Trainer(train, test, cfg)
    drain(again.run())
    for a, b in zip(params(whole), params(again), strict=True):
        np.testing.assert_array_equal(a, b)
    parts = Trainer(train, test, cfg)
    gen = parts.run()
    for p in gen:
        if p.done == 25:
            gen.close()  # what a Stop button does between two yields
    assert parts.update == 25
    drain(parts.run())
    for a, b in zip(params(whole), params(parts), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [h["update"] for h in parts.history] == [h["update"] for h in whole.history]


def test_ais_evaluations_agree_with_exact(data):
    train, test = data
    t = Trainer(
        train,
        test,
        small_config(log_z="ais", ais_chains=500, ais_betas=500, updates=150, eval_every=75, ptt_sweeps=0),
    )
    stages = {p.stage for p in t.run()}
    assert stages == {"train", "ais", "select"} and not t.ptt and t.selection["update"] == t.best.update
    assert abs(t.selection["log_z"] - log_z_exact(t.best.rbm)) < 0.05
    assert [h["log_z_method"] for h in t.history] == ["ais"] * 3
    assert abs(t.history[-1]["log_z"] - log_z_exact(t.rbm)) < 0.05
    assert abs(t.history[-1]["log_z"] - t.history[0]["log_z"]) > 0.5  # the model did move


def test_final_ptt_gives_every_checkpoint_log_z_and_selects_the_best(data):
    train, test = data
    t = Trainer(train, test, small_config(log_z="ais", updates=150, eval_every=50, ptt_sweeps=100))
    stages = {p.stage for p in t.run()}
    assert stages == {"train", "ais", "ptt"}
    models = dict(t.checkpoints)
    assert [r["update"] for r in t.ptt] == sorted(models)
    for r in t.ptt[1:]:
        assert abs(r["log_z"] - log_z_exact(models[r["update"]])) < 0.05
    top = max(t.ptt, key=lambda r: r["test_ll"])
    assert t.best.update == top["update"] and t.selected[0] == top["update"]
    assert abs(t.log_z - log_z_exact(t.rbm)) < 0.05


def test_divergence_stops_with_a_clear_message_and_keeps_good_parameters(data):
    train, test = data
    t = Trainer(train, test, small_config(optimizer="sgd", lr=3e38, updates=50, eval_every=0))
    with pytest.raises(NeuroRBMError, match="diverged at update"):
        drain(t.run())
    assert t.diverged and t.rbm.is_finite()
    assert all(m.is_finite() for _, m in t.checkpoints)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


@needs_cuda
def test_cuda_learns_like_the_cpu_and_repeats_itself(data):
    train, test = data
    cpu = Trainer(train, test, small_config(updates=200, eval_every=100))
    drain(cpu.run())
    runs = [Trainer(train, test, small_config(updates=200, eval_every=100, device="cuda")) for _ in range(2)]
    for t in runs:
        drain(t.run())
    assert runs[0].device.type == "cuda"
    for a, b in zip(params(runs[0]), params(runs[1]), strict=True):
        np.testing.assert_array_equal(a, b)  # seeded: the same draws and products on the same GPU
    # other random streams than the CPU's, so another trajectory; both learn the structure
    for t in (cpu, runs[0]):
        assert t.best.test_ll > t.independent_test_ll + 1.0


@needs_cuda
def test_cuda_divergence_is_caught_at_the_next_check_and_keeps_finite_parameters(data):
    from napari_neurorbm.rbm.training import CHECK_EVERY

    train, test = data
    cfg = small_config(optimizer="sgd", lr=3e38, normalize=False, updates=200, eval_every=0, device="cuda")
    t = Trainer(train, test, cfg)
    with pytest.raises(NeuroRBMError, match="diverged at update"):
        drain(t.run())
    assert t.diverged and t.rbm.is_finite() and t.update % CHECK_EVERY == 0
    assert all(m.is_finite() for _, m in t.checkpoints)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_hidden": 0}, "hidden units"),
        ({"lr": 0.0}, "learning rate"),
        ({"lr": -1.0}, "learning rate"),
        ({"lr": 1e39}, "learning rate"),
        ({"lr": math.nan}, "learning rate"),
        ({"k": 0}, "Gibbs steps"),
        ({"chains": 0}, "chains"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"test_fraction": 1.0}, "test fraction"),
        ({"eval_every": -1}, "eval_every"),
    ],
)
def test_impossible_hyperparameters(change, match):
    with pytest.raises(NeuroRBMError, match=match):
        small_config(**change).validate()


def test_bad_frames_are_rejected():
    with pytest.raises(NeuroRBMError, match="binary"):
        Trainer(np.full((10, 4), 2.0), None, small_config())
    with pytest.raises(NeuroRBMError, match="non-empty"):
        Trainer(np.zeros((0, 4)), None, small_config())


def test_checkpoint_schedule():
    c = checkpoint_updates(10000, 20)
    assert c[0] == 0 and c[1] == 1 and c[-1] == 10000 and len(c) <= 22
    assert list(checkpoint_updates(5, 0)) == [0, 5]


def test_save_and_resume_from_a_model_file(data, tmp_path):
    from napari_neurorbm.data.raster import Raster

    train, test = data
    frames = np.vstack([train, test])
    n = len(frames)
    raster = Raster(
        counts=frames.T.astype(np.uint8),
        bin_s=0.02,
        areas=np.array(["VISp"] * 8 + ["CA1"] * 8),
        unit_ids=np.arange(100, 116),
        segment_starts=np.array([0]),
        frame_times=np.arange(n) * 0.02,
        train_frames=np.arange(1600),
        test_frames=np.arange(1600, n),
    )
    cfg = small_config(updates=100, eval_every=25)
    t = Trainer.from_raster(raster, cfg)
    drain(t.run())
    path = t.save(tmp_path / "m.npz")
    mf = load_model(path)
    assert mf.metadata["update"] == 100 and mf.metadata["selected_update"] == t.best.update
    assert mf.bin_s == 0.02 and list(mf.unit_ids) == list(range(100, 116)) and mf.areas[0] == "VISp"
    assert mf.metadata["split"]["test_frames"][0] == 1600 and mf.metadata["config"]["n_hidden"] == 8
    np.testing.assert_allclose(mf.rbm.W.numpy(), t.best.rbm.W.numpy())
    assert mf.chains.shape == (400, 16)
    with pytest.raises(NeuroRBMError, match="already at update 100"):
        Trainer.resume(mf, raster, cfg)
    r = Trainer.resume(mf, raster, small_config(updates=150, eval_every=25))
    np.testing.assert_array_equal(r.chains.numpy(), mf.chains)
    drain(r.run())
    assert r.update == 150 and [h["update"] for h in r.history][-3:] == [100, 125, 150]
    assert r.best.test_ll >= t.best.test_ll
    assert r.checkpoints[0][0] == 0


@pytest.mark.real
def test_a_real_recording_is_fitted_better_than_by_independent_units(real_data):
    from napari_neurorbm.data.raster import read_raster

    raster = read_raster(real_data / "tkacik2014_retina50.npz")
    cfg = small_config(n_hidden=12, batch=1000, chains=1000, lr=0.005, updates=200, eval_every=100, seed=1,
                       checkpoints=TrainConfig.checkpoints)
    t = Trainer.from_raster(raster, cfg)
    drain(t.run())
    assert t.history[-1]["log_z_method"] == "exact"
    assert t.best.test_ll > t.independent_test_ll + 0.2, (t.best.test_ll, t.independent_test_ll)
