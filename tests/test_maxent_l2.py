"""auto L2: the pairwise fit's penalty chosen by the pseudolikelihood of held-out training frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_neurorbm.analysis.maxent import (
    L2_GRID,
    iter_choose_l2,
    iter_fit_pairwise,
    neg_log_pseudolikelihood,
)
from napari_neurorbm.analysis.multiinfo import all_states
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.progress import drain
from test_maxent import exact_samples, random_model


def test_the_held_out_score_is_minus_the_log_conditionals_by_enumeration():
    model = random_model(6, seed=4, scale=0.8)
    frames = exact_samples(model, 40, seed=2)
    states, log_p = all_states(6), model.log_p()
    index = {tuple(s): k for k, s in enumerate(states.astype(int))}
    expected = 0.0
    for v in frames.astype(int):
        for i in range(6):
            on, off = v.copy(), v.copy()
            on[i], off[i] = 1, 0
            both = np.logaddexp(log_p[index[tuple(on)]], log_p[index[tuple(off)]])
            expected -= log_p[index[tuple(v)]] - both
    got = neg_log_pseudolikelihood(torch.as_tensor(frames, dtype=torch.float32),
                                   torch.as_tensor(model.h, dtype=torch.float32),
                                   torch.as_tensor(model.J, dtype=torch.float32))
    assert got == pytest.approx(expected / len(frames), rel=1e-5)


@pytest.mark.parametrize(("frames", "lowest", "highest"), [(40_000, 1e-5, 1e-3), (60, 0.03, 0.1)])
def test_auto_penalises_little_with_many_frames_and_much_with_few(frames, lowest, highest):
    x = exact_samples(random_model(12, seed=5), frames, seed=1).astype(np.float32)
    choice = drain(iter_choose_l2(x, torch.device("cpu"), seed=0))
    assert lowest <= choice.l2 <= highest
    tried = [l2 for l2, _ in choice.scores]
    assert tried == list(L2_GRID[: len(tried)])  # from the largest down
    scores = [s for _, s in choice.scores]
    assert dict(choice.scores)[choice.l2] == min(scores)
    assert len(tried) == len(L2_GRID) or scores[-1] > min(scores)  # it stops once the score gets worse


def test_the_fit_says_which_penalty_it_used_and_whether_auto_chose_it():
    x = exact_samples(random_model(12, seed=6), 3000, seed=3).astype(np.float32)
    auto = drain(iter_fit_pairwise(x, MaxEntConfig(updates=0, device="cpu")))
    assert auto.choice is not None and auto.l2 == auto.choice.l2
    given = drain(iter_fit_pairwise(x, MaxEntConfig(l2=0.05, updates=0, device="cpu")))
    assert given.choice is None and given.l2 == 0.05
