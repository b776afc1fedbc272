"""The Model selection dock's "Start a sweep" form: rasters (the viewer's, saved into the sweep folder, or
raster files), the N_h and seeds to cross, the training length (updates, time budget), learning rate and
device of every run, the workers of the local cluster and the sweep folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from magicgui.widgets import SpinBox
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.data.raster import Raster, read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.sweep.folder import SweepPlan

FIELDS = ("updates", "minutes", "lr", "device")
RASTER_FILTER = "Binned rasters (*.npz);;All files (*)"


@dataclass(frozen=True)
class SweepRequest:
    """What the form asks for: the plan, its folder, and how to run it."""

    plan: SweepPlan
    folder: Path
    workers: int
    device: str


class SweepStart(QGroupBox):
    """The form; :meth:`request` reads it (a one-line NeuroRBMError for what does not parse)."""

    def __init__(self) -> None:
        super().__init__("Start a sweep on this machine")
        self.rasters = _line("viewer's raster", "Raster files (binned .npz, comma separated) to sweep; "
                             "empty: the viewer's raster, saved into the sweep folder")
        self.hidden = _line("e.g. 4, 16, 64", "Hidden-unit counts N_h to train, comma separated", "4, 16, 64")
        self.seeds = _line("e.g. 0, 1", "Seeds of each N_h: the spread over seeds is the error bar", "0, 1")
        self.out = _line("new or unfinished", "The sweep folder: its plan, table of runs and "
                         "model files. An unfinished sweep's folder continues it")
        cores = os.cpu_count() or 1
        self.workers = SpinBox(name="workers", label="Workers", value=min(4, cores), min=1, max=cores,
                               tooltip="Worker processes of the local Dask cluster: runs trained at once")
        self.form = ConfigForm(TrainConfig(), only=FIELDS, text=("lr", "minutes"), extra=[self.workers])
        self.start_button = QPushButton("Start sweep")
        self.start_button.setToolTip("Train every run of the plan on a local Dask cluster; the plots fill "
                                     "as runs report. A sweep stopped here continues when started again")
        top, bottom = QFormLayout(), QFormLayout()
        top.addRow("Rasters", _with_button(self.rasters, "Files…", self._pick_rasters))
        top.addRow("Hidden units", self.hidden)
        top.addRow("Seeds", self.seeds)
        bottom.addRow("Sweep folder", _with_button(self.out, "Folder…", self._pick_folder))
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.form.native)
        column.addLayout(bottom)
        column.addWidget(self.start_button)

    def request(self, viewer_raster: Raster | None) -> SweepRequest:
        """The plan the form describes; the viewer's raster, when no file is named, is saved into the sweep
        folder first (the workers read rasters from files)."""
        out = Path(self.out.text().strip()).expanduser()
        if not self.out.text().strip():
            raise NeuroRBMError("choose a sweep folder (Sweep folder): it holds the runs' model files")
        files = [Path(t.strip()).expanduser() for t in self.rasters.text().split(",") if t.strip()]
        if not files:
            if viewer_raster is None:
                raise NeuroRBMError("no raster to sweep: load a recording (Load & binarize) or name raster "
                                    "files")
            files = [save_beside(viewer_raster, out)]
        config = self.form.config()
        hidden, seeds = ints(self.hidden.text(), "hidden-unit count"), ints(self.seeds.text(), "seed")
        plan = SweepPlan(tuple(str(f.resolve()) for f in files), hidden, seeds, (config.lr,), base=config)
        return SweepRequest(plan.validate(), out, int(self.workers.value), config.device)

    def _pick_rasters(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Rasters to sweep", str(Path.home()), RASTER_FILTER)
        if paths:
            self.rasters.setText(", ".join(paths))

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Sweep folder", str(Path.home()))
        if path:
            self.out.setText(path)


def ints(text: str, what: str) -> tuple[int, ...]:
    """Comma-separated whole numbers, as a tuple (a one-line NeuroRBMError for anything else)."""
    values = []
    for item in (t.strip() for t in text.replace(";", ",").split(",")):
        if item:
            try:
                values.append(int(item))
            except ValueError:
                raise NeuroRBMError(f"the {what} '{item}' is not a whole number") from None
    return tuple(values)


def save_beside(raster: Raster, out: Path) -> Path:
    """The viewer's raster as a file in the sweep folder (kept, for the runs and for opening them later);
    a file of that name holding another raster is a NeuroRBMError, not overwritten."""
    path = out / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', raster.name) or 'raster'}.npz"
    if path.exists():
        old = read_raster(path)
        same = (old.counts.shape == raster.counts.shape and np.array_equal(old.counts, raster.counts)
                and np.array_equal(old.unit_ids.astype(str), raster.unit_ids.astype(str))
                and np.array_equal(old.test_frames, raster.test_frames))
        if not same:
            raise NeuroRBMError(f"{path} holds another raster than the viewer's {raster.name}: choose "
                                "another sweep folder")
        return path
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroRBMError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    return raster.save(path)


def _line(placeholder: str, tip: str, text: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setPlaceholderText(placeholder)
    edit.setToolTip(tip)
    return edit


def _with_button(edit: QLineEdit, text: str, slot) -> QWidget:
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, stretch=1)
    button = QPushButton(text)
    button.clicked.connect(lambda: slot())
    row.addWidget(button)
    return holder
