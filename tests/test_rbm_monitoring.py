"""Monitoring and the time budget: live AIS against a long AIS on real data, the cost share, the budget."""

import time

import numpy as np
import pytest

from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.partition import log_z_ais, log_z_exact
from napari_neurorbm.rbm.training import TrainConfig, Trainer
from test_rbm_training import small_config, structured_frames


@pytest.fixture(scope="module")
def data():
    x = structured_frames(3000, n_units=40, n_patterns=6)
    return x[:2100], x[2100:]


@pytest.mark.real
def test_live_ais_at_the_defaults_is_within_0_05_nats_of_a_long_ais_on_a_real_recording(real_data):
    from napari_neurorbm.data.binning import BinningParams, binarize
    from napari_neurorbm.data.sources import open_source

    path = real_data / "steinmetz2019_hench_2017-06-15.npz"
    raster = binarize(open_source(path), BinningParams(bin_ms=None))
    units = np.argsort(-raster.binary.mean(1))[:300]  # the 300 most active units: a small real subset
    train, test = (raster.frames(w)[:, units] for w in ("train", "test"))
    cfg = TrainConfig(n_hidden=32, updates=300, eval_every=300, device="cpu", log_z="ais", eval_share=1.0)
    t = Trainer(train, test, cfg)
    drain(t.run())
    live = next(h for h in t.history if h["update"] == 300)
    assert live["log_z_method"] == "ais" and t.best.test_ll > t.independent_test_ll + 0.3  # it learned
    long = log_z_ais(t.rbm, 200, 20000, t._base_b, seed=11)
    assert abs(live["log_z"] - long) < 0.05, (live["log_z"], long, cfg.ais_chains, cfg.ais_betas)
    # the selection's re-estimate of the best model is at least as close
    best = t.best.rbm.to(t.device)
    assert abs(t.selection["log_z"] - log_z_ais(best, 200, 20000, t._base_b, seed=12)) < 0.05


def test_an_ais_evaluation_waits_while_live_monitoring_is_over_half_its_share(data):
    train, test = data
    t = Trainer(train, test, small_config(log_z="ais", updates=1000, eval_every=10, eval_share=0.16))
    t.history, t.update = [{"update": 0}], 10
    t._clock.train_s, t._clock.eval_s = 9.0, 1.0  # live evaluations have taken 10 % > 8 %: wait
    assert not t._eval_due()
    t._clock.train_s = 20.0  # 4.8 %: go
    assert t._eval_due()
    t.history, t.update = [{"update": 10}], 15  # fewer than eval_every updates since the last one
    assert not t._eval_due()
    t.update, t._clock.train_s = 1000, 1.0  # the last update is always evaluated
    assert t._eval_due()
    exact = Trainer(train, test, small_config(log_z="exact", updates=1000, eval_every=10, eval_share=0.16))
    exact.history, exact.update = [{"update": 0}], 10
    exact._clock.train_s, exact._clock.eval_s = 1.0, 9.0  # exact log Z is cheap: always on schedule
    assert exact._eval_due()


def test_a_small_share_makes_fewer_evaluations(data):
    train, test = data
    runs = {}
    for share in (1.0, 0.02):
        t = Trainer(train, test, small_config(n_hidden=12, log_z="ais", ais_chains=200, ais_betas=400,
                                              updates=200, eval_every=10, ptt_sweeps=0, eval_share=share))
        drain(t.run())
        runs[share] = len(t.history)
        assert t.history[-1]["update"] == 200  # the last update is always evaluated
    assert runs[1.0] == 21 and 2 <= runs[0.02] < runs[1.0]


def test_a_time_budget_ends_the_run_and_still_selects_the_best_model(data):
    train, test = data
    cfg = small_config(n_hidden=12, log_z="ais", ais_chains=100, ais_betas=200, updates=10**7, eval_every=25,
                       ptt_sweeps=0, minutes=0.05, checkpoints=50, eval_share=1.0)  # only the budget limits
    t0 = time.monotonic()
    t = Trainer(train, test, cfg)
    stages = [p.stage for p in t.run()]
    took = time.monotonic() - t0
    assert 0 < t.update < cfg.updates and took < 3 + 60  # 3 s of budget; generous slack on a busy machine
    assert t.history[-1]["update"] == t.update  # the model it stopped at was evaluated
    assert t.checkpoints[-1][0] == t.update
    assert stages[-1] == "select" and t.selection["update"] == t.best.update
    assert t.metadata()["selection"]["chains"] in (100, 200, 300, 400)  # as many as the room allowed
    timing = t.metadata()["timing"]  # where the time went, for the benchmark's monitoring share
    assert timing["updates"] > 0 and timing["evaluations"] > 0 and timing["selection"] > 0
    assert timing["updates"] + timing["evaluations"] + timing["selection"] <= timing["wall"]
    assert t.best.test_ll > t.independent_test_ll


def test_both_limits_given_the_update_count_can_come_first(data):
    train, test = data
    t = Trainer(train, test, small_config(updates=30, minutes=10.0, eval_every=10))
    drain(t.run())
    assert t.update == 30 and t.history[-1]["log_z"] == pytest.approx(log_z_exact(t.rbm), abs=1e-6)


def test_progress_projects_the_end_of_a_budgeted_run(data):
    train, test = data
    t = Trainer(train, test, small_config(updates=10**7, minutes=0.03, eval_every=0))
    totals = [p.total for p in t.run() if p.stage == "train"]
    assert totals[-1] < 10**7 and abs(totals[-1] - t.update) <= max(5, 0.5 * t.update)


def test_selection_searches_the_checkpoints_between_the_live_evaluations_around_the_best(data):
    train, test = data
    cfg = small_config(n_hidden=12, log_z="ais", ais_chains=100, ais_betas=1000, updates=400, eval_every=400,
                       ptt_sweeps=0, checkpoints=40, eval_share=1.0)
    t = Trainer(train, test, cfg)
    stages = [p.stage for p in t.run()]
    assert [h["update"] for h in t.history] == [0, 400] and stages[-1] == "select"
    tried = t.selection["checkpoints_tried"]
    ckpts = [u for u, _ in t.checkpoints]
    assert 1 <= len(tried) <= 6 and all(0 < r["update"] < 400 and r["update"] in ckpts for r in tried)
    best_estimate = max([r["test_ll"] for r in tried] + [t.history[-1]["test_ll"]])
    assert t.selection["estimate_before"] == best_estimate  # the best of the live and the searched ones
    assert t.best.update == t.selection["update"] and t.best.test_ll == t.selection["test_ll"]
    assert abs(t.selection["log_z"] - log_z_exact(t.best.rbm)) < 0.05


def _ended_run(data, train_s: float, eval_s: float, last_eval_s: float, minutes: float = 0.0) -> Trainer:
    """A finished 400-update AIS run whose clock says where the time went (live evaluations at 0 and 400)."""
    train, test = data
    cfg = small_config(n_hidden=12, log_z="ais", ais_chains=100, ais_betas=300, updates=400, eval_every=400,
                       ptt_sweeps=0, checkpoints=40, eval_share=0.1, minutes=minutes)
    t = Trainer(train, test, cfg)
    gen = t.run()
    for p in gen:  # stop before the selection stage, then set the clock and let it select
        if p.stage == "train" and p.done == 400:
            break
    t._clock.train_s, t._clock.eval_s, t._clock.last_eval_s = train_s, eval_s, last_eval_s
    drain(gen)
    return t


def test_the_selection_fits_in_what_the_live_evaluations_left_of_the_share(data):
    roomy = _ended_run(data, train_s=100.0, eval_s=2.0, last_eval_s=0.5)  # 8 s left: 16 evaluations' worth
    assert roomy.selection["method"] == "ais" and roomy.selection["chains"] == 400  # refined with 4x chains
    assert 1 <= len(roomy.selection["checkpoints_tried"]) <= 6
    tight = _ended_run(data, train_s=100.0, eval_s=8.8, last_eval_s=0.5)  # 1.2 s left: two evaluations
    assert tight.selection["chains"] == 200 and tight.selection["checkpoints_tried"] == []
    spent = _ended_run(data, train_s=100.0, eval_s=10.0, last_eval_s=0.5)  # nothing left
    assert spent.selection["method"] == "live" and spent.selection["chains"] == 100
    assert spent.best.test_ll == spent.selection["test_ll"] == spent.selection["estimate_before"]
    assert spent.metadata()["selected_update"] == spent.best.update


def test_the_selection_never_runs_past_the_time_budget(data):
    over = _ended_run(data, train_s=100.0, eval_s=2.0, last_eval_s=10.0, minutes=0.05)  # 3 s: gone
    assert over.selection["method"] == "live"
