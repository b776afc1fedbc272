"""npe2 reader: an .nwb file or a binned .npz dropped on napari opens as the load widget would show it."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from napari_neurorbm.data.binned import COUNT_KEYS
from napari_neurorbm.data.binning import binarize, unchosen_width
from napari_neurorbm.errors import NeuroRBMError

MODEL_KEYS = {"W", "b", "c"}
NOTHING = [(None,)]  # napari's "read, but no layers" answer


def get_reader(path: str | list[str]) -> Callable | None:
    """The reader for one .nwb or binned .npz path; None for anything else (model npz files included)."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if not p.is_file():
        return None
    suffix = p.suffix.lower()
    if suffix == ".nwb" or (suffix == ".npz" and _looks_binned(p)):
        return read_recording
    return None


def read_recording(path: str | list[str]) -> list[tuple]:
    """Open, binarize as every entry point does by default (``unchosen_width``) and return the count, binary
    and area-strip layer tuples.

    Bad input shows its one-line message as a napari notification and adds nothing.
    """
    from napari_neurorbm._qt.layout import watch_current_viewer
    from napari_neurorbm._qt.raster_layers import raster_layer_data
    from napari_neurorbm.data.sources import open_source

    path = path[0] if isinstance(path, list | tuple) else path
    try:
        session = open_source(path)
        raster = binarize(session, unchosen_width(session))
    except NeuroRBMError as exc:
        from napari.utils.notifications import show_error

        show_error(str(exc))
        return NOTHING
    watch_current_viewer()
    return raster_layer_data(raster, session=session)


def _looks_binned(path: Path) -> bool:
    """A binned npz has counts (plain or bit-packed) and is not a model file (W, b, c); an unreadable one is
    ours to report."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return True
    return bool(COUNT_KEYS & names) and not MODEL_KEYS <= names
