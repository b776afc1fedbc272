"""Streaming remote NWB files from a real HTTP server on 127.0.0.1 that counts the bytes it sends: only the
units' bytes travel, the second open reads nothing remote, and each failure is one line without a hang."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from local_http import FileServer, refused_url
from napari_neurorbm.cli import main
from napari_neurorbm.data.block_cache import BLOCK, INFO, BlockCache, cache_root
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.data.remote import open_remote, resolve_url
from napari_neurorbm.data.sources import open_source, source_kind
from napari_neurorbm.data.synthetic import synthetic_session
from napari_neurorbm.errors import NeuroRBMError
from nwb_factory import write_nwb

BULK = 256_000_000  # bytes of the dummy acquisition series: the bulk of the file, never read
NAME = "ecephys_session_7.nwb"


@pytest.fixture(scope="session")
def remote_root(tmp_path_factory) -> Path:
    """A folder served over HTTP: a VBN-layout NWB file with 256 MB of raw data beside its 30 units."""
    session = synthetic_session(n_areas=3, units_per_area=10, duration_s=60.0, seed=5)
    root = tmp_path_factory.mktemp("remote")
    trains = [session.spikes_of(u) for u in range(session.n_units)]
    snr = list(np.linspace(1.0, 4.0, session.n_units))
    write_nwb(root / NAME, trains, list(session.areas), metrics={"snr": snr}, acquisition_bytes=BULK)
    (root / "notes.txt").write_text("not an NWB file, but long enough to hold a signature" * 10)
    with h5py.File(root / "plain.h5", "w") as f:
        f["x"] = np.arange(10)
    return root


@pytest.fixture
def server(remote_root: Path):
    with FileServer(remote_root) as srv:
        yield srv


@pytest.fixture
def few_retries(monkeypatch) -> None:
    """remfile retries a failed request 8 times over ~25 s; once is enough to test what a failure gives."""
    monkeypatch.setattr(sys.modules["remfile.RemFile"], "_num_request_retries", 1)


def assert_same(remote, local) -> None:
    assert remote.unit_ids.tolist() == local.unit_ids.tolist()
    assert remote.areas.tolist() == local.areas.tolist()
    assert (remote.start_s, remote.stop_s) == (local.start_s, local.stop_s)
    np.testing.assert_array_equal(remote.spike_times, local.spike_times)
    np.testing.assert_array_equal(remote.spike_index, local.spike_index)
    pd.testing.assert_frame_equal(remote.metrics, local.metrics)


def test_streaming_reads_a_few_percent_and_the_second_open_nothing(server, remote_root) -> None:
    url = f"{server.url}/{NAME}"
    size = (remote_root / NAME).stat().st_size
    assert source_kind(url) == "url"
    session = open_source(url)
    assert session.name == "ecephys_session_7" and session.source == url
    assert_same(session, load_nwb(remote_root / NAME))
    assert 0 < server.behaviour.sent < 0.05 * size
    assert all(r is not None for _, r in server.behaviour.requests)  # range requests only
    cache = BlockCache(url)
    assert cache.size == size and cache.cached_bytes() >= server.behaviour.sent - 8
    sent, asked = server.behaviour.sent, len(server.behaviour.requests)
    assert_same(open_source(url), session)
    assert server.behaviour.sent == sent and len(server.behaviour.requests) == asked


def test_cli_binarize_streams_a_url(server, tmp_path, capsys) -> None:
    out = tmp_path / "r.npz"
    assert main(["binarize", f"{server.url}/{NAME}", "--out", str(out)]) == 0
    assert "source   ecephys_session_7: 30 units in 3 areas" in capsys.readouterr().out
    assert out.is_file()


def test_s3_addresses_go_to_the_endpoint(server, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
    (server.root / "bucket").mkdir(exist_ok=True)
    (server.root / "bucket" / "key.nwb").write_bytes((server.root / NAME).read_bytes()[:1000])
    assert resolve_url("s3://bucket/key.nwb") == f"{server.url}/bucket/key.nwb"
    with pytest.raises(NeuroRBMError, match=r"key\.nwb: not a readable NWB file"):
        open_remote("s3://bucket/key.nwb")  # a truncated file: read, then refused by h5py
    assert ("bucket/key.nwb", "bytes=0-7") in server.behaviour.requests


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("https://host.org/a/b.nwb?x=1", "https://host.org/a/b.nwb?x=1"),
        ("s3://visual-behavior-neuropixels-data/a b/c.nwb",
         "https://visual-behavior-neuropixels-data.s3.amazonaws.com/a%20b/c.nwb"),
        ("s3://my.bucket/c.nwb", "https://s3.amazonaws.com/my.bucket/c.nwb"),
        ("https://api.dandiarchive.org/api/assets/0A8A5B1C-2D3E-4F50-8a9b-0c1d2e3f4a5b/",
         "https://api.dandiarchive.org/api/assets/0a8a5b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b/download/"),
        ("https://api.dandiarchive.org/api/dandisets/000713/versions/draft/assets/"
         "0a8a5b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b/info/",
         "https://api.dandiarchive.org/api/assets/0a8a5b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b/download/"),
        ("dandi:asset/0a8a5b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b",
         "https://api.dandiarchive.org/api/assets/0a8a5b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b/download/"),
    ],
)
def test_addresses_map_to_https(address, url, monkeypatch) -> None:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_url(address) == url


@pytest.mark.parametrize("address", ["ftp://host/x.nwb", "s3://bucket-only", "https://", "dandi:asset/12"])
def test_addresses_that_cannot_be_streamed(address) -> None:
    with pytest.raises(NeuroRBMError, match="not an address to stream from"):
        resolve_url(address)


BAD = [
    ("404", lambda s: f"{s.url}/missing.nwb", r"missing.nwb: not found on the server \(HTTP 404\)"),
    ("no network", lambda s: f"{refused_url()}/{NAME}", r"cannot reach 127.0.0.1:\d+: offline\? \(.*refused"),
    ("not HDF5", lambda s: f"{s.url}/notes.txt", r"notes.txt: not an NWB file \(it does not start with"),
    ("HDF5 without units", lambda s: f"{s.url}/plain.h5", "plain.h5: the file has no units table"),
]


@pytest.mark.parametrize(("make", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_addresses_are_one_line_in_the_api_and_the_cli(server, tmp_path, capsys, make, message) -> None:
    url = make(server)
    with pytest.raises(NeuroRBMError, match=message) as err:
        open_remote(url)
    assert "\n" not in str(err.value)
    assert main(["binarize", url, "--out", str(tmp_path / "r.npz")]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("neurorbm binarize: error: ") and stderr.count("\n") == 1


def test_a_server_without_range_support_is_named_and_not_read_whole(server) -> None:
    server.behaviour.ignore_range = True
    with pytest.raises(NeuroRBMError, match="the server ignores HTTP range requests, so the file cannot be"):
        open_remote(f"{server.url}/{NAME}")
    assert BlockCache(f"{server.url}/{NAME}").size is None  # nothing remembered


def test_a_session_id_with_an_address_is_refused(server) -> None:
    with pytest.raises(NeuroRBMError, match="a session id only applies to an Allen cache folder"):
        open_source(f"{server.url}/{NAME}", session_id=3)


def test_a_connection_cut_mid_read_is_one_line_and_caches_only_whole_blocks(
    server, remote_root, few_retries
) -> None:
    url = f"{server.url}/{NAME}"
    open_remote(url)
    blocks = sorted(BlockCache(url).folder.glob("*.block"), key=lambda p: int(p.stem))
    for path in blocks[1:]:
        path.unlink()  # the first block stays cached, the others must come again
    server.behaviour.cut_above = 1000  # every answer stops after 1000 bytes
    with pytest.raises(NeuroRBMError, match=r"7.nwb: reading from the server failed at byte [\d,]+ \(the c"):
        open_remote(url)
    assert sorted(BlockCache(url).folder.glob("*.block")) == blocks[:1]  # nothing half-read was kept
    data = (remote_root / NAME).read_bytes()
    assert blocks[0].read_bytes() == data[:BLOCK]
    server.behaviour.cut_above = None
    assert_same(open_remote(url), load_nwb(remote_root / NAME))


def test_a_silent_server_times_out(server, few_retries) -> None:
    url = f"{server.url}/{NAME}"
    server.behaviour.stall_s = 1.0
    with pytest.raises(NeuroRBMError, match=r"cannot reach .*: offline\? \(no answer within 0.2 s\)"):
        open_remote(url, timeout_s=0.2)
    server.behaviour.stall_s = 0.0
    cache = BlockCache(url)
    cache.remember((server.root / NAME).stat().st_size, NAME)  # as after a first open cut short
    server.behaviour.stall_s = 1.0
    with pytest.raises(NeuroRBMError, match=r"reading from the server failed at byte 0 \(no answer within"):
        open_remote(url, timeout_s=0.2)
    assert not list(cache.folder.glob("*.block"))


def test_block_cache_keeps_whole_blocks_under_its_cap(tmp_path) -> None:
    cache = BlockCache("http://h/f.nwb", root=tmp_path, cap_bytes=3 * BLOCK)
    assert cache_root() != tmp_path and cache.get(f"x|{BLOCK}|0") is None
    cache.remember(5 * BLOCK + 10, "f.nwb")
    cache.set(f"x|{BLOCK}|0", b"\1" * (BLOCK - 1))  # short: not whole, not stored
    assert cache.get(f"x|{BLOCK}|0") is None and not list(cache.folder.glob("*.block"))
    cache.set(f"x|{BLOCK}|5", b"\5" * 10)  # the file's last block is short
    assert cache.get(f"url|{BLOCK}|5") == b"\5" * 10 and cache.get(f"url|{BLOCK // 2}|5") is None
    for i in range(4):
        cache.set(f"x|{BLOCK}|{i}", bytes([i]) * BLOCK)
    kept = sorted(int(p.stem) for p in cache.folder.glob("*.block"))
    assert cache.cached_bytes() <= 3 * BLOCK and kept[-1] == 3  # the oldest went first
    (cache.folder / "3.block").write_bytes(b"torn")
    assert cache.get(f"x|{BLOCK}|3") is None
    assert BlockCache("http://h/f.nwb", root=tmp_path).size == 5 * BLOCK + 10
    (cache.folder / INFO).write_text("{")
    assert BlockCache("http://h/f.nwb", root=tmp_path).size is None


def test_a_bad_cache_cap_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("NEURORBM_CACHE_GB", "lots")
    with pytest.raises(NeuroRBMError, match=r"\$NEURORBM_CACHE_GB must be a size in GB greater than 0"):
        BlockCache("http://h/f.nwb")
