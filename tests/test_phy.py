"""Kilosort/phy folders: every field that comes back, labels and areas, and every kind of bad folder."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.phy import load_phy, read_params
from napari_neurorbm.errors import NeuroRBMError

RATE = 30000.0
PARAMS = """# written by kilosort
dat_path = 'raw.dat'
n_channels_dat = 4
dtype = 'int16'
offset = 0
sample_rate = 30000.
hp_filtered = False
"""


def write_phy(
    folder: Path,
    samples: np.ndarray,
    clusters: np.ndarray,
    info: str | None = None,
    group: str | None = None,
    params: str = PARAMS,
) -> Path:
    """A phy folder with the given spikes (samples, cluster ids) and optional cluster tables."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "spike_times.npy", np.asarray(samples, dtype=np.uint64).reshape(-1, 1))
    np.save(folder / "spike_clusters.npy", np.asarray(clusters, dtype=np.int32))
    (folder / "params.py").write_text(params)
    if info is not None:
        (folder / "cluster_info.tsv").write_text(info)
    if group is not None:
        (folder / "cluster_group.tsv").write_text(group)
    return folder


def example(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Four clusters (3, 7, 9, 12), spikes interleaved in time as Kilosort writes them; 9 is noise."""
    rng = np.random.default_rng(1)
    samples = np.sort(rng.choice(600_000, size=400, replace=False))
    clusters = rng.choice([3, 7, 9, 12], size=400)
    info = (
        "cluster_id\tAmplitude\tContamPct\tKSLabel\tamp\tch\tdepth\tfr\tgroup\tn_spikes\tBrain_Area\n"
        "3\t40.1\t5.0\tgood\t80.2\t1\t100.0\t3.1\tgood\t90\tVISp\n"
        "7\t30.5\t60.0\tmua\t60.0\t2\t200.0\t2.0\t\t100\tCA1\n"
        "9\t10.0\t99.0\tmua\t10.0\t3\t300.0\t1.0\tnoise\t110\tVISp\n"
        "12\t22.0\t12.0\tgood\t44.0\t0\t50.0\t4.0\t\t100\t\n"
    )
    return write_phy(tmp_path / "sorted", samples, clusters, info=info), samples, clusters


def test_fields_come_back(tmp_path):
    folder, samples, clusters = example(tmp_path)
    with pytest.warns(UserWarning, match="dropped 1 clusters labelled noise"):
        s = load_phy(folder)
    assert s.name == "sorted"
    assert s.unit_ids.tolist() == [3, 7, 12]
    assert s.areas.tolist() == ["VISp", "CA1", "unknown"]
    for row, cid in enumerate(s.unit_ids):
        np.testing.assert_array_equal(s.spikes_of(row), np.sort(samples[clusters == cid]) / RATE)
    assert s.metrics["label"].tolist() == ["good", "mua", "good"]  # empty phy group falls back to KSLabel
    np.testing.assert_allclose(s.metrics["contampct"], [5.0, 60.0, 12.0])
    np.testing.assert_allclose(s.metrics["depth"], [100.0, 200.0, 50.0])
    np.testing.assert_allclose(s.metrics["n_spikes"], [90, 100, 100])
    assert "kslabel" not in s.metrics.columns and "brain_area" not in s.metrics.columns
    assert s.start_s == 0.0
    assert s.stop_s == pytest.approx(samples[clusters != 9].max() / RATE + 1 / RATE)


def test_noise_kept_on_request(tmp_path):
    folder, samples, _ = example(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = load_phy(folder, drop_noise=False)
    assert s.unit_ids.tolist() == [3, 7, 9, 12]
    assert s.metrics["label"].tolist() == ["good", "mua", "noise", "good"]
    assert s.spike_counts().sum() == len(samples)


def test_cluster_group_overrides_and_no_area(tmp_path):
    samples = np.arange(0, 3000, 100)
    clusters = np.tile([1, 2, 5], 10)
    group = "cluster_id\tgroup\n1\tgood\n2\tnoise\n"
    s = load_phy(write_phy(tmp_path / "f", samples, clusters, group=group), drop_noise=False)
    assert s.metrics["label"].tolist() == ["good", "noise", "unsorted"]
    assert set(s.areas) == {"unknown"}
    assert s.metrics.columns.tolist() == ["label"]


def test_kslabel_file_and_location_column(tmp_path):
    folder = write_phy(
        tmp_path / "f",
        [10, 20, 30, 40],
        [0, 1, 0, 1],
        info="id\tLOCATION\tfr\n0\tLGd\t1.5\n1\tLP\t2.5\n",
    )
    (folder / "cluster_KSLabel.tsv").write_text("cluster_id\tKSLabel\n0\tgood\n1\tmua\n")
    s = load_phy(folder)
    assert s.areas.tolist() == ["LGd", "LP"]
    assert s.metrics["label"].tolist() == ["good", "mua"]
    np.testing.assert_allclose(s.metrics["fr"], [1.5, 2.5])


def test_span_from_raw_file(tmp_path):
    folder = write_phy(tmp_path / "f", [10, 20], [0, 0])
    (folder / "raw.dat").write_bytes(bytes(2 * 4 * 60_000))  # int16, 4 channels, 2 s at 30 kHz
    assert load_phy(folder).stop_s == pytest.approx(2.0)


def test_params_are_not_executed(tmp_path):
    marker = tmp_path / "ran"
    params = f"sample_rate = 20000\nopen({str(marker)!r}, 'w')\ndat_path = __import__('os').getcwd()\n"
    path = tmp_path / "params.py"
    path.write_text(params)
    assert read_params(path) == {"sample_rate": 20000}
    assert not marker.exists()


def test_binarizes(tmp_path):
    folder, samples, clusters = example(tmp_path)
    with pytest.warns(UserWarning):
        s = load_phy(folder)
    r = binarize(s, BinningParams(bin_ms=100))
    assert r.areas.tolist() == ["CA1", "VISp", "unknown"]
    assert r.n_frames == int(s.stop_s / 0.1)  # only whole bins
    for row, cid in enumerate(r.unit_ids):
        frames = np.unique(samples[clusters == cid] // 3000)
        frames = frames[frames < r.n_frames]
        assert np.flatnonzero(r.binary[row]).tolist() == frames.tolist()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "spike_times.npy").unlink(), "not a Kilosort/phy folder"),
        (lambda f: (f / "params.py").unlink(), "no params.py"),
        (lambda f: (f / "params.py").write_text("dtype = 'int16'\n"), "no positive sample_rate"),
        (lambda f: (f / "params.py").write_text("sample_rate = -5\n"), "no positive sample_rate"),
        (lambda f: (f / "params.py").write_text("sample_rate = (\n"), "params.py is not readable"),
        (lambda f: np.save(f / "spike_clusters.npy", np.zeros(3, np.int32)), "has 400 spikes but"),
        (lambda f: np.save(f / "spike_clusters.npy", np.zeros(400)), "cluster ids must be integers"),
        (lambda f: (f / "spike_clusters.npy").unlink(), "no spike_clusters.npy"),
        (lambda f: (f / "spike_times.npy").write_bytes(b"\x93NUMPY garbage"), "not a readable npy"),
        (lambda f: np.save(f / "spike_times.npy", np.zeros((400, 2))), "must be a numeric vector"),
        (lambda f: (f / "cluster_info.tsv").write_text("name\tgroup\na\tgood\n"), "no cluster_id column"),
        (lambda f: (f / "cluster_info.tsv").write_text("id\tgroup\n3\tgood\n3\tmua\n"), "repeated cluster"),
    ],
)
def test_bad_folder(tmp_path, damage, message):
    folder, _, _ = example(tmp_path)
    damage(folder)
    with pytest.raises(NeuroRBMError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_phy(folder)


def test_not_a_folder_and_empty(tmp_path):
    with pytest.raises(NeuroRBMError, match="no such folder"):
        load_phy(tmp_path / "missing")
    with pytest.raises(NeuroRBMError, match="no spike"):
        load_phy(write_phy(tmp_path / "empty", [], []))
    group = "cluster_id\tgroup\n0\tnoise\n"
    with pytest.raises(NeuroRBMError, match="all 1 clusters are labelled noise"):
        load_phy(write_phy(tmp_path / "noise", [1, 2], [0, 0], group=group))
