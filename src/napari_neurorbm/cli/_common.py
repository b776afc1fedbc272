"""What every subcommand shares: the progress line on stderr and the check of an --out file name."""

from __future__ import annotations

import sys
from pathlib import Path

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress


def out_path(out: str) -> Path:
    """The --out file as a Path; a folder or a missing parent folder is a one-line error."""
    path = Path(out).expanduser()
    if path.is_dir():
        raise NeuroRBMError(f"--out {out} is a folder; give a file name such as raster.npz")
    if not path.parent.is_dir():
        raise NeuroRBMError(f"--out {out}: the folder {path.parent} does not exist")
    return path


class ProgressLine:
    """Progress on one stderr line, redrawn at each whole percent; only on a terminal."""

    def __init__(self) -> None:
        self._last: tuple[str, int] | None = None

    def __call__(self, p: Progress) -> None:
        if not sys.stderr.isatty():
            return
        state = (p.stage, int(100 * p.fraction))
        if state != self._last:
            self._last = state
            end = "\n" if p.done >= p.total else ""
            print(f"\r{p.stage}: {state[1]:3d}% {p.message}", end=end, file=sys.stderr, flush=True)
