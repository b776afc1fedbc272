"""``neurorbm couplings`` end to end on a small model file and on replicate model files, and its answers to
bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.areas import area_coupling_matrix
from napari_neurorbm.analysis.couplings import fields_and_couplings, three_body
from napari_neurorbm.cli import main

AREAS = ["VISp"] * 5 + ["CA1"] * 4 + ["LGd"] * 2


def _write_model(path, areas=AREAS, W=None):
    """The agreed model file: npz with W, b, c (float32) and a JSON metadata string."""
    rng = np.random.default_rng(0)
    n = len(AREAS)
    if W is None:
        W = rng.normal(0, 0.5, (n, 3))
        W[:5, 0] += 1.0
    meta = {"bin_s": 0.02} if areas is None else {"areas": list(areas), "bin_s": 0.02}
    np.savez(path, W=W.astype(np.float32), b=np.full(n, -1.5, np.float32), c=np.full(3, -1.0, np.float32),
             metadata=json.dumps(meta))
    return path


def _params(path):
    with np.load(path) as f:
        return f["W"], f["b"], f["c"]


def test_writes_fields_couplings_area_matrix_triplets_and_csv(tmp_path, capsys):
    model = _write_model(tmp_path / "model.npz")
    out, csv = tmp_path / "couplings.npz", tmp_path / "areas.csv"
    assert main(["couplings", str(model), "--min-area-units", "4", "--triplets", "6", "--device", "cpu",
                 "--out", str(out), "--csv", str(csv)]) == 0
    assert "J_area for 2 areas with >= 4 units, 6 triplets" in capsys.readouterr().out
    W, b, c = _params(model)
    H, J = fields_and_couplings(W, b, c)
    with np.load(out) as f:
        np.testing.assert_allclose(f["H"], H, rtol=1e-12)
        np.testing.assert_allclose(f["J"], J, rtol=1e-12, atol=1e-15)
        assert f["area_names"].tolist() == ["VISp", "CA1"]
        np.testing.assert_allclose(f["J_area"], area_coupling_matrix(J, np.array(AREAS), 4)[1], rtol=1e-12)
        assert f["areas"].tolist() == AREAS
        assert f["triplets"].shape == (6, 3) and f["J3"].shape == (6,)
        np.testing.assert_allclose(f["J3"], three_body(W, b, c, f["triplets"]), rtol=1e-12)
        assert np.all(np.diff(np.abs(f["J3"])) <= 0)
    table = pd.read_csv(csv, index_col="area")
    assert table.index.tolist() == ["VISp", "CA1"]
    assert {"n_units", "mean", "skewness", "ei_ratio", "J[VISp]", "J[CA1]"} <= set(table.columns)


def test_without_areas_writes_only_fields_and_couplings(tmp_path):
    model = _write_model(tmp_path / "model.npz", areas=None)
    assert main(["couplings", str(model), "--device", "cpu", "--out", str(tmp_path / "c")]) == 0
    with np.load(tmp_path / "c.npz") as f:
        assert set(f.files) == {"H", "J"}
        assert f["J"].shape == (11, 11)


def test_help_describes_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["couplings", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--min-area-units", "--triplets", "--device", "--csv", "MODEL.npz"):
        assert option in text


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--min-area-units", "0"],
         "--min-area-units: the minimum units per area must be a positive integer, got 0"),
        (["--triplets", "-2"], "--triplets: the number of triplets must be at least 0, got -2"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, extra, message):
    model = _write_model(tmp_path / "model.npz")
    assert main(["couplings", str(model), "--out", str(tmp_path / "o.npz"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorbm couplings: error:") and message in err and "Traceback" not in err


def test_bad_files_are_one_line_errors(tmp_path, capsys):
    out = str(tmp_path / "o.npz")
    assert main(["couplings", str(tmp_path / "missing.npz"), "--out", out]) == 2
    assert "model file not found" in capsys.readouterr().err
    no_areas = _write_model(tmp_path / "plain.npz", areas=None)
    assert main(["couplings", str(no_areas), "--out", out, "--csv", str(tmp_path / "t.csv")]) == 2
    assert "no areas in its metadata" in capsys.readouterr().err
    broken = np.full((11, 3), np.nan)
    assert main(["couplings", str(_write_model(tmp_path / "nan.npz", W=broken)), "--out", out]) == 2
    assert "non-finite" in capsys.readouterr().err
    model = _write_model(tmp_path / "model.npz")
    assert main(["couplings", str(model), "--out", str(tmp_path / "nowhere" / "o.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def _replicates(tmp_path, count=3, **kw):
    """``count`` model files of the same 11 units (weights drawn with seeds 0, 1, ...)."""
    paths = []
    for seed in range(count):
        W = np.random.default_rng(seed).normal(0, 0.5, (len(AREAS), 3))
        W[:5, 0] += 1.0
        paths.append(_write_model(tmp_path / f"rep{seed}.npz", W=W, **kw))
    return paths


def test_replicates_write_mean_spread_and_reliability(tmp_path, capsys):
    paths = _replicates(tmp_path)
    out, csv = tmp_path / "mean.npz", tmp_path / "areas.csv"
    options = ["--min-area-units", "4", "--reliable-t", "2", "--device", "cpu", "--out", str(out),
               "--csv", str(csv)]
    assert main(["couplings", *map(str, paths), *options]) == 0
    said = capsys.readouterr().out
    Js = np.stack([fields_and_couplings(*_params(p))[1] for p in paths])
    mean, std = Js.mean(0), Js.std(0, ddof=1)
    se = std / np.sqrt(3)
    with np.load(out) as f:
        assert int(f["n_replicates"]) == 3
        assert f["replicates"].tolist() == ["rep0.npz", "rep1.npz", "rep2.npz"]
        np.testing.assert_allclose(f["J"], mean, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(f["J_std"], std, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(f["J_se"], se, rtol=1e-12, atol=1e-15)
        off = ~np.eye(len(AREAS), dtype=bool)
        np.testing.assert_allclose(f["J_t"][off], np.abs(mean[off]) / se[off], rtol=1e-9)
        np.testing.assert_array_equal(f["reliable"], f["J_t"] >= 2)
        n_reliable = int(np.triu(f["reliable"], 1).sum())
        per_model = np.stack([area_coupling_matrix(J, np.array(AREAS), 4)[1] for J in Js])
        np.testing.assert_allclose(f["J_area"], per_model.mean(0), rtol=1e-12)
        np.testing.assert_allclose(f["J_area_se"], per_model.std(0, ddof=1) / np.sqrt(3), rtol=1e-12)
        assert f["area_names"].tolist() == ["VISp", "CA1"]
    assert (f"mean H and J over 3 replicate models of 11 units, with their spread; {n_reliable} of 55 pairs "
            "reliable (t >= 2), J_area for 2 areas") in said
    table = pd.read_csv(csv, index_col="area")
    np.testing.assert_allclose(table["se J[CA1]"], per_model.std(0, ddof=1)[:, 1] / np.sqrt(3), rtol=1e-9)


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (lambda tmp: [_replicates(tmp, 1)[0], _write_model(tmp / "other.npz", areas=AREAS[::-1])], [],
         "replicates: other.npz and rep0.npz are not on the same units (unit ids or areas differ from row 0"),
        (lambda tmp: _replicates(tmp, 2), ["--triplets", "3"], "--triplets needs one model file"),
        (lambda tmp: _replicates(tmp, 2, areas=None), ["--csv", "t.csv"], "rep0.npz has no areas in its"),
    ],
    ids=["different units", "triplets", "csv without areas"],
)
def test_bad_replicates_are_one_line_errors(tmp_path, capsys, make, extra, message):
    paths = make(tmp_path)
    assert main(["couplings", *map(str, paths), "--out", str(tmp_path / "o.npz"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("neurorbm couplings: error:")
    assert not (tmp_path / "o.npz").exists()
