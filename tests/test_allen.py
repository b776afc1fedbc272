"""Allen VBN cache folders: session table, downloads from a local server in the bucket layout, errors, CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from local_http import FileServer, refused_url
from napari_neurorbm.cli import main
from napari_neurorbm.data.allen import PROJECT, AllenCache
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from nwb_factory import write_nwb

S3 = "https://visual-behavior-neuropixels-data.s3.us-west-2.amazonaws.com"
MANIFEST = f"{PROJECT}_project_manifest_v0.5.0.json"
SESSIONS = pd.DataFrame(
    {
        "ecephys_session_id": [1044385384, 1044594870, 1099999999],
        "behavior_session_id": [1, 2, 3],
        "mouse_id": [524761, 524761, 530000],
        "genotype": ["wt/wt", "wt/wt", "Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt"],
        "experience_level": ["Familiar", "Novel", "Familiar"],
        "unit_count": [3, 2, 7],
        "file_id": [10, 11, 12],
    }
)
UNITS = pd.DataFrame(
    {
        "unit_id": [1, 2, 3, 4, 5],
        "ecephys_session_id": [1044385384] * 3 + [1044594870] * 2,
        "structure_acronym": ["VISp", "CA1", "VISp", np.nan, "LGd"],
        "snr": [2.0, 3.0, 4.0, 1.0, 2.0],
    }
)
TRAINS = [np.array([0.5, 1.0, 2.5]), np.array([0.2, 3.0]), np.array([1.5])]


def hashed(path: Path) -> dict:
    return {"version_id": "v" + path.name[:6], "file_hash": hashlib.blake2b(path.read_bytes()).hexdigest()}


def bucket(root: Path, sessions: tuple[int, ...] = (1044385384,)) -> Path:
    """A release in the bucket's layout, with a manifest whose urls point at S3 as the real one does."""
    project = root / PROJECT
    meta = project / "project_metadata"
    meta.mkdir(parents=True)
    SESSIONS.to_csv(meta / "ecephys_sessions.csv", index=False)
    UNITS.to_csv(meta / "units.csv", index=False)
    data = {}
    for i, sid in enumerate(sessions):
        nwb = project / "behavior_ecephys_sessions" / str(sid) / f"ecephys_session_{sid}.nwb"
        nwb.parent.mkdir(parents=True)
        write_nwb(nwb, TRAINS, ["VISp", "CA1", "VISp"], metrics={"snr": [2.0, 3.0, 4.0]}, unit_ids=[7, 8, 9])
        data[str(10 + i)] = {"url": f"{S3}/{nwb.relative_to(root).as_posix()}", **hashed(nwb)}
    manifest = {
        "project_name": PROJECT,
        "manifest_version": "0.5.0",
        "metadata_file_id_column_name": "file_id",
        "data_pipeline": [{"name": "AllenSDK", "version": "2.16.2"}],
        "metadata_files": {
            name: {"url": f"{S3}/{PROJECT}/project_metadata/{name}.csv", **hashed(meta / f"{name}.csv")}
            for name in ("ecephys_sessions", "units")
        },
        "data_files": data,
    }
    (project / "manifests").mkdir()
    (project / "manifests" / MANIFEST).write_text(json.dumps(manifest))
    return root


@pytest.fixture
def server(tmp_path: Path):
    with FileServer(bucket(tmp_path / "bucket")) as srv:
        yield srv


def test_sessions_come_from_the_metadata_downloaded_into_allensdk_layout(
    server: FileServer, tmp_path: Path
) -> None:
    cache = AllenCache(tmp_path / "cache", base_url=server.url)
    table = cache.sessions()
    assert table.columns.tolist() == [
        "session_id",
        "mouse_id",
        "genotype",
        "experience_level",
        "units",
        "areas",
        "downloaded",
    ]
    assert table["session_id"].tolist() == [1044385384, 1044594870, 1099999999]
    assert table["units"].tolist() == [3, 2, 7]  # the last has no rows in units.csv: its unit_count
    assert table["areas"].tolist() == ["VISp 2, CA1 1", "LGd 1, unknown 1", ""]
    assert table["experience_level"].tolist() == ["Familiar", "Novel", "Familiar"]
    assert not table["downloaded"].any()
    root = tmp_path / "cache"
    assert (root / MANIFEST).is_file() and (root / "_manifest_last_used.txt").read_text() == MANIFEST
    meta = root / f"{PROJECT}-0.5.0" / "project_metadata"
    pd.testing.assert_frame_equal(pd.read_csv(meta / "ecephys_sessions.csv"), SESSIONS)
    record = json.loads((root / "_downloaded_data.json").read_text())
    assert record[str((meta / "units.csv").resolve())] == hashed(meta / "units.csv")["file_hash"]
    assert ("visual-behavior-neuropixels/project_metadata/units.csv", None) in server.behaviour.requests


def test_open_downloads_the_session_once_and_loads_it(server: FileServer, tmp_path: Path) -> None:
    cache = AllenCache(tmp_path / "cache", base_url=server.url)
    steps = []
    session = drain(cache.iter_open(1044385384, stream=False), steps.append)
    path = tmp_path / "cache" / f"{PROJECT}-0.5.0" / "behavior_ecephys_sessions" / "1044385384"
    assert cache.nwb_path(1044385384) == path / "ecephys_session_1044385384.nwb"
    assert session.source == str(path / "ecephys_session_1044385384.nwb")
    assert session.unit_ids.tolist() == [7, 8, 9]
    assert session.areas.tolist() == ["VISp", "CA1", "VISp"]
    assert session.metrics["snr"].tolist() == [2.0, 3.0, 4.0]
    np.testing.assert_array_equal(session.spikes_of(1), TRAINS[1])
    assert {p.stage for p in steps} >= {"download", "verify"}
    assert not list(path.glob("*.part"))
    assert "versionId=v" in server.behaviour.queries[-1]
    n = len(server.behaviour.requests)
    again = AllenCache(tmp_path / "cache", base_url=refused_url()).open(1044385384, stream=False)
    assert again.unit_ids.tolist() == [7, 8, 9] and len(server.behaviour.requests) == n
    listed = AllenCache(tmp_path / "cache", base_url=server.url).sessions()
    assert listed["downloaded"].tolist() == [True, False, False]


def test_open_streams_a_session_that_is_not_on_disk(server: FileServer, tmp_path: Path) -> None:
    cache = AllenCache(tmp_path / "cache", base_url=server.url)
    session = cache.open(1044385384)
    nwb = f"{PROJECT}/behavior_ecephys_sessions/1044385384/ecephys_session_1044385384.nwb"
    assert session.source.startswith(f"{server.url}/{nwb}?versionId=v")
    assert session.name == "ecephys_session_1044385384" and session.unit_ids.tolist() == [7, 8, 9]
    assert session.areas.tolist() == ["VISp", "CA1", "VISp"] and session.metrics["snr"].tolist() == [2, 3, 4]
    np.testing.assert_array_equal(session.spikes_of(1), TRAINS[1])
    assert not cache.nwb_path(1044385384).exists()
    assert all(r is not None for path, r in server.behaviour.requests if path == nwb)  # ranges only
    n = len(server.behaviour.requests)
    assert cache.open(1044385384).unit_ids.tolist() == [7, 8, 9]
    assert len(server.behaviour.requests) == n  # the second open reads the block cache only
    assert not cache.sessions(download=False)["downloaded"].any()


def test_the_environment_names_a_mirror(server: FileServer, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEURORBM_ALLEN_URL", server.url + "/")
    cache = AllenCache(tmp_path / "cache")
    assert cache.base_url == server.url
    assert cache.open(1044385384).n_units == 3
    assert AllenCache(tmp_path / "cache", base_url="http://elsewhere").base_url == "http://elsewhere"


def test_a_cut_session_download_resumes(server: FileServer, tmp_path: Path) -> None:
    nwb = f"{PROJECT}/behavior_ecephys_sessions/1044385384/ecephys_session_1044385384.nwb"
    server.behaviour.cut[nwb] = 1000
    session = AllenCache(tmp_path / "cache", base_url=server.url).open(1044385384, stream=False)
    assert session.n_units == 3
    assert [r for r in server.behaviour.requests if r[0] == nwb] == [(nwb, None), (nwb, "bytes=1000-")]


def test_unknown_and_missing_sessions_are_named(server: FileServer, tmp_path: Path) -> None:
    cache = AllenCache(tmp_path / "cache", base_url=server.url)
    with pytest.raises(
        NeuroRBMError, match=r"unknown session id 123: the cache's session table lists 3 sessions"
    ):
        cache.open(123)
    with pytest.raises(
        NeuroRBMError, match=r"session 1044594870: http://127.0.0.1:\d+ has no NWB file for it"
    ):
        cache.open(1044594870)
    with pytest.raises(NeuroRBMError, match="session 1099999999 is not downloaded yet"):
        cache.open(1099999999, download=False)


def test_offline_with_an_empty_cache_says_so(tmp_path: Path) -> None:
    cache = AllenCache(tmp_path / "cache", base_url=refused_url())
    with pytest.raises(NeuroRBMError, match=r"cannot reach 127.0.0.1:\d+: offline\?"):
        cache.sessions()
    with pytest.raises(NeuroRBMError, match=r"no ecephys_sessions.csv in .* \(downloads are off\)"):
        cache.sessions(download=False)


def test_without_units_csv_and_downloads_the_areas_stay_empty(tmp_path: Path) -> None:
    meta = tmp_path / "cache" / f"{PROJECT}-0.5.0" / "project_metadata"
    meta.mkdir(parents=True)
    SESSIONS.to_csv(meta / "ecephys_sessions.csv", index=False)
    table = AllenCache(tmp_path / "cache", base_url=refused_url()).sessions(download=False)
    assert table["units"].tolist() == [3, 2, 7] and table["areas"].tolist() == ["", "", ""]


def test_a_release_the_server_lacks_is_named(server: FileServer, tmp_path: Path) -> None:
    cache = AllenCache(tmp_path / "cache", base_url=server.url, release="9.9.9")
    with pytest.raises(NeuroRBMError, match=r"has no release 9\.9\.9 of visual-behavior-neuropixels"):
        cache.sessions()


def test_the_folder_fixes_the_release_and_may_be_given_as_the_versioned_folder(tmp_path: Path) -> None:
    meta = tmp_path / "cache" / f"{PROJECT}-0.4.0" / "project_metadata"
    meta.mkdir(parents=True)
    SESSIONS.to_csv(meta / "ecephys_sessions.csv", index=False)
    UNITS.drop(columns="structure_acronym").to_csv(meta / "units.csv", index=False)
    for folder in (tmp_path / "cache", meta.parent):
        cache = AllenCache(folder, base_url=refused_url())
        assert cache.release == "0.4.0" and cache.cache_dir == tmp_path / "cache"
        assert cache.sessions()["areas"].tolist() == ["unknown 3", "unknown 2", ""]


def test_a_hash_mismatch_leaves_no_session_file(server: FileServer, tmp_path: Path) -> None:
    nwb = (
        server.root / PROJECT / "behavior_ecephys_sessions" / "1044385384" / "ecephys_session_1044385384.nwb"
    )
    data = bytearray(nwb.read_bytes())
    data[len(data) // 2] ^= 0xFF
    nwb.write_bytes(bytes(data))
    cache = AllenCache(tmp_path / "cache", base_url=server.url)
    with pytest.raises(NeuroRBMError, match="fail the hash check"):
        cache.open(1044385384, stream=False)
    assert not list(cache.nwb_path(1044385384).parent.glob("*.nwb*"))


def test_cli_sessions_prints_the_table(server: FileServer, tmp_path: Path, capsys) -> None:
    assert main(["sessions", str(tmp_path / "cache"), "--base-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "1044385384" in out and "VISp 2, CA1 1" in out and "Sst-IRES-Cre" in out
    assert "3 sessions, 0 downloaded, release 0.5.0" in out
    assert main(["sessions", str(tmp_path / "cache" / f"{PROJECT}-0.5.0"), "--offline"]) == 0
    assert "3 sessions, 0 downloaded, release 0.5.0" in capsys.readouterr().out
    assert main(["sessions", str(tmp_path / "other"), "--base-url", refused_url()]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorbm sessions: error: cannot reach 127.0.0.1") and err.count("\n") == 1
