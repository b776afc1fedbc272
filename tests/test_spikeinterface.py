"""SpikeInterface sorting and SortingAnalyzer folders, made with spikeinterface's own generators, saved and
read back through sources.py and the CLI: every field of the Session, and each bad input as one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

si = pytest.importorskip(
    "spikeinterface.core", reason="spikeinterface is not installed (pip install '.[spikeinterface]')"
)

from napari_neurorbm.cli import main  # noqa: E402
from napari_neurorbm.data.sources import open_source, source_kind  # noqa: E402
from napari_neurorbm.data.spikeinterface import WIDTH_METRIC  # noqa: E402
from napari_neurorbm.errors import NeuroRBMError  # noqa: E402

RATE = 20_000.0
SECONDS = 8.0
AREAS = ["VISp", "VISp", " CA1 ", "", "LGd", "CA1"]
QUALITY = ["firing_rate", "snr", "isi_violation"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A saved sorting, an analyzer with quality and template metrics, one with templates only, and a
    saved recording (not a source)."""
    root = tmp_path_factory.mktemp("si")
    recording, sorting = si.generate_ground_truth_recording(
        durations=[SECONDS], sampling_frequency=RATE, num_channels=8, num_units=len(AREAS), seed=1
    )
    sorting.set_property("brain_area", AREAS)
    sorting.set_property("depth_um", np.arange(len(AREAS)) * 20.0)
    sorting.save(folder=root / "sorting")
    full = si.create_sorting_analyzer(sorting, recording, format="binary_folder", folder=root / "analyzer",
                                      sparse=False)
    full.compute(["random_spikes", "templates", "noise_levels"])
    full.compute("quality_metrics", metric_names=QUALITY)
    full.compute("template_metrics", metric_names=["peak_to_trough_duration"])
    bare = si.create_sorting_analyzer(sorting, recording, format="zarr", folder=root / "templates_only.zarr",
                                      sparse=False)
    bare.compute(["random_spikes", "templates"])
    si.generate_recording(num_channels=2, durations=[0.1], seed=0).save(folder=root / "recording")
    return {"sorting": root / "sorting", "analyzer": root / "analyzer", "bare": root / "templates_only.zarr",
            "recording": root / "recording", "truth": sorting, "full": full}


def check_spikes(session, sorting) -> None:
    assert session.unit_ids.tolist() == list(sorting.unit_ids)
    for row, unit in enumerate(sorting.unit_ids):
        np.testing.assert_array_equal(session.spikes_of(row), sorting.get_unit_spike_train(unit) / RATE)
    assert session.start_s == 0.0 and session.spike_times.dtype == np.float64


def test_a_sorting_folder_gives_spike_times_in_seconds_areas_and_numeric_properties(folders) -> None:
    assert source_kind(folders["sorting"]) == "spikeinterface"
    session = open_source(folders["sorting"])
    check_spikes(session, folders["truth"])
    assert session.name == "sorting" and session.source == str(folders["sorting"])
    assert session.areas.tolist() == ["VISp", "VISp", "CA1", "unknown", "LGd", "CA1"]
    assert session.metrics.columns.tolist() == ["depth_um"]  # ids and unit locations are left out
    assert session.metrics["depth_um"].tolist() == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    assert session.stop_s == session.spike_times.max()  # without a recording: to the last spike


def test_an_analyzer_folder_adds_quality_metrics_waveform_widths_and_the_recording_span(folders) -> None:
    session = open_source(folders["analyzer"])
    check_spikes(session, folders["truth"])
    assert session.areas.tolist() == ["VISp", "VISp", "CA1", "unknown", "LGd", "CA1"]
    assert session.stop_s == SECONDS
    quality = folders["full"].get_extension("quality_metrics").get_data()
    for name in quality.columns:
        np.testing.assert_allclose(session.metrics[name], quality[name].to_numpy(np.float64))
    widths = folders["full"].get_extension("template_metrics").get_data()["peak_to_trough_duration"]
    np.testing.assert_allclose(session.metrics[WIDTH_METRIC], widths.to_numpy() * 1e3)
    assert session.metrics[WIDTH_METRIC].between(0.05, 2.0).all()  # ms, as spikes are


def test_widths_are_computed_from_templates_without_writing_the_folder(folders) -> None:
    before = sorted(p.relative_to(folders["bare"]) for p in folders["bare"].rglob("*"))
    session = open_source(folders["bare"])
    assert sorted(p.relative_to(folders["bare"]) for p in folders["bare"].rglob("*")) == before
    check_spikes(session, folders["truth"])
    loaded = si.load(folders["bare"], load_extensions=False)  # as a user's script reads the folder
    ours = loaded.compute("template_metrics", metric_names=["peak_to_trough_duration"], save=False)
    widths = ours.get_data()["peak_to_trough_duration"]
    np.testing.assert_allclose(session.metrics[WIDTH_METRIC], widths.to_numpy() * 1e3)


def test_cli_binarize_reads_an_analyzer(folders, tmp_path, capsys) -> None:
    out = tmp_path / "r.npz"
    assert main(["binarize", str(folders["analyzer"]), "--bin-ms", "50", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "source   analyzer: 6 units in 4 areas (8 s of spike times)" in text
    with np.load(out) as z:
        assert int(z["n_frames"]) == 160


def without_rate(folder: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "no_rate"
    shutil.copytree(folder, copy)
    info = copy / "numpysorting_info.json"
    data = json.loads(info.read_text())
    data.pop("sampling_frequency")
    info.write_text(json.dumps(data))
    return copy


def two_segments(_: Path, tmp_path: Path) -> Path:
    sorting = si.generate_sorting(num_units=3, sampling_frequency=RATE, durations=[2.0, 3.0], seed=0)
    sorting.save(folder=tmp_path / "two")
    return tmp_path / "two"


BAD = [
    ("no sampling frequency", "sorting", without_rate,
     "no_rate: the sorting has no sampling frequency, so its spike times (in samples) cannot be put in"),
    ("two segments", "sorting", two_segments, "two: the sorting has 2 segments; only one-segment sortings"),
    ("a recording", "recording", lambda f, _: f, "recording: holds a SpikeInterface"),
]


@pytest.mark.parametrize(("which", "make", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_folders_are_one_line(folders, tmp_path, capsys, which, make, message) -> None:
    folder = make(folders[which], tmp_path)
    with pytest.raises(NeuroRBMError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_source(folder)
    assert main(["binarize", str(folder), "--out", str(tmp_path / "r.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorbm binarize: error: ") and err.count("\n") == 1


def test_without_spikeinterface_the_message_says_how_to_install_it(folders, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "spikeinterface.core", None)
    with pytest.raises(NeuroRBMError, match=r"needs spikeinterface: pip install 'napari-neurorbm\[spikeint"):
        open_source(folders["sorting"])
