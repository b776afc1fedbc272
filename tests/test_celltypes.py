"""Putative E/I classes from spike waveform widths: every source that gives widths (NWB column, Allen units
table, phy cluster table or templates), the threshold, the note on units without a width, the raster file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from local_http import refused_url
from napari_neurorbm.cli import main
from napari_neurorbm.data.allen import PROJECT, AllenCache
from napari_neurorbm.data.binned import write_binned_npz
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.celltypes import classify, describe_classes
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.data.phy import load_phy
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.data.sources import open_source
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.data.templates import trough_to_peak_ms
from nwb_factory import write_nwb
from test_phy import RATE, write_phy

TRAINS = [np.array([0.5, 1.0, 2.5]), np.array([0.2, 3.0]), np.array([1.5, 2.0]), np.array([0.1, 2.9])]
PARAMS = BinningParams(bin_ms=100.0)


def test_narrow_units_are_inhibitory_at_the_threshold_they_are_excitatory() -> None:
    widths = np.array([0.2, 0.4, 0.39, np.nan, 0.9])
    assert classify(widths, 0.4, 5).tolist() == ["I", "E", "I", "unknown", "E"]
    assert classify(widths, 1.0, 5).tolist() == ["I", "I", "I", "unknown", "I"]
    assert classify(None, 0.4, 2).tolist() == ["unknown", "unknown"]
    assert describe_classes(classify(widths, 0.4, 5)) == "E 2, I 2, unknown 1"
    assert describe_classes(classify(None, 0.4, 2)) == ""


def test_nwb_column_gives_widths_and_units_without_one_are_named_in_one_note(tmp_path: Path) -> None:
    path = write_nwb(tmp_path / "rec.nwb", TRAINS, ["VISp"] * 4, unit_ids=[11, 12, 13, 14],
                     metrics={"waveform_duration": [0.25, np.nan, 0.7, 0.55]})
    session = load_nwb(path)
    np.testing.assert_allclose(session.waveform_ms, [0.25, np.nan, 0.7, 0.55])
    with pytest.warns(UserWarning) as caught:
        raster = binarize(session, PARAMS)
    notes = [str(w.message) for w in caught if "E/I" in str(w.message)]
    assert notes == ["E/I: 1 of 4 units have no waveform width, their class is unknown (unit ids 12); the "
                     "others are classified"]
    by_id = dict(zip(raster.unit_ids.tolist(), raster.classes.tolist(), strict=True))
    assert by_id == {11: "I", 12: "unknown", 13: "E", 14: "E"}


def test_a_source_without_widths_gets_no_note_and_no_class(tmp_path: Path) -> None:
    session = load_nwb(write_nwb(tmp_path / "rec.nwb", TRAINS, ["VISp"] * 4))
    assert session.waveform_ms is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raster = binarize(session, PARAMS)
    assert set(raster.classes) == {"unknown"} and np.isnan(raster.waveform_ms).all()


def allen_cache(root: Path, nwb_widths: list[float] | None) -> Path:
    """An Allen cache folder in allensdk's layout with one downloaded session (unit ids 7, 8, 9, 10) and a
    units table whose waveform_duration differs from the NWB file's where both have one."""
    sid = 1044385384
    project = root / f"{PROJECT}-0.5.0"
    meta = project / "project_metadata"
    meta.mkdir(parents=True)
    pd.DataFrame({"ecephys_session_id": [sid], "unit_count": [4]}).to_csv(meta / "ecephys_sessions.csv",
                                                                           index=False)
    pd.DataFrame({"unit_id": [10, 9, 8, 7, 99], "ecephys_session_id": [sid] * 5,
                  "structure_acronym": ["VISp"] * 5, "waveform_duration": [0.3, np.nan, 0.8, 0.6, 0.2]}
                 ).to_csv(meta / "units.csv", index=False)
    nwb = project / "behavior_ecephys_sessions" / str(sid) / f"ecephys_session_{sid}.nwb"
    nwb.parent.mkdir(parents=True)
    metrics = None if nwb_widths is None else {"waveform_duration": nwb_widths}
    write_nwb(nwb, TRAINS, ["VISp"] * 4, unit_ids=[7, 8, 9, 10], metrics=metrics)
    return root


def test_allen_widths_come_from_the_units_table_where_the_session_file_has_none(tmp_path: Path) -> None:
    cache = AllenCache(allen_cache(tmp_path / "cache", None), base_url=refused_url())
    session = cache.open(1044385384, download=False)
    np.testing.assert_allclose(session.waveform_ms, [0.6, 0.8, np.nan, 0.3])  # units 7, 8, 9, 10
    cache = AllenCache(allen_cache(tmp_path / "other", [0.45, np.nan, np.nan, 0.35]), base_url=refused_url())
    session = cache.open(1044385384, download=False)
    np.testing.assert_allclose(session.waveform_ms, [0.45, 0.8, np.nan, 0.35])  # the file's own first


def spike_shape(trough: int, gap: int, samples: int = 61) -> np.ndarray:
    """A spike-like waveform: a trough at sample ``trough`` and its peak ``gap`` samples later."""
    t = np.arange(samples)
    return -np.exp(-0.5 * ((t - trough) / 1.5) ** 2) + 0.4 * np.exp(-0.5 * ((t - trough - gap) / 3.0) ** 2)


def test_trough_to_peak_is_measured_on_the_largest_channel() -> None:
    waves = np.zeros((2, 61, 3))
    waves[0, :, 1] = 5 * spike_shape(20, 9)  # 9 samples at 30 kHz: 0.3 ms
    waves[0, :, 2] = spike_shape(20, 30)  # a smaller channel with another shape
    waves[1, :, 0] = 3 * spike_shape(25, 18)  # 0.6 ms
    np.testing.assert_allclose(trough_to_peak_ms(waves, RATE), [0.3, 0.6])
    assert np.isnan(trough_to_peak_ms(np.zeros((1, 61, 2)), RATE)).all()


def phy_with_templates(folder: Path, info: str | None = None) -> Path:
    """Clusters 0, 1, 2 of templates 0 (0.3 ms), 1 (0.6 ms) and 2 (0.5 ms); cluster 4 merged from templates 1
    (most of its spikes) and 0; the templates are whitened: the inverse whitening matrix scales channel 0 up
    so that, unwhitened, template 1's largest channel is channel 0 (0.6 ms), not channel 2 (0.2 ms)."""
    templates = np.zeros((3, 61, 3), dtype=np.float32)
    templates[0, :, 1] = spike_shape(20, 9)
    templates[1, :, 0] = spike_shape(20, 18)
    templates[1, :, 2] = 2 * spike_shape(20, 6)
    templates[2, :, 2] = spike_shape(20, 15)
    spike_templates = np.array([0, 1, 2, 1, 1, 0, 0, 1, 2, 1])
    clusters = np.array([0, 1, 2, 4, 4, 0, 4, 1, 2, 1])
    folder = write_phy(folder, np.arange(10) * 3000, clusters, info=info)
    np.save(folder / "templates.npy", templates)
    np.save(folder / "spike_templates.npy", spike_templates.astype(np.uint32))
    np.save(folder / "whitening_mat_inv.npy", np.diag([4.0, 1.0, 1.0]))
    return folder


def test_phy_widths_from_templates_known_by_construction(tmp_path: Path) -> None:
    session = load_phy(phy_with_templates(tmp_path / "sorted"))
    assert session.unit_ids.tolist() == [0, 1, 2, 4]
    np.testing.assert_allclose(session.waveform_ms, [0.3, 0.6, 0.5, 0.6])
    classes = binarize(session, PARAMS.replace(ei_threshold_ms=0.55)).classes
    assert sorted(classes) == ["E", "E", "I", "I"]


def test_phy_cluster_table_column_comes_first_templates_fill_its_gaps(tmp_path: Path) -> None:
    info = "cluster_id\twaveform_duration\n0\t0.9\n1\t\n2\t0.2\n4\t0.25\n"
    session = load_phy(phy_with_templates(tmp_path / "sorted", info))
    np.testing.assert_allclose(session.waveform_ms, [0.9, 0.6, 0.2, 0.25])
    plain = write_phy(tmp_path / "plain", np.arange(4) * 3000, np.array([0, 1, 0, 1]), info=info[:27] + "\n")
    assert load_phy(plain).waveform_ms is None


def test_a_broken_templates_file_is_a_note_not_an_error(tmp_path: Path) -> None:
    folder = phy_with_templates(tmp_path / "sorted")
    np.save(folder / "templates.npy", np.zeros(5))
    with pytest.warns(UserWarning, match="templates.npy is not templates x samples x channels"):
        assert load_phy(folder).waveform_ms is None


def test_the_raster_file_keeps_classes_and_widths_older_files_still_read(tmp_path: Path) -> None:
    session, _ = make_synthetic(n_areas=2, units_per_area=10, duration_s=20.0)
    raster = binarize(session, BinningParams())
    assert describe_classes(raster.classes) == "E 16, I 4"
    back = read_raster(raster.save(tmp_path / "r.npz"))
    assert back.classes.tolist() == raster.classes.tolist()
    np.testing.assert_array_equal(back.waveform_ms, raster.waveform_ms)
    again = binarize(open_source(tmp_path / "r.npz"), BinningParams(bin_ms=None, ei_threshold_ms=0.1))
    assert set(again.classes) == {"E"}  # the widths travel: another threshold reclassifies
    write_binned_npz(tmp_path / "old.npz", raster.counts, bin_s=np.float64(0.02), areas=raster.areas)
    old = read_raster(tmp_path / "old.npz")
    assert set(old.classes) == {"unknown"} and np.isnan(old.waveform_ms).all()


def test_cli_binarize_prints_the_classes_and_takes_the_threshold(tmp_path: Path, capsys) -> None:
    path = write_nwb(tmp_path / "rec.nwb", TRAINS, ["VISp"] * 4,
                     metrics={"waveform_duration": [0.25, 0.3, 0.7, 0.55]})
    assert main(["binarize", str(path), "--bin-ms", "100", "--out", str(tmp_path / "r.npz")]) == 0
    assert "classes  E 2, I 2 (I: spike waveform narrower than 0.4 ms)" in capsys.readouterr().out
    args = ["binarize", str(path), "--bin-ms", "100", "--ei-threshold-ms"]
    assert main([*args, "0.6", "--out", str(tmp_path / "r")]) == 0
    assert "classes  E 1, I 3" in capsys.readouterr().out
    assert main([*args, "-1", "--out", str(tmp_path / "r")]) == 2
    assert "--ei-threshold-ms: the E/I threshold must be positive, got -1.0" in capsys.readouterr().err


@pytest.mark.real
def test_the_real_recordings_carry_no_waveform_width(real_data: Path) -> None:
    for path in sorted(real_data.glob("*.npz")):
        raster = binarize(open_source(path), BinningParams(bin_ms=None))
        assert set(raster.classes) == {"unknown"}, path.name
