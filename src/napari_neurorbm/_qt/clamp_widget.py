"""The "Clamp" dock: hold chosen neurons at 1, 0 or a recorded pattern from an onset frame on, run clamped and
control chains on a worker, and show what changed per neuron and per area beyond chain-to-chain noise.

Neurons are chosen by clicking raster rows (shift-click: a range, ctrl-click: add or remove one), by area,
or by typing unit ids or rows; the choice is the viewer's shared selection (``state.selected_units``), so
units picked in another dock (e.g. a coupling pair) are the ones clamped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from napari_neurorbm._qt.clamp_plots import ClampPlots
from napari_neurorbm._qt.clamp_units import (
    clamp_job,
    describe_result,
    describe_units,
    export_experiment,
    parse_units,
)
from napari_neurorbm._qt.docking import ViewerDock, let_go
from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm._qt.image_files import save_png
from napari_neurorbm._qt.jobs import JobRunner, RunnerParts
from napari_neurorbm._qt.layout import get_layout
from napari_neurorbm._qt.model_runs import describe_model, model_raster
from napari_neurorbm._qt.raster_layers import add_onset_lines, row_under
from napari_neurorbm.analysis.generation import ClampResult
from napari_neurorbm.configs import ClampConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError

if TYPE_CHECKING:
    import napari

VALUES = {"1 (make them fire)": "1", "0 (silence them)": "0", "pattern of a recorded frame": "pattern"}
ID_KINDS = ("unit ids", "rows")


class ClampWidget(ViewerDock, RunnerParts):
    """Choose units, the clamp value and onset; Run shows the clamped and control rasters and the changes."""

    shown = Signal(object)  # the ClampResult, once its layers and plots are shown
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(napari_viewer)
        self.result: ClampResult | None = None
        self._job: dict | None = None
        self._anchor: int | None = None
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.form = ConfigForm(ClampConfig(), overrides={"chains": {"min": 2}, "frames": {"min": 2}})
        self.run_button = QPushButton("Run clamp")
        self.run_button.clicked.connect(lambda: self.runner.toggle(self.run))
        self.runner = JobRunner(self, self.run_button, what="the clamp experiment",
                                on_failed=self.failed.emit)
        self.plots = ClampPlots()
        self.plots.setVisible(False)  # until there is a result
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Rasters (npz), per-unit and per-area tables (CSV), the figure (PNG) "
                                      "and the parameters (JSON) into a folder")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._pick_folder)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.model_label)
        layout.addWidget(self._units_box())
        layout.addWidget(self._clamp_box())
        layout.addWidget(self.run_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.plots, stretch=1)
        layout.addStretch()  # takes the room of the hidden plots, so the form stays packed at the top
        layout.addWidget(self.export_button)
        self.setMinimumWidth(320)
        self.state.events.model.connect(self._describe_model)
        self.state.events.raster.connect(self._on_new_raster)
        self.state.events.selected_units.connect(self._describe_selection)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.destroyed.connect(partial(let_go, napari_viewer, [], self._on_mouse))
        self._on_raster(self.state.raster)

    # ---- form -----------------------------------------------------------------------------------
    def _units_box(self) -> QGroupBox:
        box = QGroupBox("Units to clamp")
        column = QVBoxLayout(box)
        self.selection_label = QLabel()
        self.selection_label.setWordWrap(True)
        self.click_to_pick = QCheckBox("Pick units by clicking raster rows")
        self.click_to_pick.setToolTip("Click: that unit; shift-click: every row from the last one clicked; "
                                      "ctrl-click: add or remove one unit")
        self.click_to_pick.setChecked(True)
        self.area_combo = QComboBox()
        self.area_button = QPushButton("Select area")
        self.area_button.clicked.connect(self._select_area)
        self.ids_edit = QLineEdit(placeholderText="e.g. 3, 7, 10-14")
        self.ids_edit.returnPressed.connect(self._select_typed)
        self.id_kind = QComboBox()
        self.id_kind.addItems(ID_KINDS)
        self.ids_button = QPushButton("Select")
        self.ids_button.clicked.connect(self._select_typed)
        clear_button = QPushButton("Clear")
        clear_button.clicked.connect(lambda: self.state.select([]))
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.area_combo, stretch=1)
        row1.addWidget(self.area_button)
        row1.addWidget(clear_button)
        row2.addWidget(self.ids_edit, stretch=1)
        row2.addWidget(self.id_kind)
        row2.addWidget(self.ids_button)
        column.addWidget(self.selection_label)
        column.addWidget(self.click_to_pick)
        column.addLayout(row1)
        column.addLayout(row2)
        return box

    def _clamp_box(self) -> QGroupBox:
        """What the units are held at (the dock's own choice), then the experiment's config (magicgui)."""
        box = self.form.boxed("Clamp and chains")
        self.value = QComboBox()
        self.value.addItems(list(VALUES))
        self.value.currentTextChanged.connect(lambda t: self.pattern_frame.setEnabled(VALUES[t] == "pattern"))
        self.pattern_frame = QSpinBox(minimum=0, maximum=0, enabled=False)
        self.pattern_frame.setToolTip("Frame (column) of the recording whose 0/1 values the units keep")
        held = QFormLayout()
        held.addRow("Hold at", self.value)
        held.addRow("Recorded frame", self.pattern_frame)
        box.layout().insertLayout(0, held)
        return box

    def _on_new_raster(self, raster: Raster | None) -> None:
        """Another recording: the last experiment belongs to the old rows, so it goes."""
        get_layout(self.viewer).remove_rasters(("clamped", "control"))
        self.result = None
        self.export_button.setEnabled(False)
        self.plots.setVisible(False)
        self._on_raster(raster)

    def _on_raster(self, raster: Raster | None) -> None:
        self.area_combo.clear()
        if raster is not None:
            self.area_combo.addItems(list(dict.fromkeys(str(a) for a in raster.areas)))
            self.pattern_frame.setMaximum(max(0, raster.n_frames - 1))
        self._anchor = None
        self._describe_model()
        self._describe_selection(self.state.selected_units)

    def _describe_model(self, *_: object) -> None:
        self.model_label.setText(describe_model(self.state.model))

    def _describe_selection(self, rows: Iterable[int], *_: object) -> None:
        self.selection_label.setText(describe_units(tuple(rows), self.state.raster))

    # ---- choosing units ---------------------------------------------------------------------------
    def _on_mouse(self, viewer, event):
        """A click (press and release without moving) on a raster row picks that unit."""
        try:
            active = self.isVisible() and self.click_to_pick.isChecked()
        except RuntimeError:  # the dock was deleted
            return
        if not active or getattr(event, "button", 1) != 1:
            return
        where, modifiers = tuple(event.position), tuple(event.modifiers)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = True
            yield
        if not moved:
            self.pick_at(where, modifiers)

    def pick_at(self, world_position: Sequence[float], modifiers: Iterable = ()) -> int | None:
        """Pick the unit whose row is under a world position on any raster (None off the rasters).

        Plain click: that unit alone; shift: the rows from the last clicked one to this one; ctrl (or
        cmd): add or remove this unit.
        """
        row = self.row_under(world_position)
        if row is None:
            return None
        keys = {str(getattr(m, "name", m)).lower() for m in modifiers}
        current = set(self.state.selected_units)
        if "shift" in keys and self._anchor is not None:
            lo, hi = sorted((self._anchor, row))
            picked = set(range(lo, hi + 1))
        elif keys & {"control", "meta"}:
            picked = current ^ {row}
            self._anchor = row
        else:
            picked = {row}
            self._anchor = row
        self.state.select(picked)
        return row

    def row_under(self, world_position: Sequence[float]) -> int | None:
        """Row of the current raster under a world position, on any raster or area strip shown."""
        raster = self.state.raster
        return None if raster is None else row_under(self.viewer, world_position, raster.n_units)

    def _select_area(self) -> None:
        raster = self.state.raster
        if raster is None:
            self.runner.fail("load a recording first")
            return
        area = self.area_combo.currentText()
        self.state.select(np.flatnonzero(raster.areas.astype(str) == area))

    def _select_typed(self) -> None:
        raster = self.state.raster
        try:
            if raster is None:
                raise NeuroRBMError("load a recording first")
            rows = parse_units(self.ids_edit.text(), raster, self.id_kind.currentText())
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self.state.select(rows)

    # ---- running ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Start the clamped and control chains on a worker thread."""
        try:
            config = self.form.config()
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        units = list(self.state.selected_units)
        self._job = {"raster": self.state.raster, "units": units, "value": VALUES[self.value.currentText()],
                     "pattern_frame": self.pattern_frame.value(), "onset": config.onset}
        job = clamp_job(self.state.model, self.state.raster, units, self._job["value"],
                        self._job["pattern_frame"], config)
        self.runner.start(job, "Running…", self._on_done)

    def _on_done(self, result: ClampResult) -> None:
        raster = self._job["raster"]
        self.result = result
        clamped = model_raster(result.clamped.frames, result.clamped.segment_starts, raster, "clamped")
        control = model_raster(result.control.frames, result.control.segment_starts, raster, "control")
        onset = result.clamped.clamp_onset
        layout = get_layout(self.viewer)
        layout.show_rasters([("clamped", clamped, "clamped"), ("control", control, "control (free)")])
        for run, role in ((clamped, "clamped"), (control, "control")):
            add_onset_lines(self.viewer, run, onset, role)
        layout.focus(("clamped", "control"))
        self.plots.show_result(result, raster)
        self.plots.setVisible(True)
        self.progress.setValue(1000)
        self.message.setText(describe_result(result, self._job["value"]))
        self.export_button.setEnabled(True)
        self.shown.emit(result)

    # ---- export -----------------------------------------------------------------------------------
    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the clamping experiment into a folder")
        if folder:
            self.export(folder)

    def export(self, folder: str | Path) -> list[Path]:
        """Write the experiment into ``folder``: clamped/control rasters (npz), tables (CSV), all arrays
        (npz), the figure (clamp_figure.png), the plots as shown (clamp_plots.png), parameters (JSON)."""
        if self.result is None:
            self.runner.fail("run a clamping experiment before exporting it")
            return []
        out = Path(folder)
        try:
            paths = export_experiment(self.result, self._job, self.state.model, out)
            shown = save_png(self.plots.grab(), out / "clamp_plots.png", "plots")
        except (NeuroRBMError, OSError) as exc:
            self.runner.fail(str(exc))
            return []
        self.message.setText(f"Exported {len(paths) + 1} files to {out}")
        return [*paths, shown]
