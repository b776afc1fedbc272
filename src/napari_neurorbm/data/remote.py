"""Remote NWB files, streamed: only the bytes of the tables the plugin reads (units, electrodes, intervals)
travel, over HTTP range requests (remfile), through a local block cache (:mod:`.block_cache`).

Addresses accepted, and the HTTPS address each is read from:

- ``https://host/path/file.nwb`` (or ``http://``): as it is;
- ``s3://bucket/key`` of a public bucket: ``https://bucket.s3.amazonaws.com/key`` (path-style
  ``https://s3.amazonaws.com/bucket/key`` for a bucket name with dots); where ``$AWS_ENDPOINT_URL_S3`` or
  ``$AWS_ENDPOINT_URL`` is set, as for the AWS tools, ``ENDPOINT/bucket/key``;
- a DANDI asset address, ``https://api.dandiarchive.org/api/assets/<asset id>/...`` or
  ``https://api.dandiarchive.org/api/dandisets/<id>/versions/<version>/assets/<asset id>/...``, or
  ``dandi:asset/<asset id>``: the asset's download address
  ``https://api.dandiarchive.org/api/assets/<asset id>/download/`` (which redirects to the file itself).

The first open asks the server for the first bytes of the file: the answer must be a partial one (the server
honours Range) and start with the HDF5 signature. Every request has a timeout; a failed read is retried by
remfile (9 tries over about 25 s) before it becomes a one-line error.
"""

from __future__ import annotations

import io
import os
import re
import urllib.parse

from napari_neurorbm.data.block_cache import BLOCK, BlockCache
from napari_neurorbm.data.download import RemoteMissing
from napari_neurorbm.data.nwb import read_nwb
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError

TIMEOUT_S = 30.0
MEMORY_BYTES = 1 << 27  # blocks remfile keeps in memory (its default, 1 GB, would double a session's spikes)
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
DANDI_API = "https://api.dandiarchive.org/api"
S3_ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DANDI_ASSET = re.compile(rf"(?:https?://api\.dandiarchive\.org/api/(?:.*/)?assets/|dandi:asset/)({_UUID})(?:/.*)?")
_REASONS = {  # words of requests' messages -> the reason shown
    "Connection refused": "connection refused",
    "IncompleteRead": "the connection was cut",
    "Connection broken": "the connection was cut",
    "Connection reset": "connection reset",
    "Name or service not known": "unknown host",
}
_FILENAME = re.compile(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", re.I)


def is_url(text: str) -> bool:
    """Whether ``text`` is an address with a scheme (``https://``, ``s3://``, ...) or ``dandi:asset/``."""
    text = str(text).strip()
    return bool(_SCHEME.match(text)) or text.startswith("dandi:")


def resolve_url(address: str) -> str:
    """The HTTP(S) address to read ``address`` from (see the module's docstring for the mappings)."""
    address = str(address).strip()
    asset = _DANDI_ASSET.fullmatch(address)
    if asset:
        return f"{DANDI_API}/assets/{asset.group(1).lower()}/download/"
    parts = urllib.parse.urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.netloc:
        return address
    if scheme == "s3" and parts.netloc and parts.path.strip("/"):
        return _s3_url(parts.netloc, parts.path.lstrip("/"))
    raise NeuroRBMError(
        f"{address}: not an address to stream from; give https://..., s3://bucket/key or a DANDI asset "
        "address"
    )


def open_remote(address: str, timeout_s: float = TIMEOUT_S) -> Session:
    """The units of a remote NWB file as a Session; its bytes come from the block cache where it has them."""
    import remfile

    url = resolve_url(address)
    cache = BlockCache(url)
    if cache.size is None:
        size, name, url_read = _probe(url, timeout_s)
        cache.remember(size, name)
    else:
        url_read = url
    name = cache.info["name"]
    remote = remfile.File(
        url_read, disk_cache=cache, _size=cache.size, _min_chunk_size=BLOCK, _max_cache_size=MEMORY_BYTES
    )
    remote.session = _Session(timeout_s)
    return read_nwb(_Reader(remote, name, timeout_s), name, address)


def _s3_url(bucket: str, key: str) -> str:
    endpoint = next((os.environ[v] for v in S3_ENDPOINT_ENV if os.environ.get(v)), None)
    key = urllib.parse.quote(key)
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}/{key}"
    if "." in bucket:  # virtual-hosted names with dots break the certificate's wildcard
        return f"https://s3.amazonaws.com/{bucket}/{key}"
    return f"https://{bucket}.s3.amazonaws.com/{key}"


def _probe(url: str, timeout_s: float) -> tuple[int, str, str]:
    """(size in bytes, file name, address after redirects) from a request for the file's first bytes; a
    server that ignores Range, a file that is not HDF5, a 404 or no answer is a one-line error."""
    import requests

    host = urllib.parse.urlsplit(url).netloc
    headers = {"Range": f"bytes=0-{len(HDF5_SIGNATURE) - 1}"}
    try:
        with requests.get(url, headers=headers, timeout=timeout_s, stream=True) as resp:
            if resp.status_code in (403, 404):  # S3 answers 403 for a missing key where listing is not public
                raise RemoteMissing(f"{url}: not found on the server (HTTP {resp.status_code})")
            if resp.status_code == 200:
                raise NeuroRBMError(
                    f"{url}: the server ignores HTTP range requests, so the file cannot be streamed; "
                    "download it and open it from disk"
                )
            if resp.status_code != 206:
                raise NeuroRBMError(f"{url}: the server answered HTTP {resp.status_code} {resp.reason}")
            size = _total(resp.headers.get("Content-Range", ""), url)
            head = resp.raw.read(len(HDF5_SIGNATURE))
            name = _name(resp.headers.get("Content-Disposition", ""), resp.url, url)
            final = resp.url
    except requests.RequestException as exc:
        raise NeuroRBMError(f"cannot reach {host}: offline? ({_why(exc, timeout_s)})") from None
    if head != HDF5_SIGNATURE:
        raise NeuroRBMError(f"{url}: not an NWB file (it does not start with the HDF5 signature)")
    return size, name, final


def _total(content_range: str, url: str) -> int:
    match = re.fullmatch(r"bytes\s+\d+-\d+/(\d+)", content_range.strip())
    if not match:
        raise NeuroRBMError(f"{url}: the server gave no file size (Content-Range {content_range!r})")
    return int(match.group(1))


def _name(disposition: str, final_url: str, url: str) -> str:
    """The file's name: the server's (Content-Disposition), else the last part of the address with a dot."""
    match = _FILENAME.search(disposition)
    if match:
        return urllib.parse.unquote(match.group(1)).strip()
    last = [_parts(address)[-1:] for address in (final_url, url)]
    named = [part for parts in last for part in parts if "." in part]
    return named[0] if named else (_parts(url) or [urllib.parse.urlsplit(url).netloc])[-1]


def _parts(url: str) -> list[str]:
    path = urllib.parse.urlsplit(url).path
    return [urllib.parse.unquote(p) for p in path.split("/") if p and p != "download"]


def _why(exc: BaseException, timeout_s: float) -> str:
    """A short reason for a failed request."""
    import requests

    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return f"no answer within {timeout_s:g} s"
    reason = next((short for key, short in _REASONS.items() if key in text), None)
    return reason or (text.splitlines()[0][:200] if text else exc.__class__.__name__)


class _Session:
    """A requests session whose every request has a timeout (remfile's own has none)."""

    def __init__(self, timeout_s: float) -> None:
        import requests

        self._session = requests.Session()
        self.timeout_s = timeout_s

    def get(self, url: str, **kwargs):
        kwargs.setdefault("timeout", self.timeout_s)
        return self._session.get(url, **kwargs)


class _Reader(io.RawIOBase):
    """remfile's file as h5py reads it, where a failed transfer is a one-line NeuroRBMError."""

    def __init__(self, remote, name: str, timeout_s: float) -> None:
        self._remote, self._name, self._timeout_s = remote, name, timeout_s

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._remote.seek(offset, whence)
        return self._remote.tell()

    def tell(self) -> int:
        return self._remote.tell()

    def readinto(self, buffer) -> int:
        start = self._remote.tell()
        size = max(0, min(len(buffer), self._remote.length - start))
        if not size:
            return 0
        try:
            data = self._remote.read(size)
        except Exception as exc:  # remfile raises requests' errors and bare Exceptions
            why = _why(exc, self._timeout_s)
            failed = f"{self._name}: reading from the server failed at byte {start:,} ({why})"
            raise NeuroRBMError(failed) from None
        buffer[: len(data)] = data
        return len(data)
