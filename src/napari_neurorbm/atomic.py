"""Atomic file writes: a file is its previous version or the whole new one, whatever stops the writer."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from napari_neurorbm.errors import NeuroRBMError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


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


def write_text(path: str | Path, text: str, what: str = "file") -> Path:
    """``text`` (UTF-8) into ``path``, atomically."""
    data = text.encode()
    return write_atomically(path, lambda fh: fh.write(data), what)


def write_csv(path: str | Path, table: pd.DataFrame, what: str = "table", **to_csv: Any) -> Path:
    """A pandas table as CSV into ``path``, atomically (``to_csv`` options as pandas takes them)."""
    return write_text(path, table.to_csv(**to_csv), what)


def save_figure(figure: Figure, path: str | Path, **savefig: Any) -> Path:
    """A matplotlib figure into ``path`` (its format from the suffix), atomically."""
    fmt = Path(path).suffix.lstrip(".") or None
    return write_atomically(path, lambda fh: figure.savefig(fh, format=fmt, **savefig), "figure")


def save_npz(path: str | Path, compressed: bool = False, what: str = "file", **arrays: Any) -> Path:
    """Arrays into an npz at ``path`` (``np.savez``, or ``np.savez_compressed``), atomically."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez
    return write_atomically(path, lambda fh: save(fh, **arrays), what)
