"""The "Load & binarize" dock: pick a source, set the binarization, load on a worker thread, show it."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from napari_neurorbm._qt.docking import Dock
from napari_neurorbm._qt.model_runs import show_progress
from napari_neurorbm._qt.qc_plots import DOCK_NAME, QCPanel
from napari_neurorbm._qt.raster_layers import add_raster_layers
from napari_neurorbm._qt.relay import Relay
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.data.binning import BinningParams, QualityRule, iter_binarize
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

if TYPE_CHECKING:
    import napari

FILE_FILTER = "Recordings (*.nwb *.npz);;NWB files (*.nwb);;Binned npz (*.npz);;All files (*)"
SESSION_ID_COLUMNS = ("ecephys_session_id", "session_id", "id")
SESSION_INFO_COLUMNS = ("mouse_id", "genotype", "experience_level", "units")


@dataclass(frozen=True)
class LoadFailed:
    """What a load job returns instead of raising, so that bad input becomes a one-line notification."""

    message: str


def load_job(
    path: str, session_id: int | None, params: BinningParams, session: Session | None = None
) -> Generator[Progress, None, tuple[Session, Raster] | LoadFailed]:
    """Open the source (unless ``session`` is given) and binarize it, yielding progress."""
    from napari_neurorbm.data.sources import iter_open_source

    try:
        if session is None:
            yield Progress("opening", 0, 1, Path(path).name)
            session = yield from iter_open_source(path, session_id)
        raster = yield from iter_binarize(session, params)
    except NeuroRBMError as exc:
        return LoadFailed(str(exc))
    return session, raster


class LoadWidget(Dock):
    """Choose a recording and its binarization; Load adds the count, binary and area-strip layers."""

    loaded = Signal(object)  # the new Raster, after its layers are in the viewer
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.worker = None
        self._loaded: tuple[tuple[str, int | None], Session] | None = None  # last source read, kept
        layout = QVBoxLayout(self.body)
        layout.addWidget(self._source_box())
        layout.addWidget(self._binning_box())
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(self._on_load_clicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.load_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addStretch(1)

    # ---- form -----------------------------------------------------------------------------------
    def _source_box(self) -> QGroupBox:
        box = QGroupBox("Source")
        form = QFormLayout(box)
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText(".nwb, binned .npz, phy folder or Allen cache folder")
        self.source_edit.editingFinished.connect(self._on_source_changed)
        file_button = QPushButton("File…")
        file_button.setToolTip("An NWB file or a binned npz")
        file_button.clicked.connect(self._pick_file)
        folder_button = QPushButton("Folder…")
        folder_button.setToolTip("A Kilosort/phy output folder or an Allen Visual Behavior Neuropixels cache")
        folder_button.clicked.connect(self._pick_folder)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, stretch=1)
        row.addWidget(file_button)
        row.addWidget(folder_button)
        form.addRow("Recording", row)
        self.session_combo = QComboBox()
        self.session_combo.setEnabled(False)
        self.session_combo.setToolTip("Sessions of the chosen Allen cache (mouse, genotype, units)")
        form.addRow("Allen session", self.session_combo)
        return box

    def _binning_box(self) -> QGroupBox:
        box = QGroupBox("Binarization")
        form = QFormLayout(box)
        self.bin_ms = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1e7, value=20.0, suffix=" ms")
        self.bin_ms.setSpecialValueText("native bins")
        self.bin_ms.setToolTip("Bin width; 0 keeps the native bins of a binned npz")
        self.start_s = QLineEdit(placeholderText="start of recording")
        self.stop_s = QLineEdit(placeholderText="end of recording")
        self.keep_every = QSpinBox(minimum=1, maximum=100_000, value=1)
        self.keep_every.setToolTip("Keep one frame in k (the paper used 5)")
        self.min_rate = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=10_000.0, value=0.0, suffix=" Hz")
        self.min_rate.setSpecialValueText("off")
        self.areas = QLineEdit(placeholderText="all areas (or e.g. VISp,LGd,CA1)")
        self.quality = QLineEdit(placeholderText="e.g. presence_ratio>=0.9, isi_violations<0.5")
        self.test_fraction = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.95, value=0.3, singleStep=0.05)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        form.addRow("Bin width", self.bin_ms)
        form.addRow("Start (s)", self.start_s)
        form.addRow("Stop (s)", self.stop_s)
        form.addRow("Keep every k-th frame", self.keep_every)
        form.addRow("Minimum rate", self.min_rate)
        form.addRow("Areas to keep", self.areas)
        form.addRow("Quality rules", self.quality)
        form.addRow("Test fraction", self.test_fraction)
        form.addRow("Split seed", self.seed)
        return box

    def params(self) -> BinningParams:
        """The binarization settings of the form (NeuroRBMError for a field that does not parse)."""
        areas = tuple(a.strip() for a in self.areas.text().split(",") if a.strip())
        rules = self.quality.text().replace(";", ",").split(",")
        rules = tuple(QualityRule.parse(r) for r in rules if r.strip())
        return BinningParams(
            bin_ms=self.bin_ms.value() or None,
            start_s=_optional_float(self.start_s.text(), "start"),
            stop_s=_optional_float(self.stop_s.text(), "stop"),
            keep_every=self.keep_every.value(),
            min_rate_hz=self.min_rate.value(),
            areas=areas or None,
            quality=rules,
            test_fraction=self.test_fraction.value(),
            seed=self.seed.value(),
        )

    def session_id(self) -> int | None:
        """The Allen session picked in the combo box (None when the source is not an Allen cache)."""
        return self.session_combo.currentData() if self.session_combo.isEnabled() else None

    # ---- source picking ---------------------------------------------------------------------------
    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", self._start_dir(), FILE_FILTER)
        if path:
            self.set_source(path)

    def _pick_folder(self) -> None:
        title = "Open a phy folder or an Allen cache"
        path = QFileDialog.getExistingDirectory(self, title, self._start_dir())
        if path:
            self.set_source(path)

    def _start_dir(self) -> str:
        text = self.source_edit.text().strip()
        return str(Path(text).parent) if text else str(Path.home())

    def set_source(self, path: str | Path) -> None:
        """Point the widget at ``path`` and, for an Allen cache, list its sessions."""
        self.source_edit.setText(str(path))
        self._on_source_changed()

    def _on_source_changed(self) -> None:
        self.session_combo.clear()
        self.session_combo.setEnabled(False)
        text = self.source_edit.text().strip()
        if not text or not Path(text).expanduser().is_dir():
            return
        from napari_neurorbm.data.sources import source_kind

        try:
            if source_kind(text) != "allen":
                return
            from napari_neurorbm.data.allen import AllenCache

            table = AllenCache(Path(text).expanduser()).sessions(download=False)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        for sid, line, tip in session_choices(table):
            self.session_combo.addItem(line, sid)
            self.session_combo.setItemData(self.session_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.session_combo.setEnabled(self.session_combo.count() > 0)

    # ---- loading ----------------------------------------------------------------------------------
    def _on_load_clicked(self) -> None:
        if self.worker is not None:
            self.worker.quit()
            self.message.setText("Cancelling…")
            return
        self.load()

    def load(self) -> None:
        """Start loading and binarizing on a worker thread (the same source is not read twice)."""
        from napari.qt.threading import create_worker

        path = self.source_edit.text().strip()
        try:
            if not path:
                raise NeuroRBMError("choose a recording first (File… or Folder…)")
            params = self.params()
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        key = (str(Path(path).expanduser()), self.session_id())
        reuse = self._loaded[1] if self._loaded is not None and self._loaded[0] == key else None
        self.worker = create_worker(load_job, key[0], key[1], params, reuse, _start_thread=False)
        self.worker.yielded.connect(self._on_progress)
        self.worker.returned.connect(Relay(partial(self._on_done, key), self).forward)
        self.worker.aborted.connect(self._on_aborted)
        self.worker.finished.connect(self._on_finished)
        self.load_button.setText("Cancel")
        self.progress.setValue(0)
        self.message.setText("Loading…")
        self.worker.start()

    def _on_progress(self, p: Progress) -> None:
        show_progress(self.progress, self.message, p)

    def _on_done(self, key: tuple[str, int | None], result) -> None:
        if isinstance(result, LoadFailed):
            self._fail(result.message)
            return
        session, raster = result
        self._loaded = (key, session)
        self.state.session = session
        self.state.raster = raster
        add_raster_layers(self.viewer, raster, session=session)  # the layout owner fits it into view
        self._ensure_qc_dock()
        self.progress.setValue(1000)
        self.message.setText(_describe(raster))
        self.loaded.emit(raster)

    def _on_aborted(self) -> None:
        self.progress.setValue(0)
        self.message.setText("Cancelled.")

    def _on_finished(self) -> None:
        self.worker = None
        self.load_button.setText("Load")

    def _fail(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.message.setText(message)
        show_error(message)
        self.failed.emit(message)

    def _ensure_qc_dock(self) -> None:
        window = getattr(self.viewer, "window", None)
        if window is None or any(isinstance(w, QCPanel) for w in window.dock_widgets.values()):
            return
        window.add_dock_widget(QCPanel(self.viewer), name=DOCK_NAME, area="bottom")


def session_choices(table) -> list[tuple[int, str, str]]:
    """(session id, one readable line, tooltip with the units per area) per row of an Allen sessions table."""
    id_col = next((c for c in SESSION_ID_COLUMNS if c in table.columns), None)
    ids = table[id_col].to_numpy() if id_col is not None else table.index.to_numpy()
    info_cols = [c for c in SESSION_INFO_COLUMNS if c in table.columns]
    out = []
    for sid, (_, row) in zip(ids, table.iterrows(), strict=True):
        info = [f"{row[c]} units" if c == "units" else str(row[c]) for c in info_cols]
        if "downloaded" in table.columns:
            info.append("on disk" if row["downloaded"] else "to download")
        tip = f"units per area: {row['areas']}" if "areas" in table.columns else ""
        out.append((int(sid), " · ".join([str(sid), *info]), tip))
    return out


def _optional_float(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise NeuroRBMError(f"the {what} time '{text}' is not a number of seconds") from None


def _describe(raster: Raster) -> str:
    areas = len(np.unique(raster.areas))
    minutes = raster.n_frames * raster.bin_s / 60
    return (
        f"{raster.name}: {raster.n_units} units in {areas} areas × {raster.n_frames} frames of "
        f"{raster.bin_s * 1e3:g} ms ({minutes:.1f} min kept); train {raster.train_frames.size}, "
        f"test {raster.test_frames.size} frames."
    )
