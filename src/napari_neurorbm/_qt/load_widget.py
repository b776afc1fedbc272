"""The "Load & binarize" dock: pick a source, set the binarization, load on a worker thread, show it.

Built from the source picker (:mod:`.source_picker`), the binning form (:class:`~napari_neurorbm.configs.
BinningConfig`) and the job runner. A bin width the user did not choose follows the rule of every entry
point (``data.binning.unchosen_width``: a binned source keeps its native bins), and a width that does not
fit a binned source's bins is replaced in the form by the native one, which the message offers. Once a
source is read, the epoch fields complete its epochs' names and columns."""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QCompleter, QPushButton

from napari_neurorbm._qt.docking import ViewerDock
from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm._qt.jobs import JobRunner, RunnerParts
from napari_neurorbm._qt.qc_plots import DOCK_NAME, QCPanel
from napari_neurorbm._qt.raster_layers import add_raster_layers
from napari_neurorbm._qt.source_picker import SourcePicker, session_choices
from napari_neurorbm.configs import BinningConfig
from napari_neurorbm.data.binning import DEFAULT_BINNING, bins_per_frame, iter_binarize, unchosen_width
from napari_neurorbm.data.celltypes import describe_classes
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

if TYPE_CHECKING:
    import napari

__all__ = ["LoadWidget", "load_job", "session_choices"]
Key = tuple[str, "int | None"]  # a source: its path or address and, in an Allen cache, the session id


def load_job(path: str, session_id: int | None, params: BinningConfig, session: Session | None = None,
             width_chosen: bool = True, stream: bool = True,
             ) -> Generator[Progress, None, tuple[Session, Raster]]:
    """Open the source (unless ``session`` is given; the opened session is reported as the payload of an
    'opened' record) and binarize it, with the entry points' width when ``width_chosen`` is False; ``stream``
    as in ``iter_open_source``."""
    from napari_neurorbm.data.sources import iter_open_source

    if session is None:
        yield Progress("opening", 0, 0, Path(path).name)
        session = yield from iter_open_source(path, session_id, stream)
    yield Progress("opened", 1, 1, session.name, payload=session)
    if not width_chosen:
        params = unchosen_width(session, params.replace(bin_ms=DEFAULT_BINNING.bin_ms))
    raster = yield from iter_binarize(session, params)
    return session, raster


class LoadWidget(ViewerDock, RunnerParts):
    """Choose a recording and its binarization; Load adds the count, binary and area-strip layers."""

    loaded = Signal(object)  # the new Raster, after its layers are in the viewer
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(napari_viewer)
        self._opened: tuple[Key, Session] | None = None  # the last source read, kept for the next load
        self._asked_ms: float | None = None  # the bin width the user chose for the running load
        self.source = SourcePicker(on_error=lambda message: self.runner.fail(message))
        self.form = ConfigForm(BinningConfig())
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(lambda: self.runner.toggle(self.load))
        self.runner = JobRunner(self, self.load_button, what="loading", on_failed=self._on_failed,
                                stop_text="Cancel", stopped_text="Cancelled.")
        self.stack(self.source, self.form.boxed("Binarization"), self.load_button, self.runner.bar,
                   self.runner.message)

    @property
    def session_combo(self):
        """The Allen sessions of the chosen cache."""
        return self.source.session_combo

    def set_source(self, path: str | Path) -> None:
        """Point the widget at ``path`` and, for an Allen cache, list its sessions."""
        self.source.set_source(path)

    def session_id(self) -> int | None:
        """The Allen session picked (None when the source is not an Allen cache)."""
        return self.source.session_id()

    def load(self) -> None:
        """Start loading and binarizing on a worker thread (the same source is not read twice)."""
        path = self.source.path()
        try:
            if not path:
                raise NeuroRBMError("choose a recording first (File…, Folder… or type an address)")
            params = self.form.config()
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        from napari_neurorbm.data.remote import is_url

        key = (path if is_url(path) else str(Path(path).expanduser()), self.session_id())
        reuse = self._opened[1] if self._opened is not None and self._opened[0] == key else None
        self._asked_ms = params.bin_ms if "bin_ms" in self.form.chosen else None
        job = load_job(key[0], key[1], params, reuse, "bin_ms" in self.form.chosen, self.source.stream())
        self.runner.start(job, "Loading…", self._show, on_progress=partial(self._keep_session, key))

    def _keep_session(self, key: Key, p: Progress) -> None:
        if isinstance(p.payload, Session):
            self._opened = (key, p.payload)
            self._offer_epochs(p.payload)

    def _offer_epochs(self, session: Session) -> None:
        """The epoch and epoch-column fields complete what the session has (their tooltips list it)."""
        epochs = session.epochs
        offers = {"epoch": epochs.names() if epochs else [], "epoch_column": epochs.columns if epochs else []}
        for name, words in offers.items():
            field = self.form[name]
            field.native.setCompleter(QCompleter(words, field.native))
            help_text = field.tooltip.split("\n")[0]
            field.tooltip = help_text + (f"\n{session.name} has: {', '.join(words)}" if words else "")

    def _show(self, result: tuple[Session, Raster]) -> None:
        session, raster = result
        self.state.session = session
        self.state.raster = raster
        add_raster_layers(self.viewer, raster, session=session)  # the layout owner fits it into view
        self.form.fill(bin_ms=raster.bin_s * 1e3)  # the width used, as the program's choice
        self._ensure_qc_dock()
        self.message.setText(_describe(raster))
        self.loaded.emit(raster)

    def _on_failed(self, message: str) -> None:
        """A width that does not fit the source's bins: the form offers the native width (the message too)."""
        session = None if self._opened is None else self._opened[1]
        asked = self._asked_ms
        if session is not None and session.is_binned and asked and not bins_per_frame(asked / 1e3,
                                                                                       session.bin_s):
            self.form.fill(bin_ms=float(session.bin_s) * 1e3)
        self.failed.emit(message)

    def _ensure_qc_dock(self) -> None:
        window = getattr(self.viewer, "window", None)
        if window is None or any(isinstance(w, QCPanel) for w in window.dock_widgets.values()):
            return
        window.add_dock_widget(QCPanel(self.viewer), name=DOCK_NAME, area="bottom")


def _describe(raster: Raster) -> str:
    areas = len(np.unique(raster.areas))
    minutes = raster.n_frames * raster.bin_s / 60
    classes = describe_classes(raster.classes)
    return (
        f"{raster.name}: {raster.n_units} units in {areas} areas × {raster.n_frames} frames of "
        f"{raster.bin_s * 1e3:g} ms ({minutes:.1f} min kept); train {raster.train_frames.size}, "
        f"test {raster.test_frames.size} frames." + (f" Putative E/I: {classes}." if classes else "")
    )
