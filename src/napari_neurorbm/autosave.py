"""Autosave of a running training, so that a crash, a kill or a closed window loses at most a few minutes.

:class:`Autosave` rewrites a model file (with the run's resumable state, see ``Trainer.save``) every few
minutes of wall time; its owner calls it between two updates, where the state is whole, so that resuming
from the file continues the run exactly. ``neurorbm train`` autosaves into its ``--out`` file. The napari
dock autosaves into :func:`autosave_folder` and removes the file when the run ends in the dock (the model
is then the viewer's); a file left there is a run that did not end, which :func:`find_unfinished` finds.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import read_metadata
from napari_neurorbm.rbm.training import Trainer

DEFAULT_MINUTES = 5.0
DATA_DIR_ENV = "NEURORBM_DATA_DIR"  # overrides the user data folder (tests, shared machines)


def check_minutes(minutes: float, what: str = "the autosave interval") -> float:
    """``minutes`` if it is a valid interval (>= 0, finite; 0 = off), else a one-line NeuroRBMError."""
    if not (minutes >= 0 and math.isfinite(minutes)):
        raise NeuroRBMError(f"{what} must be >= 0 minutes (0 = off), got {minutes}")
    return minutes


def between_updates(p: Progress) -> bool:
    """Whether a record of ``Trainer.run()`` comes where the run's state is whole: any record but those
    inside the evaluation of an update (AIS steps), whose result the state does not hold yet."""
    return p.stage != "ais"


class Autosave:
    """Writes a trainer to ``path`` every ``minutes`` of wall time (0 = never); the first write comes one
    interval after creation. Call :meth:`maybe` between two updates (see :func:`between_updates`)."""

    def __init__(self, path: str | Path, minutes: float) -> None:
        self.path = Path(path)
        self.period_s = 60.0 * check_minutes(minutes)
        self.last_s = time.monotonic()
        self.update: int | None = None  # the update of the last write (None: nothing written yet)

    def maybe(self, trainer: Trainer) -> bool:
        """Write if an interval has passed since the last write; returns whether it wrote."""
        if not self.period_s or time.monotonic() - self.last_s < self.period_s:
            return False
        self.write(trainer)
        return True

    def write(self, trainer: Trainer) -> Path:
        """Write now (atomically: the previous file stays whole until the new one is complete)."""
        written = trainer.save(self.path)
        self.last_s, self.update = time.monotonic(), trainer.update
        return written


def autosave_folder() -> Path:
    """Where the dock keeps the autosaves of its runs: ``$NEURORBM_DATA_DIR/autosave``, else ``autosave`` in
    the user data folder of napari-neurorbm (e.g. ~/.local/share/napari-neurorbm on Linux)."""
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        from platformdirs import user_data_dir

        root = user_data_dir("napari-neurorbm", appauthor=False)
    return Path(root) / "autosave"


def new_autosave_path(name: str) -> Path:
    """A fresh file name in :func:`autosave_folder` (created if needed): ``<date>-<time>-<name>.npz``."""
    folder = autosave_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "raster"
    return folder / f"{stamp}-{safe[:60]}.npz"


@dataclass(frozen=True)
class Unfinished:
    """An autosave left by a run that did not end: its file, when it was written and at which update."""

    path: Path
    saved: datetime
    update: int
    updates: int  # the run's target (its configuration's updates)

    def describe(self) -> str:
        """E.g. ``Resume unfinished run from 2025-01-31 14:03 (update 1200)``."""
        return f"Resume unfinished run from {self.saved:%Y-%m-%d %H:%M} (update {self.update})"


def find_unfinished(unit_ids: np.ndarray) -> Unfinished | None:
    """The latest autosave in :func:`autosave_folder` of a run on these units (same ids, same order);
    unreadable files are skipped."""
    folder = autosave_folder()
    ids = np.asarray(unit_ids).astype(str)
    found = []
    for path in folder.glob("*.npz") if folder.is_dir() else []:
        try:
            meta = read_metadata(path)
            saved = path.stat().st_mtime
        except (NeuroRBMError, OSError):
            continue
        theirs = np.asarray(meta.get("unit_ids", [])).astype(str)
        if theirs.shape == ids.shape and np.array_equal(theirs, ids):
            updates = int(meta.get("config", {}).get("updates", 0))
            found.append(Unfinished(path, datetime.fromtimestamp(saved), int(meta.get("update", 0)), updates))
    return max(found, key=lambda u: u.saved, default=None)
