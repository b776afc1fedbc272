"""C(T) of random subsets of N units: exact against independent units' closed form, the table and summary,
bad sizes, and the retina's peak moving with N."""

import itertools

import numpy as np
import pytest

from napari_neurorbm.analysis.heat import temperatures
from napari_neurorbm.analysis.heat_subsets import iter_heat_subsets, subsets_summary, subsets_table
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain

T = temperatures(0.5, 2.0, 7)


def independent_frames(on, off):
    """Frames whose every pattern appears prod_i (on_i if v_i else off_i) times: the units' empirical moments
    are exactly those of independent units with means on_i / (on_i + off_i)."""
    rows = []
    for v in itertools.product((0, 1), repeat=len(on)):
        rows += [v] * int(np.prod([a if x else b for x, a, b in zip(v, on, off, strict=True)]))
    return np.array(rows, dtype=np.uint8)


def independent_heat(means, T):
    """C(T) per neuron of independent units: E = -sum h_i v_i, h_i = logit(m_i), Var_T = sum h^2 p (1 - p)."""
    h = np.log(means / (1 - means))[:, None]
    p = 1 / (1 + np.exp(-h / T))
    return (h * h * p * (1 - p)).sum(0) / (len(means) * T * T)


def test_subsets_of_independent_units_match_the_closed_form():
    on, off = np.array([1, 2, 3, 1, 1]), np.array([3, 2, 1, 4, 2])
    x = independent_frames(on, off)
    result = drain(iter_heat_subsets(x, (3, 5), 3, T, seed=1))
    assert result.sizes == [3, 5] and len(result.curves) == 6
    for units, curve in zip(result.units, result.curves, strict=True):
        means = (on / (on + off))[units]
        np.testing.assert_allclose(curve.C, independent_heat(means, T), rtol=1e-5)


def test_table_and_summary_hold_every_curve_and_the_peak_per_size():
    rng = np.random.default_rng(0)
    common = rng.random((4000, 1)) < 0.3
    x = ((rng.random((4000, 8)) < 0.1) | (common & (rng.random((4000, 8)) < 0.5))).astype(np.uint8)
    result = drain(iter_heat_subsets(x, (6, 3), 2, T))
    table = subsets_table(result)
    assert list(table.columns) == ["N", "draw", "units", "T", "C"] and len(table) == 2 * 2 * len(T)
    assert sorted(set(zip(table["N"], table["draw"], strict=True))) == [(3, 0), (3, 1), (6, 0), (6, 1)]
    summary = subsets_summary(result)
    assert list(summary["sizes"]) == ["3", "6"] and summary["draws"] == 2
    six = result.of_size(6)
    assert summary["sizes"]["6"]["peak_T"] == pytest.approx(np.mean([c.peak_T for c in six]))
    assert summary["sizes"]["6"]["C_at_T1"] == pytest.approx(np.mean([c.C[2] for c in six]))  # T[2] = 1


@pytest.mark.parametrize("sizes, message", [((16,), "subset sizes must be 2 to 8"),
                                            ((1, 3), "got 1, 3"), ((9,), "the raster has 8 units")])
def test_sizes_beyond_enumeration_or_the_units_are_one_line_errors(sizes, message):
    with pytest.raises(NeuroRBMError, match=message):
        drain(iter_heat_subsets(np.zeros((10, 8)), sizes, 1, T))


@pytest.mark.real
def test_the_retina_peak_moves_towards_t1_and_grows_with_n(real_data):
    frames = read_raster(real_data / "tkacik2014_retina50.npz").frames("all")
    summary = subsets_summary(drain(iter_heat_subsets(frames, (5, 15), 3, temperatures(0.5, 2.0, 16))))
    small, large = summary["sizes"]["5"], summary["sizes"]["15"]
    assert 1 <= large["mean_curve_peak_T"] < small["mean_curve_peak_T"]
    assert large["mean_curve_peak_C"] > small["mean_curve_peak_C"]
