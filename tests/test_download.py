"""Downloads from a real HTTP server on 127.0.0.1: progress, resume after a cut, size and hash checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from local_http import FileServer, refused_url
from napari_neurorbm.data.download import RemoteMissing, iter_download
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain

DATA = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "remote"
    (root / "dir").mkdir(parents=True)
    (root / "dir" / "file.bin").write_bytes(DATA)
    with FileServer(root) as srv:
        yield srv


def run(gen):
    steps = []
    return drain(gen, steps.append), steps


def test_download_reports_bytes_and_renames_only_when_complete(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "local" / "sub" / "file.bin"
    path, steps = run(iter_download(f"{server.url}/dir/file.bin", dest, expected_size=len(DATA), chunk=8192))
    assert path == dest and dest.read_bytes() == DATA
    assert not dest.with_name("file.bin.part").exists()
    done = [p.done for p in steps]
    assert done == sorted(done) and done[-1] == len(DATA) and steps[-1].total == len(DATA)
    assert len(steps) == -(-len(DATA) // 8192) and steps[0].stage == "download"
    # a second call finds the file and asks the server nothing
    n = len(server.behaviour.requests)
    assert run(iter_download(f"{server.url}/dir/file.bin", dest))[0] == dest
    assert len(server.behaviour.requests) == n


def test_a_cut_transfer_keeps_a_part_file_and_the_next_call_resumes_with_range(
    server: FileServer, tmp_path: Path
) -> None:
    dest = tmp_path / "file.bin"
    url = f"{server.url}/dir/file.bin"
    server.behaviour.cut["dir/file.bin"] = 12_345
    with pytest.raises(NeuroRBMError, match=r"file.bin stopped after 12,345 bytes .*run again to resume"):
        drain(iter_download(url, dest, retries=0))
    assert not dest.exists()
    assert dest.with_name("file.bin.part").read_bytes() == DATA[:12_345]
    drain(iter_download(url, dest, retries=0))
    assert dest.read_bytes() == DATA
    assert server.behaviour.requests[-1] == ("dir/file.bin", "bytes=12345-")


def test_a_cut_is_resumed_within_the_same_call(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    server.behaviour.cut["dir/file.bin"] = 999
    drain(iter_download(f"{server.url}/dir/file.bin", dest, retries=2))
    assert dest.read_bytes() == DATA
    assert [r[1] for r in server.behaviour.requests] == [None, "bytes=999-"]


def test_a_server_that_ignores_range_restarts_the_file(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(b"stale bytes from another file")
    server.behaviour.ignore_range = True
    drain(iter_download(f"{server.url}/dir/file.bin", dest))
    assert dest.read_bytes() == DATA


def test_a_complete_part_file_is_renamed_without_downloading_again(
    server: FileServer, tmp_path: Path
) -> None:
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(DATA)
    drain(iter_download(f"{server.url}/dir/file.bin", dest))
    assert dest.read_bytes() == DATA
    assert server.behaviour.requests == [("dir/file.bin", f"bytes={len(DATA)}-")]


def test_a_size_mismatch_is_an_error_and_leaves_no_file(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    with pytest.raises(NeuroRBMError, match=r"file.bin: the server has 50,000 bytes, expected 49,999"):
        drain(iter_download(f"{server.url}/dir/file.bin", dest, expected_size=49_999))
    assert not dest.exists() and not dest.with_name("file.bin.part").exists()
    dest.write_bytes(DATA[:10])
    with pytest.raises(NeuroRBMError, match=r"file.bin: 10 bytes on disk, expected 50,000"):
        drain(iter_download(f"{server.url}/dir/file.bin", dest, expected_size=len(DATA)))


def test_the_hash_is_checked_before_the_rename(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    good = hashlib.blake2b(DATA).hexdigest()
    with pytest.raises(NeuroRBMError, match="fail the hash check"):
        drain(iter_download(f"{server.url}/dir/file.bin", dest, blake2b="00" + good[2:]))
    assert not dest.exists() and not dest.with_name("file.bin.part").exists()
    _, steps = run(iter_download(f"{server.url}/dir/file.bin", dest, blake2b=good))
    assert dest.read_bytes() == DATA and steps[-1].stage == "verify"


def test_not_found_is_its_own_error(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(RemoteMissing, match=r"/dir/nothing.bin: not found on the server \(HTTP 404\)"):
        drain(iter_download(f"{server.url}/dir/nothing.bin", tmp_path / "x"))
    assert not list(tmp_path.glob("x*"))


def test_connection_refused_says_offline(tmp_path: Path) -> None:
    with pytest.raises(NeuroRBMError, match=r"cannot reach 127.0.0.1:\d+: offline\? \(.*refused.*\)"):
        drain(iter_download(f"{refused_url()}/file.bin", tmp_path / "x"))


def test_a_silent_server_times_out(server: FileServer, tmp_path: Path) -> None:
    server.behaviour.stall_s = 1.0
    with pytest.raises(NeuroRBMError, match=r"cannot reach .*: offline\? \(no answer within 0.2 s\)"):
        drain(iter_download(f"{server.url}/dir/file.bin", tmp_path / "x", timeout_s=0.2))
    assert not (tmp_path / "x").exists()
