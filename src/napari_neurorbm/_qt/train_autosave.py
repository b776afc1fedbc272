"""The Train dock's autosave parts: the interval field of its runs' autosaves, and the button that offers to
resume a run that did not end (napari closed or crashed during it) from its autosave."""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import LineEdit
from qtpy.QtWidgets import QPushButton

from napari_neurorbm._qt.train_job import RunAutosave
from napari_neurorbm.autosave import (
    DEFAULT_MINUTES,
    Unfinished,
    autosave_folder,
    check_minutes,
    find_unfinished,
    new_autosave_path,
)
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError

AUTOSAVE_TIP = ("Autosave the running training every this many minutes (0 = off) into {folder}. If napari "
                "closes or crashes during a run, the dock offers to resume it the next time it opens on the "
                "same raster; a run that ends in the dock removes its file. Not a model parameter.")


class AutosaveField(LineEdit):
    """Minutes between two autosaves of a running training (0 = off), as ``neurorbm train
    --autosave-minutes`` (same default)."""

    def __init__(self) -> None:
        super().__init__(name="autosave", label="Autosave (min)", value=f"{DEFAULT_MINUTES:g}",
                         tooltip=AUTOSAVE_TIP.format(folder=autosave_folder()))

    def minutes(self) -> float:
        """The interval typed, or a one-line NeuroRBMError naming the field."""
        try:
            value = float(self.value)
        except ValueError:
            raise NeuroRBMError(f"the autosave interval '{self.value}' is not a number") from None
        return check_minutes(value)

    def for_run(self, raster: Raster, path: Path | None = None) -> RunAutosave | None:
        """The autosave of a run on ``raster`` (into ``path``, else a new file), or None when it is off."""
        minutes = self.minutes()
        return None if minutes == 0 else RunAutosave(path or new_autosave_path(raster.name), minutes)


class UnfinishedOffer(QPushButton):
    """Shown while an autosave left by a run on the picked raster's units waits to be resumed."""

    def __init__(self) -> None:
        super().__init__()
        self.found: Unfinished | None = None
        self.hide()

    def look(self, raster: Raster | None) -> None:
        """Offer the latest unfinished run on ``raster``'s units (None: offer nothing, e.g. while a run
        goes)."""
        found = None if raster is None else find_unfinished(raster.unit_ids)
        self.found = found
        self.setVisible(found is not None)
        if found is not None:
            self.setText(found.describe())
            self.setToolTip(f"A run on this raster did not end (napari closed or crashed): continue it from "
                            f"its autosave {found.path}, exactly where it was saved")
