"""Two sessions compared at area level: the table on hand-made inputs of known answer, and on synthetic
sessions whose networks are the same (no change found) or differ in one area (that change found)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_neurorbm.analysis.areas import area_coupling_matrix
from napari_neurorbm.analysis.compare import COLUMNS, compare_areas, iter_compare
from napari_neurorbm.analysis.couplings import fields_and_couplings
from napari_neurorbm.analysis.reliability import AreaSpread, replicate_spread
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.model import RBM


def spread(names: list[str], values: np.ndarray) -> AreaSpread:
    return AreaSpread(np.array(names), values, replicate_spread(values))


def test_table_of_hand_made_sessions() -> None:
    # A: areas VISp, VISl, CA1 with replicates J_AB = base and base + 2 (mean base + 1, se 1)
    base_a = np.arange(9.0).reshape(3, 3)
    a = spread(["VISp", "VISl", "CA1"], np.stack([base_a, base_a + 2]))
    # B: areas CA1, VISp, LGd with replicates 10 * base - 1 and 10 * base + 1 (mean 10 base, se 1)
    base_b = np.arange(9.0).reshape(3, 3)
    b = spread(["CA1", "VISp", "LGd"], np.stack([10 * base_b - 1, 10 * base_b + 1]))
    table = compare_areas(a, b)
    assert table.columns.tolist() == COLUMNS
    assert table[["area_1", "area_2"]].values.tolist() == [["VISp", "VISp"], ["VISp", "CA1"], ["CA1", "CA1"]]
    # A's VISp is row 0, CA1 row 2; B's VISp is row 1, CA1 row 0
    np.testing.assert_allclose(table["J_a"], [base_a[0, 0] + 1, base_a[0, 2] + 1, base_a[2, 2] + 1])
    np.testing.assert_allclose(table["J_b"], [10 * base_b[1, 1], 10 * base_b[1, 0], 10 * base_b[0, 0]])
    np.testing.assert_allclose(table["se_a"], 1.0)
    np.testing.assert_allclose(table["se_b"], 1.0)
    np.testing.assert_allclose(table["diff"], table["J_b"] - table["J_a"])
    np.testing.assert_allclose(table["se_diff"], np.sqrt(2))
    np.testing.assert_allclose(table["z"], np.array([40 - 1, 30 - 3, 0 - 9]) / np.sqrt(2))


def test_no_common_area_is_an_error() -> None:
    a = spread(["VISp", "VISl"], np.zeros((2, 2, 2)))
    b = spread(["CA1"], np.zeros((2, 1, 1)))
    with pytest.raises(NeuroRBMError, match=r"no area in common \(A: VISp, VISl; B: CA1\)"):
        compare_areas(a, b)
    with pytest.raises(NeuroRBMError, match="B: none with enough units"):
        compare_areas(a, spread([], np.zeros((2, 0, 0))))


def replicates(truth, rows: np.ndarray, ids: np.ndarray, seed: int, scale: dict[str, float] | None = None
               ) -> list[ModelFile]:
    """Three replicates of a synthetic ground truth: its rows ``rows`` (neurons in that order) with small
    independent noise on W; ``scale`` multiplies the weights of an area's own hidden units on its units."""
    W = truth.W[rows].copy()
    areas = truth.areas[rows]
    for area, factor in (scale or {}).items():
        W[np.ix_(areas == area, truth.hidden_areas == area)] *= factor
    rng = np.random.default_rng(seed)
    meta = {"areas": areas.tolist(), "unit_ids": ids.tolist()}
    return [ModelFile(RBM.from_numpy(W + rng.normal(0, 0.05, W.shape), truth.b[rows], truth.c), meta)
            for _ in range(3)]


@pytest.fixture(scope="module")
def truth():
    return make_synthetic(n_areas=3, units_per_area=12, duration_s=1.0, seed=1)[1]


def compare(a: list[ModelFile], b: list[ModelFile], min_units: int = 10):
    names = [f"r{k}.npz" for k in range(3)]
    return drain(iter_compare(a, b, names, names, min_units, device="cpu")).table


def test_the_same_network_recorded_twice_shows_no_change(truth) -> None:
    n = len(truth.areas)
    a = replicates(truth, np.arange(n), np.arange(n), seed=0)
    order = np.random.default_rng(9).permutation(n)  # other neurons: another order, other ids
    b = replicates(truth, order, 1000 + np.arange(n), seed=1)
    table = compare(a, b)
    assert len(table) == 6 and set(table["area_1"]) == {"VISp", "VISl", "VISal"}
    assert table["z"].abs().max() < 4
    # J_a is the mean over A's replicates of eq. (15)
    J_area = np.mean([area_coupling_matrix(fields_and_couplings(*m.rbm.numpy())[1], truth.areas, 10)[1]
                      for m in a], axis=0)
    np.testing.assert_allclose(table["J_a"], J_area[np.triu_indices(3)], rtol=1e-12)


def test_a_change_in_one_area_is_found(truth) -> None:
    n = len(truth.areas)
    a = replicates(truth, np.arange(n), np.arange(n), seed=0)
    # B: VISl's own hidden units are gone, so within VISl J_AB falls to about zero
    b = replicates(truth, np.arange(n), 1000 + np.arange(n), seed=1, scale={"VISl": 0.0})
    table = compare(a, b).set_index(["area_1", "area_2"])
    visl = table.loc[("VISl", "VISl")]
    assert visl["z"] < -10 and visl["diff"] == pytest.approx(-visl["J_a"], rel=0.2)
    untouched = [k for k in table.index if "VISl" not in k]
    assert table.loc[untouched, "z"].abs().max() < 4


def test_sessions_with_other_areas_are_compared_on_the_common_ones(truth) -> None:
    other = make_synthetic(n_areas=4, units_per_area=12, duration_s=1.0, seed=5)[1]
    n, m = len(truth.areas), len(other.areas)
    table = compare(replicates(truth, np.arange(n), np.arange(n), 0),
                    replicates(other, np.arange(m), np.arange(m), 1))
    assert list(dict.fromkeys(table["area_1"])) == ["VISp", "VISl", "VISal"]  # VISrl is only in B


def test_models_without_areas_cannot_be_compared(truth) -> None:
    n = len(truth.areas)
    a = replicates(truth, np.arange(n), np.arange(n), 0)
    bare = [ModelFile(m.rbm, {}) for m in a]
    with pytest.raises(NeuroRBMError, match=r"session B: r0\.npz has no brain areas in its metadata"):
        compare(a, bare)
    with pytest.raises(NeuroRBMError, match="session A: a spread needs at least 2 model files, got 1"):
        drain(iter_compare(a[:1], a, ["a.npz"], ["r0", "r1", "r2"], 10))
