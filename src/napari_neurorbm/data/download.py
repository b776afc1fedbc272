"""HTTP(S) downloads (urllib only) that resume, report progress and never leave a half file that looks whole.

Bytes go to ``DEST.part``; an interrupted download is continued with an HTTP Range request. The file is
renamed to ``DEST`` (atomically) only once its size matches what the server announced and what the caller
expects (and its blake2b hash, where given, as in Allen manifests).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Generator
from pathlib import Path

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

CHUNK = 1 << 20
TIMEOUT_S = 30.0
RETRIES = 3
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_TOTAL = re.compile(r"bytes\s+\*/(\d+)")


class RemoteMissing(NeuroRBMError):
    """The server answered 404: it has no file at that address."""


class _Interrupted(Exception):
    """The transfer stopped early; what arrived stays in the .part file."""


def iter_download(
    url: str,
    dest: str | Path,
    expected_size: int | None = None,
    chunk: int = CHUNK,
    *,
    timeout_s: float = TIMEOUT_S,
    retries: int = RETRIES,
    blake2b: str | None = None,
) -> Generator[Progress, None, Path]:
    """Download ``url`` to ``dest``, yielding progress in bytes; returns ``dest``.

    An existing ``dest`` is returned as it is (after a size check). A cut transfer is resumed up to
    ``retries`` times in this call, and from its ``.part`` file by the next call.
    """
    dest = Path(dest)
    if dest.is_file():
        _check_size(dest.name, dest.stat().st_size, expected_size, "on disk")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            yield from _fetch(url, part, expected_size, chunk, timeout_s)
            break
        except _Interrupted as exc:
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise NeuroRBMError(
                    f"download of {dest.name} stopped after {have:,} bytes ({exc}); run again to resume"
                ) from None
    size = part.stat().st_size
    try:
        _check_size(dest.name, size, expected_size, "downloaded")
        if blake2b is not None:
            yield from _check_hash(part, size, blake2b)
    except NeuroRBMError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def _fetch(
    url: str, part: Path, expected_size: int | None, chunk: int, timeout_s: float
) -> Generator[Progress, None, None]:
    """One request: continue ``part`` from its current size, or start it again if the server sends it all."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "napari-neurorbm"}
    if have:
        headers["Range"] = f"bytes={have}-"
    resp = _open(url, headers, timeout_s, have, part)
    if resp is None:  # the .part file already holds every byte
        return
    name = part.name.removesuffix(".part")
    with resp:
        if resp.status == 206:
            first, total = _content_range(resp.headers.get("Content-Range", ""), url)
            if first != have:
                part.unlink()
                raise _Interrupted(f"the server resumed at byte {first}, not {have}")
            mode = "ab"
        else:
            have, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if total is not None and expected_size is not None and total != expected_size:
            part.unlink(missing_ok=True)
            raise NeuroRBMError(f"{name}: the server has {total:,} bytes, expected {expected_size:,}")
        total = expected_size if total is None else total
        done = have
        with open(part, mode) as out:
            while True:
                try:
                    block = resp.read(chunk)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Interrupted(_reason(exc, timeout_s)) from None
                if not block:
                    break
                out.write(block)
                done += len(block)
                yield Progress("download", done, total or 0, f"{name}: {_mb(done)} of {_mb(total)} MB")
    if total is not None and done < total:
        raise _Interrupted(f"the connection closed at {done:,} of {total:,} bytes")


def _open(
    url: str, headers: dict, timeout_s: float, have: int, part: Path
) -> http.client.HTTPResponse | None:
    """The server's response, None where a Range request shows that ``part`` is already complete."""
    host = urllib.parse.urlsplit(url).netloc or url
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):  # S3 answers 403 for a missing key where listing is not public
            raise RemoteMissing(f"{url}: not found on the server (HTTP {exc.code})") from None
        if exc.code == 416 and have:
            match = _TOTAL.search(exc.headers.get("Content-Range", ""))
            if match and int(match.group(1)) == have:
                return None
            part.unlink()
            raise _Interrupted("the partial file did not match the remote file; starting again") from None
        raise NeuroRBMError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise NeuroRBMError(f"cannot reach {host}: offline? ({_reason(exc.reason, timeout_s)})") from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts and resets before the answer came
        raise NeuroRBMError(f"cannot reach {host}: offline? ({_reason(exc, timeout_s)})") from None


def _content_range(value: str, url: str) -> tuple[int, int | None]:
    match = _RANGE.search(value)
    if not match:
        raise NeuroRBMError(f"{url}: the server sent a partial answer without a valid Content-Range")
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _check_size(name: str, size: int, expected: int | None, where: str) -> None:
    if expected is not None and size != expected:
        raise NeuroRBMError(f"{name}: {size:,} bytes {where}, expected {expected:,}")


def _check_hash(path: Path, size: int, expected: str) -> Generator[Progress, None, None]:
    """blake2b of the whole file (the hash allensdk manifests give), with progress."""
    digest = hashlib.blake2b()
    done = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK * 8):
            digest.update(block)
            done += len(block)
            yield Progress("verify", done, size, f"checking {path.name.removesuffix('.part')}")
    if digest.hexdigest() != expected.lower():
        raise NeuroRBMError(f"{path.name.removesuffix('.part')}: the downloaded bytes fail the hash check")


def _reason(exc: object, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f}"
