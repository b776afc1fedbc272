"""``neurorbm compare`` end to end on two synthetic sessions (one area's couplings removed in B), and its
one-line answers to bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.compare import COLUMNS
from napari_neurorbm.cli import main
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.rbm.io import save_model
from test_compare import replicates


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """Model files: A (3 replicates of a synthetic network), B (the same network on other neurons without
    VISl's own hidden units), C (other areas than A's), and one file on other units than A's."""
    truth = make_synthetic(n_areas=3, units_per_area=12, duration_s=1.0, seed=1)[1]
    folder, n = tmp_path_factory.mktemp("compare"), len(truth.areas)
    sides = {"a": replicates(truth, np.arange(n), np.arange(n), 0),
             "b": replicates(truth, np.arange(n), 1000 + np.arange(n), 1, scale={"VISl": 0.0}),
             "c": replicates(truth, np.arange(n), np.arange(n), 2)}
    for model in sides["c"]:
        model.metadata["areas"] = [{"VISp": "CA1", "VISl": "CA3", "VISal": "DG"}[a] for a in truth.areas]
    paths = {side: [str(save_model(folder / f"{side}{k}.npz", m.rbm, m.metadata))
                    for k, m in enumerate(models)] for side, models in sides.items()}
    other = replicates(truth, np.arange(n)[::-1], np.arange(n)[::-1], 3)[0]
    paths["other"] = [str(save_model(folder / "other.npz", other.rbm, other.metadata))]
    return paths, folder


def test_compares_the_sessions_area_by_area(sessions, capsys):
    paths, folder = sessions
    out = folder / "table.csv"
    args = ["compare", "--a", *paths["a"], "--b", *paths["b"], "--min-area-units", "10", "--device", "cpu"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    table = pd.read_csv(out)
    assert table.columns.tolist() == COLUMNS and len(table) == 6
    assert summary["areas"] == ["VISp", "VISl", "VISal"] and summary["area_pairs"] == 6
    assert summary["replicates_a"] == summary["replicates_b"] == 3 and summary["z_limit"] == 3
    visl = table.set_index(["area_1", "area_2"]).loc[("VISl", "VISl")]
    assert visl["z"] < -10 and summary["changed"] == int((table["z"].abs() >= 3).sum()) >= 1
    np.testing.assert_allclose(pd.DataFrame(summary["table"])["z"], table["z"])
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "area_1 area_2" in text
    assert "6 area pairs over 3 areas with >= 10 units in both sessions (3 and 3 replicates)" in text


@pytest.mark.parametrize(
    "sides, message",
    [
        (("one", "b"), "session A: a spread needs at least 2 model files, got 1"),
        (("a", "b+other"), "session B: other.npz and b0.npz are not on the same units (unit ids or areas"),
        (("a", "c"), "the two sessions have no area in common (A: VISp, VISl, VISal; B: CA1, CA3, DG)"),
    ],
    ids=["one replicate", "different units", "no common area"],
)
def test_bad_input_is_one_line(sessions, capsys, sides, message):
    paths, folder = sessions
    files = {"a": paths["a"], "b": paths["b"], "c": paths["c"], "one": paths["a"][:1],
             "b+other": paths["b"][:2] + paths["other"]}
    out = folder / "bad.csv"
    code = main(["compare", "--a", *files[sides[0]], "--b", *files[sides[1]], "--min-area-units", "10",
                 "--device", "cpu", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("neurorbm compare: error:") and not out.exists()
