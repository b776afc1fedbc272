"""The Load dock's source picker: a path or an address to stream from (typed, or from a file or folder
dialog) and, for an Allen Visual Behavior Neuropixels cache, the choice of one of its sessions and whether a
session not on disk is downloaded whole (else only its units are streamed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
)

from napari_neurorbm.errors import NeuroRBMError

FILE_FILTER = "Recordings (*.nwb *.npz);;NWB files (*.nwb);;Binned npz (*.npz);;All files (*)"
SESSION_ID_COLUMNS = ("ecephys_session_id", "session_id", "id")
SESSION_INFO_COLUMNS = ("mouse_id", "genotype", "experience_level", "units")


class SourcePicker(QGroupBox):
    """The recording's path and, for an Allen cache, its session; ``on_error`` gets a one-line message when
    a cache's session table cannot be read."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        super().__init__("Source")
        self._on_error = on_error
        form = QFormLayout(self)
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText(".nwb or its https:// / s3:// address, .npz, or a folder")
        self.source_edit.setToolTip(
            "An NWB file, or its address to stream only its units from (https://, s3://bucket/key, a DANDI "
            "asset); a binned npz; a Kilosort/phy, SpikeInterface or Allen cache folder"
        )
        self.source_edit.editingFinished.connect(self._on_source_changed)
        file_button = QPushButton("File…")
        file_button.setToolTip("An NWB file or a binned npz")
        file_button.clicked.connect(self._pick_file)
        folder_button = QPushButton("Folder…")
        folder_button.setToolTip(
            "A Kilosort/phy output folder, a SpikeInterface sorting or analyzer folder, or an Allen Visual "
            "Behavior Neuropixels cache"
        )
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
        self.download_check = QCheckBox("Download the whole NWB file")
        self.download_check.setEnabled(False)
        self.download_check.setToolTip(
            "For an Allen session not on disk: download its whole NWB file (gigabytes) into the cache "
            "folder. Unchecked, only its units are streamed, through the block cache."
        )
        form.addRow("", self.download_check)

    def path(self) -> str:
        """The path as typed or picked ('' when none)."""
        return self.source_edit.text().strip()

    def session_id(self) -> int | None:
        """The Allen session picked in the combo box (None when the source is not an Allen cache)."""
        return self.session_combo.currentData() if self.session_combo.isEnabled() else None

    def stream(self) -> bool:
        """Whether an Allen session not on disk is streamed (True) or downloaded whole."""
        return not (self.download_check.isEnabled() and self.download_check.isChecked())

    def set_source(self, path: str | Path) -> None:
        """Point the picker at ``path`` and, for an Allen cache, list its sessions."""
        self.source_edit.setText(str(path))
        self._on_source_changed()

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
        from napari_neurorbm.data.remote import is_url

        text = self.path()
        return str(Path(text).parent) if text and not is_url(text) else str(Path.home())

    def _on_source_changed(self) -> None:
        self.session_combo.clear()
        self.session_combo.setEnabled(False)
        self.download_check.setEnabled(False)
        text = self.path()
        if not text or not Path(text).expanduser().is_dir():
            return
        from napari_neurorbm.data.sources import source_kind

        try:
            if source_kind(text) != "allen":
                return
            from napari_neurorbm.data.allen import AllenCache

            table = AllenCache(Path(text).expanduser()).sessions(download=False)
        except NeuroRBMError as exc:
            self._on_error(str(exc))
            return
        for sid, line, tip in session_choices(table):
            self.session_combo.addItem(line, sid)
            self.session_combo.setItemData(self.session_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.session_combo.setEnabled(self.session_combo.count() > 0)
        self.download_check.setEnabled(self.session_combo.isEnabled())


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
