"""tau auto (analysis.timing): relaxation times of K(t) against exact answers, the calibrated tau end to end,
and what a recording too short to time gives."""

import itertools
import json

import numpy as np
import pytest

from napari_neurorbm.analysis import timing
from napari_neurorbm.cli import main
from napari_neurorbm.configs import PAPER_TAU, GenerateConfig
from napari_neurorbm.data.raster import Raster, split_frames
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import save_model
from napari_neurorbm.rbm.model import RBM
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def exact_sweep_autocorrelation(W, b, c, lags: int) -> np.ndarray:
    """The autocorrelation of K per Gibbs sweep (v -> h -> v) at stationarity, by enumerating v and h:
    T = P(h|v) P(v'|h), pi = the RBM's marginal of v, C(l) = <dK T^l dK>_pi / <dK^2>_pi."""
    nv, nh = W.shape
    V = np.array(list(itertools.product([0, 1], repeat=nv)), float)
    H = np.array(list(itertools.product([0, 1], repeat=nh)), float)
    ph, pv = _sigmoid(c + V @ W), _sigmoid(b + H @ W.T)
    A = np.prod(np.where(H[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)
    B = np.prod(np.where(V[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)
    log_p = V @ b + np.logaddexp(0, c + V @ W).sum(axis=1)
    pi = np.exp(log_p - log_p.max())
    pi /= pi.sum()
    dk = V.sum(axis=1) - pi @ V.sum(axis=1)
    x, out = dk.copy(), []
    for _ in range(lags + 1):
        out.append((pi * dk) @ x)
        x = A @ (B @ x)
    return np.array(out) / out[0], V, pi


def markov_raster(n_frames: int, n_units: int = 12, on: float = 0.05, off: float = 0.15, seed: int = 0,
                  bin_s: float = 0.02) -> Raster:
    """Independent two-state Markov units (0 -> 1 with ``on``, 1 -> 0 with ``off`` per frame): K(t)'s
    autocorrelation is exactly (1 - on - off)^lag, a relaxation time of -1 / ln(1 - on - off) frames."""
    g = np.random.default_rng(seed)
    state = g.random(n_units) < on / (on + off)
    frames = np.empty((n_frames, n_units), dtype=np.uint8)
    for t in range(n_frames):
        frames[t] = state
        u = g.random(n_units)
        state = np.where(state, u >= off, u < on)
    return raster_of(frames, bin_s)


def raster_of(frames: np.ndarray, bin_s: float = 0.02) -> Raster:
    """frames x units 0/1 as a one-segment Raster of contiguous bins (30 % test frames)."""
    n_frames, n_units = frames.shape
    train, test = split_frames(n_frames, 0.3, 0)
    return Raster(counts=frames.T.astype(np.uint8), bin_s=bin_s, areas=np.full(n_units, "VISp"),
                  unit_ids=np.arange(n_units), segment_starts=np.array([0]),
                  frame_times=np.arange(n_frames) * bin_s, train_frames=train, test_frames=test, name="toy")


def test_relaxation_lag_is_exact_for_an_exponential():
    for t in (0.4, 1.0, 3.7, 12.5):
        acf = np.exp(-np.arange(60) / t)
        assert timing.relaxation_lag(acf) == pytest.approx(t, rel=1e-12)
    assert timing.relaxation_lag(np.array([1.0, 0.8, 0.6])) is None  # not fallen yet
    assert timing.relaxation_lag(np.array([1.0, 0.8, np.nan, 0.1])) is None  # series ends before


def test_sweep_relaxation_matches_the_exact_markov_chain():
    """8 visible units and one hidden unit that switches the population on and off: K relaxes over a few
    sweeps; chains started from exact samples give the enumerated relaxation time within 10 %."""
    g = np.random.default_rng(1)
    W = 2.0 + g.normal(0, 0.2, (8, 1))
    b, c = np.full(8, -1.0), np.array([-8.0])
    acf, V, pi = exact_sweep_autocorrelation(W, b, c, 200)
    exact = timing.relaxation_lag(acf)
    assert 2 < exact < 6
    starts = V[g.choice(len(V), size=2000, p=pi)]
    rbm = RBM.from_numpy(W, b, c)
    sweeps, per_chain = drain(timing.iter_generated_relaxation(rbm, starts, chains=256, seed=0))
    assert sweeps == pytest.approx(exact, rel=0.1)
    assert per_chain == timing.START_SWEEPS


def test_recording_relaxation_matches_a_known_markov_series():
    raster = markov_raster(40_000)
    assert timing.recording_relaxation(raster) == pytest.approx(-1 / np.log(0.8), rel=0.1)


def test_a_recording_too_short_falls_back_to_the_papers_tau_with_a_note():
    short = raster_of(np.arange(12)[None, :] < np.arange(10)[:, None])  # K rises 0..9: C(2) = 0.6
    with pytest.raises(timing.NoRelaxation, match="too short to fit a relaxation time"):
        timing.recording_relaxation(short)  # a quarter of 10 frames: 2 lags
    rbm = RBM.from_numpy(np.zeros((12, 2)), np.zeros(12), np.zeros(2))
    tau, calibration, note = drain(timing.iter_resolve_tau(rbm, short, None))
    assert (tau, calibration) == (PAPER_TAU, None)
    assert note.startswith("tau auto: the recording (10 frames) is too short") and "paper's tau 5" in note
    assert drain(timing.iter_resolve_tau(rbm, short, 3)) == (3, None, None)  # a given tau is kept


def test_a_constant_population_count_cannot_be_timed():
    silent = markov_raster(100, on=0.0, off=1.0)
    with pytest.raises(timing.NoRelaxation, match=r"K\(t\) of the recording is constant"):
        timing.recording_relaxation(silent)
    rbm = RBM.from_numpy(np.zeros((12, 1)), np.full(12, -50.0), np.zeros(1))  # never fires
    with pytest.raises(timing.NoRelaxation, match="model's chains is constant"):
        drain(timing.iter_generated_relaxation(rbm, np.zeros((5, 12)), chains=4))


def test_thinned_frames_cannot_be_timed():
    raster = markov_raster(200)
    thinned = Raster(counts=raster.counts[:, ::2].copy(), bin_s=raster.bin_s, areas=raster.areas,
                     unit_ids=raster.unit_ids, segment_starts=np.array([0]),
                     frame_times=raster.frame_times[::2], train_frames=np.arange(70),
                     test_frames=np.arange(70, 100), name="thinned")
    with pytest.raises(timing.NoRelaxation, match="not contiguous bins"):
        timing.recording_relaxation(thinned)


def test_tau_is_auto_by_default_and_can_be_asked_for():
    assert GenerateConfig().tau is None
    from napari_neurorbm.cli._options import NONE, _kind

    info = next(i for i in GenerateConfig.fields() if i.name == "tau")
    assert _kind(info)("auto") is NONE and _kind(info)("7") == 7


def test_report_calibrates_tau_and_states_the_relaxation_times(tmp_path):
    """A 12-unit model with a slow hidden switch against a Markov recording: the report's tau is auto, >= 1,
    and summary.json and index.html give both relaxation times."""
    raster = markov_raster(3000, bin_s=0.01)
    g = np.random.default_rng(0)
    W = np.c_[2.0 + g.normal(0, 0.2, 12), g.normal(0, 0.3, 12)]
    rbm = RBM.from_numpy(W, np.full(12, -1.5), np.array([-10.0, 0.0]))
    model = save_model(tmp_path / "m.npz", rbm, {"areas": raster.areas, "unit_ids": raster.unit_ids,
                                                 "bin_s": raster.bin_s})
    path = raster.save(tmp_path / "r.npz")
    out = tmp_path / "report"
    assert main(["report", str(model), str(path), "--out", str(out), "--frames", "200", "--triplets", "50",
                 "--analyses", "none", "--tau", "auto"]) == 0
    params = json.loads((out / "summary.json").read_text())["params"]
    assert params["tau_mode"] == "auto" and params["tau"] >= 1
    assert params["recording_relaxation_s"] == pytest.approx(-0.01 / np.log(0.8), rel=0.2)
    sweeps = params["generated_relaxation_sweeps"]
    assert params["tau"] == max(1, round(sweeps / params["recording_relaxation_frames"]))
    page = (out / "index.html").read_text()
    assert "recording_relaxation_s" in page and "generated_relaxation_sweeps" in page
