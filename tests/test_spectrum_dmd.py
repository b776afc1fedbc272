"""PC variance spectrum (cvPCA, power law) and DMD against known answers."""

import numpy as np
import pytest

from napari_neurorbm.analysis import dmd as D
from napari_neurorbm.analysis import spectrum as S
from napari_neurorbm.errors import NeuroRBMError


def test_cvpca_of_identical_repeats_is_ordinary_pca():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8))
    expected = np.sort(np.linalg.eigvalsh(np.cov(x.T, bias=True)))[::-1]
    np.testing.assert_allclose(S.cv_spectrum(x, x), expected, rtol=1e-10)


def slow_power_law_activity(n_units=300, n_frames=40000, alpha=1.0, rho=0.95, noise=3.0, seed=0):
    """Latents with variance k^-alpha, each an AR(1) with correlation rho per frame, mixed by a random
    rotation, plus white noise that changes every frame (what cvPCA must not count)."""
    rng = np.random.default_rng(seed)
    lam = np.arange(1, n_units + 1) ** -alpha
    z = np.empty((n_frames, n_units))
    z[0] = rng.normal(size=n_units)
    kick = np.sqrt(1 - rho**2)
    for t in range(1, n_frames):
        z[t] = rho * z[t - 1] + kick * rng.normal(size=n_units)
    rotation = np.linalg.qr(rng.normal(size=(n_units, n_units)))[0]
    signal = (z * np.sqrt(lam)) @ rotation.T
    return signal + noise * rng.normal(size=signal.shape) / np.sqrt(n_units), lam


def test_power_law_exponent_of_gaussian_data_with_a_known_spectrum():
    for alpha in (0.8, 1.2):
        x, _ = slow_power_law_activity(alpha=alpha)
        spec = S.spectrum_of(x, block=1)
        assert spec.ranks == (11, 150)
        assert abs(spec.alpha - alpha) < 0.05, (alpha, spec.alpha)
        # without cross-validation the white noise flattens the tail and the exponent is wrong
        plain = np.sort(np.linalg.eigvalsh(np.cov(x.T)))[::-1]
        assert abs(S.power_law_exponent(plain) - alpha) > 0.1


def test_interleaved_halves_pair_blocks_within_segments():
    x = np.arange(20)[:, None] * np.ones((1, 2))
    a, b = S.interleaved_halves(x, block=2, segment_starts=np.array([0, 9]))
    # segment [0, 9): blocks (0,1)|(2,3) and (4,5)|(6,7); segment [9, 20): (9,10)|(11,12), (13,14)|(15,16)
    np.testing.assert_array_equal(a[:, 0], [0, 1, 4, 5, 9, 10, 13, 14])
    np.testing.assert_array_equal(b[:, 0], a[:, 0] + 2)
    with pytest.raises(NeuroRBMError, match="no two consecutive blocks"):
        S.interleaved_halves(x[:3], block=2)


def test_time_shuffle_keeps_each_unit_and_removes_shared_variance():
    x, _ = slow_power_law_activity(n_units=100, n_frames=20000, seed=1)
    shuffled = S.time_shuffled(x, seed=2)
    np.testing.assert_allclose(np.sort(shuffled, axis=0), np.sort(x, axis=0))
    real, control = S.spectrum_of(x, 1), S.spectrum_of(shuffled, 1)
    assert control.variance[0] < 0.2 * real.variance[0]


def test_only_areas_with_enough_units_get_a_spectrum():
    areas = np.array(["VISp"] * 110 + ["CA1"] * 40 + ["LGd"] * 100)
    assert S.large_areas(areas) == ["LGd", "VISp"] and S.large_areas(areas, 40) == ["CA1", "LGd", "VISp"]


def test_the_fitted_power_law_line_goes_through_an_exact_power_law():
    variance = 3.0 * np.arange(1, 101, dtype=float) ** -0.8
    spec = S.Spectrum(variance, S.power_law_exponent(variance, 5, 40), (5, 40))
    ranks, line = spec.power_law()
    assert spec.alpha == pytest.approx(0.8) and ranks[0] == 5 and ranks[-1] == 40
    np.testing.assert_allclose(line, variance[4:40])
    assert S.Spectrum(-variance, np.nan, (5, 40)).power_law()[0].size == 0  # nothing to fit


def known_linear_system(eigs, n_frames=5000, noise=1e-3, seed=0):
    """x(t+1) = A x(t) + small noise, with A's eigenvalues ``eigs`` (complex ones as conjugate pairs)."""
    rng = np.random.default_rng(seed)
    blocks = []
    for lam in eigs:
        if abs(lam.imag) > 0:
            if lam.imag > 0:
                blocks.append(np.array([[lam.real, -lam.imag], [lam.imag, lam.real]]))
        else:
            blocks.append(np.array([[lam.real]]))
    d = sum(len(b) for b in blocks)
    a_block = np.zeros((d, d))
    i = 0
    for b in blocks:
        a_block[i : i + len(b), i : i + len(b)] = b
        i += len(b)
    basis = rng.normal(size=(d, d))
    a = basis @ a_block @ np.linalg.inv(basis)
    x = np.empty((n_frames, d))
    x[0] = rng.normal(size=d)
    for t in range(1, n_frames):
        x[t] = a @ x[t - 1] + noise * rng.normal(size=d) + (0.3 * rng.normal(size=d) if t % 50 == 0 else 0)
    return x


def test_dmd_returns_the_eigenvalues_of_a_known_linear_system():
    eigs = np.array([0.95, 0.8, 0.5, 0.9 + 0.3j, 0.9 - 0.3j])
    x = known_linear_system(eigs)
    ev = D.dmd_eigenvalues(x[:-1], x[1:])
    np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(eigs), atol=2e-3)
    result = D.dmd_of(x, k=5)  # through its PCs: the same spectrum (a change of basis)
    np.testing.assert_allclose(np.sort_complex(result.eigenvalues), np.sort_complex(eigs), atol=2e-3)
    assert result.real_fraction == pytest.approx(3 / 5)


def test_dmd_never_pairs_frames_across_a_segment_gap():
    np.testing.assert_array_equal(D.consecutive_pairs(6, np.array([0, 3])), [0, 1, 3, 4])
    rng = np.random.default_rng(4)
    a = np.array([[0.9, 0.0], [0.0, 0.6]])
    segments = []
    for _ in range(300):  # short independent segments: each starts from a fresh state
        seg = [rng.normal(size=2)]
        for _ in range(3):
            seg.append(a @ seg[-1] + 1e-3 * rng.normal(size=2))
        segments.append(seg)
    x = np.concatenate(segments)
    starts = np.arange(0, len(x), 4)
    cut = D.dmd_of(x, k=2, segment_starts=starts)
    np.testing.assert_allclose(np.sort(cut.eigenvalues.real), [0.6, 0.9], atol=0.01)
    across = D.dmd_of(x, k=2)  # pairing the last frame of a segment with the next one's first biases it
    assert np.abs(np.sort(across.eigenvalues.real) - [0.6, 0.9]).max() > 0.05
    with pytest.raises(NeuroRBMError, match="consecutive frame pairs"):
        D.dmd_of(x[:3], k=2, segment_starts=[0, 1, 2])


def test_repeated_trials_give_the_stimulus_spectrum():
    """Trials of one stimulus whose responses have a known power-law spectrum, plus noise that differs
    between trials: the even/odd trial means recover the stimulus exponent, and the noise does not count."""
    stimulus, _ = slow_power_law_activity(n_units=200, n_frames=4000, alpha=1.0, rho=0.0, noise=0.0, seed=3)
    rng = np.random.default_rng(4)
    trials = stimulus[None] + 0.3 * rng.normal(size=(7, *stimulus.shape))  # per unit, 3x the signal's sd
    x = trials.reshape(-1, stimulus.shape[1])
    starts = np.arange(7) * len(stimulus)
    a, b = S.repeat_halves(x, starts)
    np.testing.assert_allclose(a, trials[0::2].mean(axis=0))
    np.testing.assert_allclose(b, trials[1::2].mean(axis=0))
    spec = S.spectrum_of(x, block=1, segment_starts=starts, repeats=True)
    assert abs(spec.alpha - 1.0) < 0.05, spec.alpha
    plain = np.sort(np.linalg.eigvalsh(np.cov(trials.mean(axis=0).T)))[::-1]  # the noise left in the mean
    assert abs(S.power_law_exponent(plain) - 1.0) > 0.1


def test_repeats_need_trials_of_one_length():
    x = np.zeros((25, 3))
    for starts, said in ((np.array([0]), "one segment"), (np.array([0, 10, 20]), "3 segments of 2 lengths")):
        with pytest.raises(NeuroRBMError, match=f"the raster has {said}; repeats need two or more"):
            S.repeat_halves(x, starts)
