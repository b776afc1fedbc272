"""Area-level couplings (analysis/areas.py): eq. (15), per-area statistics, the CSV table; known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.areas import (
    area_coupling_matrix,
    area_coupling_stats,
    area_groups,
    area_table,
    skewness,
    within_area_couplings,
    within_area_pairs,
    write_area_csv,
)
from napari_neurorbm.errors import NeuroRBMError

# Areas interleaved on purpose: groups follow first appearance along the rows, not alphabetical order.
AREAS = np.array(["VISp", "CA1", "VISp", "CA1", "VISp", "LGd"])


def _J() -> np.ndarray:
    rng = np.random.default_rng(0)
    J = rng.normal(size=(6, 6))
    J = J + J.T
    np.fill_diagonal(J, 100.0)  # the diagonal must never enter eq. (15)
    return J


def _eq15_by_loops(J, areas, a, b):
    total, count = 0.0, 0
    for i in np.flatnonzero(areas == a):
        for j in np.flatnonzero(areas == b):
            if i != j:
                total += J[i, j]
                count += 1
    return total / count


def test_area_groups_follow_row_order_and_drop_small_areas():
    groups = area_groups(AREAS, min_units=1)
    assert [name for name, _ in groups] == ["VISp", "CA1", "LGd"]
    np.testing.assert_array_equal(groups[0][1], [0, 2, 4])
    assert [name for name, _ in area_groups(AREAS, min_units=2)] == ["VISp", "CA1"]
    assert area_groups(AREAS, min_units=4) == []


def test_area_matrix_is_eq15():
    J = _J()
    names, J_area = area_coupling_matrix(J, AREAS, min_units=2)
    assert names.tolist() == ["VISp", "CA1"]
    for r, a in enumerate(names):
        for col, b in enumerate(names):
            assert J_area[r, col] == pytest.approx(_eq15_by_loops(J, AREAS, a, b), rel=1e-12)
    np.testing.assert_allclose(J_area, J_area.T, rtol=1e-12)
    # the known value for one block, by hand: VISp = rows 0, 2, 4 has 3 * 2 ordered pairs
    assert J_area[0, 0] == pytest.approx((J[0, 2] + J[0, 4] + J[2, 4]) * 2 / 6)


def test_one_unit_area_has_no_within_area_value():
    names, J_area = area_coupling_matrix(_J(), AREAS, min_units=1)
    assert names[-1] == "LGd"
    assert np.isnan(J_area[-1, -1])
    assert np.isfinite(J_area[:-1, :]).all() and np.isfinite(J_area[-1, :-1]).all()


def test_within_area_values_and_pairs():
    J = _J()
    vals = within_area_couplings(J, AREAS, min_units=2)
    np.testing.assert_array_equal(vals["VISp"], [J[0, 2], J[0, 4], J[2, 4]])
    np.testing.assert_array_equal(vals["CA1"], [J[1, 3]])
    pairs = within_area_pairs(AREAS, min_units=2)
    np.testing.assert_array_equal(pairs["VISp"], [[0, 2], [0, 4], [2, 4]])
    big = np.repeat(["A"], 40)
    few = within_area_pairs(big, min_units=2, max_pairs=50, seed=3)["A"]
    assert few.shape == (50, 2) and len(np.unique(few, axis=0)) == 50 and (few[:, 0] < few[:, 1]).all()


def test_skewness_known_values():
    assert skewness(np.array([0.0, 0.0, 3.0])) == pytest.approx(2 / 2**1.5)
    assert skewness(np.array([1.0, 2.0, 3.0])) == pytest.approx(0.0, abs=1e-15)
    assert np.isnan(skewness(np.array([2.0, 2.0])))
    assert np.isnan(skewness(np.array([1.0])))


def test_area_stats_count_signs_and_skewness():
    J = np.zeros((6, 6))
    visp = [0, 2, 4]
    for (i, j), v in zip([(0, 2), (0, 4), (2, 4)], [0.0, 0.0, 3.0], strict=True):
        J[i, j] = J[j, i] = v
    J[1, 3] = J[3, 1] = -0.5
    J[0, 1] = J[1, 0] = 7.0  # between areas: not in either area's statistics
    stats = area_coupling_stats(J, AREAS, min_units=2).set_index("area")
    assert stats.loc["VISp", "n_units"] == len(visp) and stats.loc["VISp", "n_pairs"] == 3
    assert stats.loc["VISp", "mean"] == pytest.approx(1.0)
    assert stats.loc["VISp", "skewness"] == pytest.approx(2 / 2**1.5)
    assert stats.loc["VISp", "n_positive"] == 1 and stats.loc["VISp", "n_negative"] == 0
    assert stats.loc["VISp", "ei_ratio"] == np.inf
    assert stats.loc["CA1", "ei_ratio"] == 0.0
    J[0, 2] = J[2, 0] = -1.0
    J[0, 4] = J[4, 0] = 2.0
    assert area_coupling_stats(J, AREAS, 2).set_index("area").loc["VISp", "ei_ratio"] == 2.0


def test_area_table_and_csv_round_trip(tmp_path):
    J = _J()
    table = area_table(J, AREAS, min_units=2)
    names, J_area = area_coupling_matrix(J, AREAS, min_units=2)
    assert table.index.tolist() == names.tolist()
    np.testing.assert_allclose(table[["J[VISp]", "J[CA1]"]].to_numpy(), J_area)
    path = write_area_csv(tmp_path / "areas.csv", J, AREAS, min_units=2)
    back = pd.read_csv(path, index_col="area")
    assert back.index.tolist() == ["VISp", "CA1"]
    np.testing.assert_allclose(back["J[CA1]"].to_numpy(), J_area[:, 1], rtol=1e-12)
    np.testing.assert_allclose(back["skewness"].to_numpy(), table["skewness"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: area_coupling_matrix(np.zeros((6, 5)), AREAS), "square"),
        (lambda: area_coupling_matrix(np.zeros((5, 5)), AREAS), "6 area labels for 5 units"),
        (lambda: area_coupling_stats(np.zeros((6, 6)), AREAS, min_units=0), "at least 1"),
        (lambda: write_area_csv("/nonexistent/dir/t.csv", np.zeros((6, 6)), AREAS, 1), "cannot write"),
    ],
)
def test_bad_input_is_a_one_line_error(call, message):
    with pytest.raises(NeuroRBMError, match=message):
        call()
