"""Atomic file writes: a file is its previous version or the whole new one, whatever stops the writer."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from napari_neurorbm.errors import NeuroRBMError


def write_atomically(path: str | Path, write: Callable[[BinaryIO], None], what: str = "file") -> Path:
    """Call ``write`` on a hidden temporary file beside ``path``, sync it, then rename it over ``path``: an
    error, Ctrl-C or a kill leaves the previous file whole. The temporary name holds the process and thread,
    so that several writers (Dask worker threads) never share one. An OSError becomes a one-line
    NeuroRBMError naming ``what`` was being written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise NeuroRBMError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc
        raise
    return path
