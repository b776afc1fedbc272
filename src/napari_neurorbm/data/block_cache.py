"""A local cache of the blocks of remote files read by HTTP range requests, so that opening the same remote
session again reads nothing remote.

The cache lives in ``$NEURORBM_CACHE_DIR``, else in the user's cache folder (``platformdirs``, e.g.
``~/.cache/napari-neurorbm/remote`` on Linux). Each remote file has a folder named by a hash of its URL, with
``info.json`` (URL, size in bytes, file name) and one file per block of :data:`BLOCK` bytes (the last block
of a file is shorter). A block is stored only when whole, atomically (``atomic.write_atomically``), and a
block file of the wrong length is never read, so an interrupted transfer leaves nothing that looks whole.
The whole cache is kept under a size cap (``$NEURORBM_CACHE_GB``, default :data:`DEFAULT_CAP_GB` GB): past
it, the least recently used blocks are removed. A remote file's bytes are taken as immutable (as DANDI blobs
and Allen's versioned objects are); deleting its folder makes the next open read it again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from napari_neurorbm.atomic import write_atomically
from napari_neurorbm.errors import NeuroRBMError

CACHE_DIR_ENV = "NEURORBM_CACHE_DIR"
CACHE_CAP_ENV = "NEURORBM_CACHE_GB"
DEFAULT_CAP_GB = 8.0
BLOCK = 256 * 1024  # bytes per block: small enough for h5py's scattered metadata reads, large enough for few
INFO = "info.json"
_SUFFIX = ".block"


def cache_root() -> Path:
    """The folder of all remote files' blocks: ``$NEURORBM_CACHE_DIR``, else ``remote`` in the user's cache
    folder of napari-neurorbm."""
    root = os.environ.get(CACHE_DIR_ENV)
    if not root:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("napari-neurorbm", appauthor=False)) / "remote"
    return Path(root).expanduser()


def cache_cap() -> int:
    """The cache's size cap in bytes, from ``$NEURORBM_CACHE_GB`` (a one-line error when it is not a number
    > 0), else :data:`DEFAULT_CAP_GB`."""
    text = os.environ.get(CACHE_CAP_ENV, "").strip()
    try:
        gb = float(text) if text else DEFAULT_CAP_GB
    except ValueError:
        gb = float("nan")
    if not gb > 0 or gb == float("inf"):
        raise NeuroRBMError(f"${CACHE_CAP_ENV} must be a size in GB greater than 0, got {text!r}")
    return int(gb * 1e9)


class BlockCache:
    """The cached blocks of one remote file. :meth:`get` and :meth:`set` are what remfile calls on its disk
    cache, with keys ``"<url>|<block size>|<block index>"``; the blocks are this file's whatever the url in
    the key (a redirect target), and a key with another block size is a miss."""

    def __init__(self, url: str, root: Path | None = None, cap_bytes: int | None = None) -> None:
        self.url = url
        self.root = cache_root() if root is None else Path(root)
        self.folder = self.root / hashlib.sha256(url.encode()).hexdigest()[:32]
        self.cap_bytes = cache_cap() if cap_bytes is None else cap_bytes
        self.info: dict | None = self._read_info()
        self._used: int | None = None  # bytes of all blocks in the cache, counted at the first store

    @property
    def size(self) -> int | None:
        """The remote file's size in bytes (None before the first open)."""
        return None if self.info is None else int(self.info["size"])

    def remember(self, size: int, name: str) -> None:
        """Record the remote file's size and name (written once the server has answered for it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.info = {"url": self.url, "size": int(size), "name": name}
        text = json.dumps(self.info, indent=1).encode()
        write_atomically(self.folder / INFO, lambda fh: fh.write(text), "the remote-file cache's info")

    def get(self, key: str) -> bytes | None:
        """The block's bytes when a whole copy is cached (its use is recorded for the size cap), else None."""
        index = self._index(key)
        if index is None:
            return None
        path = self._path(index)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) != self._expected(index):
            return None
        os.utime(path)  # recently used: evicted last
        return data

    def set(self, key: str, value: bytes) -> None:
        """Store a block, only when whole; then keep the cache under its cap."""
        index = self._index(key)
        if index is None or len(value) != self._expected(index):
            return
        path = self._path(index)
        write_atomically(path, lambda fh: fh.write(value), "a block of the remote-file cache")
        if self._used is None:
            self._used = sum(size for _, size, _ in _blocks(self.root))
        else:
            self._used += len(value)
        if self._used > self.cap_bytes:
            self._evict(keep=path)

    def cached_bytes(self) -> int:
        """Bytes of this file's blocks on disk."""
        return sum(size for path, size, _ in _blocks(self.folder))

    def _evict(self, keep: Path) -> None:
        """Remove the least recently used blocks (of any file) until the cache is at 90 % of its cap."""
        blocks = sorted(_blocks(self.root), key=lambda b: b[2])
        used = sum(size for _, size, _ in blocks)
        for path, size, _ in blocks:
            if used <= 0.9 * self.cap_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                used -= size
        self._used = used

    def _index(self, key: str) -> int | None:
        _, block, index = key.rsplit("|", 2)
        return int(index) if int(block) == BLOCK and self.size is not None else None

    def _expected(self, index: int) -> int:
        """Bytes a whole block at ``index`` holds (the last block of the file is shorter)."""
        return max(0, min(BLOCK, self.size - index * BLOCK))

    def _path(self, index: int) -> Path:
        return self.folder / f"{index}{_SUFFIX}"

    def _read_info(self) -> dict | None:
        try:
            info = json.loads((self.folder / INFO).read_text())
            return info if info.get("url") == self.url and int(info["size"]) > 0 else None
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _blocks(folder: Path) -> list[tuple[Path, int, float]]:
    """(path, size, last use) of every block file under ``folder``."""
    out = []
    for path in folder.rglob(f"*{_SUFFIX}"):
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((path, stat.st_size, stat.st_mtime))
    return out
