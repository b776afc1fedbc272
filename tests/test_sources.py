"""open_source: each kind of path goes to its loader; anything else gets one message listing the kinds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.data import sources
from napari_neurorbm.data.allen import PROJECT
from napari_neurorbm.data.sources import iter_open_source, open_source, source_kind
from napari_neurorbm.data.synthetic import SyntheticTruth, make_synthetic
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain
from nwb_factory import write_nwb


def small_truth() -> tuple[list[np.ndarray], SyntheticTruth]:
    session, truth = make_synthetic(n_areas=2, units_per_area=4, duration_s=20.0)
    return [session.spikes_of(u) for u in range(session.n_units)], truth


def test_nwb(tmp_path):
    trains, truth = small_truth()
    path = write_nwb(tmp_path / "rec.NWB", trains, list(truth.areas), metrics={"snr": list(range(8))})
    assert source_kind(path) == "nwb"
    s = open_source(path)
    assert s.n_units == 8 and s.areas.tolist() == truth.areas.tolist()
    np.testing.assert_allclose(s.spikes_of(5), trains[5])
    assert s.metrics["snr"].tolist() == list(range(8))


def test_binned_npz(tmp_path):
    path = tmp_path / "b.npz"
    np.savez(path, counts=np.eye(3, 5, dtype=np.uint8), bin_s=0.02, areas=np.array(["A", "B", "B"]))
    assert source_kind(path) == "binned"
    s = open_source(path)
    assert s.is_binned and s.counts.shape == (3, 5) and s.areas.tolist() == ["A", "B", "B"]


def test_phy_folder(tmp_path):
    folder = tmp_path / "ks"
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.array([100, 200, 300], dtype=np.uint64))
    np.save(folder / "spike_clusters.npy", np.array([4, 2, 4], dtype=np.int32))
    (folder / "params.py").write_text("sample_rate = 1000.0\n")
    assert source_kind(folder) == "phy"
    s = open_source(str(folder))
    assert s.unit_ids.tolist() == [2, 4]
    np.testing.assert_allclose(s.spikes_of(1), [0.1, 0.3])


def test_local_sources_yield_no_progress(tmp_path):
    path = tmp_path / "b.npz"
    np.savez(path, counts=np.ones((2, 4), np.uint8), bin_s=0.01)
    seen: list[Progress] = []
    s = drain(iter_open_source(path), seen.append)
    assert s.n_units == 2 and seen == []


def local_allen_cache(root: Path, session_id: int, trains: list[np.ndarray], areas: list[str]) -> Path:
    """An Allen VBN cache folder, as allensdk leaves it, with one session already downloaded."""
    project = root / f"{PROJECT}-0.5.0"
    (project / "project_metadata").mkdir(parents=True)
    pd.DataFrame({"ecephys_session_id": [session_id, session_id + 1]}).to_csv(
        project / "project_metadata" / "ecephys_sessions.csv", index=False
    )
    nwb = project / "behavior_ecephys_sessions" / str(session_id) / f"ecephys_session_{session_id}.nwb"
    nwb.parent.mkdir(parents=True)
    write_nwb(nwb, trains, areas)
    return root


def test_allen_cache_opens_a_downloaded_session(tmp_path):
    trains, truth = small_truth()
    root = local_allen_cache(tmp_path / "cache", 1044385384, trains, list(truth.areas))
    assert source_kind(root) == "allen"
    assert source_kind(root / f"{PROJECT}-0.5.0") == "allen"
    s = open_source(root, session_id=1044385384)
    assert s.n_units == 8 and s.areas.tolist() == truth.areas.tolist()
    np.testing.assert_allclose(s.spikes_of(3), trains[3])
    with pytest.raises(NeuroRBMError, match="is an Allen cache: choose a session id"):
        open_source(root)
    with pytest.raises(NeuroRBMError, match="unknown session id 77"):
        open_source(root, session_id=77)


def test_allen_cache_before_any_metadata(tmp_path):
    (tmp_path / f"{PROJECT}_project_manifest_v0.5.0.json").write_text("{}")
    assert source_kind(tmp_path) == "allen"


def test_allen_dispatch_passes_the_session_and_its_progress(tmp_path, monkeypatch):
    calls = []

    class FakeCache:
        def __init__(self, cache_dir):
            calls.append(cache_dir)

        def iter_open(self, session_id, stream):
            calls.append((session_id, stream))
            yield Progress("download", 1, 2, "half")
            yield Progress("download", 2, 2, "done")
            return "the session"

    monkeypatch.setattr(sources, "AllenCache", FakeCache)
    (tmp_path / f"{PROJECT}-0.5.0" / "project_metadata").mkdir(parents=True)
    seen: list[Progress] = []
    assert drain(iter_open_source(tmp_path, session_id=1234), seen.append) == "the session"
    assert calls == [tmp_path, (1234, True)]
    assert [p.done for p in seen] == [1, 2]


def test_missing_path(tmp_path):
    with pytest.raises(NeuroRBMError, match=r"missing\.nwb: no such file or folder"):
        open_source(tmp_path / "missing.nwb")


@pytest.mark.parametrize(
    "make",
    [
        lambda d: (d / "notes.txt").write_text("hi") and d / "notes.txt",
        lambda d: d,
        lambda d: (d / "visual-behavior-neuropixels-0.5.0").mkdir() or d,
        lambda d: np.save(d / "spike_clusters.npy", np.zeros(3, np.int32)) or d,
    ],
)
def test_unknown_sources(tmp_path, make):
    with pytest.raises(NeuroRBMError, match="not a recognised source; expected") as err:
        open_source(make(tmp_path))
    assert "\n" not in str(err.value)
    for kind in ("NWB file", "binned npz", "Kilosort/phy folder", "Allen Visual Behavior Neuropixels cache"):
        assert kind in str(err.value)


def test_session_id_only_for_allen(tmp_path):
    path = tmp_path / "b.npz"
    np.savez(path, counts=np.ones((2, 4), np.uint8), bin_s=0.01)
    with pytest.raises(NeuroRBMError, match="only applies to an Allen cache"):
        open_source(path, session_id=5)

