"""The "Clamp" dock: hold chosen neurons at 1, 0 or a recorded pattern from an onset frame on, run clamped and
control chains on a worker, and show what changed per neuron and per area beyond chain-to-chain noise.

Neurons are chosen by clicking raster rows (shift-click: a range, ctrl-click: add or remove one), by area,
or by typing unit ids or rows; the choice is the viewer's shared selection (``state.selected_units``), so
units picked in another dock (e.g. a coupling pair) are the ones clamped here.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from napari_neurorbm._qt.clamp_plots import ClampPlots
from napari_neurorbm._qt.clamp_units import (
    clamp_job,
    describe_result,
    describe_units,
    jsonable,
    model_summary,
    parse_units,
)
from napari_neurorbm._qt.docking import Dock
from napari_neurorbm._qt.generate_widget import DEVICES, INITS
from napari_neurorbm._qt.layout import get_layout
from napari_neurorbm._qt.model_runs import JobControl, JobFailed, model_raster, show_failure
from napari_neurorbm._qt.raster_layers import layers_of, row_at
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.generation import DEFAULT_CHAINS, ClampResult, export_clamp_experiment
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError

if TYPE_CHECKING:
    import napari

VALUES = {"1 (make them fire)": "1", "0 (silence them)": "0", "pattern of a recorded frame": "pattern"}
ID_KINDS = ("unit ids", "rows")


class ClampWidget(Dock):
    """Choose units, the clamp value and onset; Run shows the clamped and control rasters and the changes."""

    shown = Signal(object)  # the ClampResult, once its layers and plots are shown
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.result: ClampResult | None = None
        self._job: dict | None = None
        self._anchor: int | None = None
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.run_button = QPushButton("Run clamp")
        self.run_button.clicked.connect(self._on_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.runs = JobControl(self, self.run_button, self.progress, self.message, "Run clamp")
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
        layout.addWidget(self.export_button)
        self.setMinimumWidth(320)
        self.state.events.model.connect(self._describe_model)
        self.state.events.raster.connect(self._on_new_raster)
        self.state.events.selected_units.connect(self._describe_selection)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.destroyed.connect(_forget_callback(napari_viewer, self._on_mouse))
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
        box = QGroupBox("Clamp and chains")
        grid = QGridLayout(box)
        self.value = QComboBox()
        self.value.addItems(list(VALUES))
        self.value.currentTextChanged.connect(lambda t: self.pattern_frame.setEnabled(VALUES[t] == "pattern"))
        self.pattern_frame = QSpinBox(minimum=0, maximum=0)
        self.pattern_frame.setToolTip("Frame (column) of the recording whose 0/1 values the units keep")
        self.pattern_frame.setEnabled(False)
        self.onset = QSpinBox(minimum=0, maximum=10_000_000, value=50)
        self.onset.setToolTip("Frame of each chain from which the clamp is on (0: from the start)")
        self.frames = QSpinBox(minimum=2, maximum=10_000_000, value=2000, singleStep=100)
        self.frames.setToolTip("Frames per run in all, split over the chains; the control run is as long")
        self.chains = QSpinBox(minimum=2, maximum=100_000, value=DEFAULT_CHAINS)
        self.chains.setToolTip("Independent chains: their spread gives the noise of each change")
        self.tau = QSpinBox(minimum=1, maximum=10_000, value=5)
        self.tau.setToolTip("Gibbs sweeps between saved frames")
        self.init = QComboBox()
        self.init.addItems(list(INITS))
        self.init.setToolTip("Start each chain from a random training frame or from random 0/1 states")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.n_sigma = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=10.0, value=3.0, singleStep=0.5)
        self.n_sigma.setToolTip("A change counts when it exceeds this many standard errors across chains")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        grid.addWidget(QLabel("Hold at"), 0, 0)
        grid.addWidget(self.value, 0, 1, 1, 3)
        pairs = (("Recorded frame", self.pattern_frame, "Onset frame", self.onset),
                 ("Frames", self.frames, "Chains", self.chains),
                 ("τ (sweeps)", self.tau, "Seed", self.seed),
                 ("Start from", self.init, "Noise (SE)", self.n_sigma),
                 ("Device", self.device, None, None))
        for row, (a, wa, b, wb) in enumerate(pairs, start=1):
            grid.addWidget(QLabel(a), row, 0)
            grid.addWidget(wa, row, 1)
            if b is not None:
                grid.addWidget(QLabel(b), row, 2)
                grid.addWidget(wb, row, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
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
        model = self.state.model
        self.model_label.setText("No model yet: train one or open a model file." if model is None else
                                 f"Model: {model.rbm.n_visible} visible × {model.rbm.n_hidden} hidden units.")

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
        if raster is None:
            return None
        for layer in layers_of(self.viewer, kind="binary") + layers_of(self.viewer, kind="areas"):
            if not layer.visible:
                continue
            (_, x0), (_, x1) = layer.extent.world[:, -2:]
            x = world_position[-1]
            row = row_at(layer, world_position)
            if row is not None and x0 <= x <= x1 and _n_rows(layer) == raster.n_units:
                return row
        return None

    def _select_area(self) -> None:
        raster = self.state.raster
        if raster is None:
            self._fail("load a recording first")
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
            self._fail(str(exc))
            return
        self.state.select(rows)

    # ---- running ----------------------------------------------------------------------------------
    @property
    def worker(self):
        """The running clamp job's worker, or None."""
        return self.runs.worker

    def _on_button(self) -> None:
        self.runs.toggle(self.run)

    def run(self) -> None:
        """Start the clamped and control chains on a worker thread."""
        units = list(self.state.selected_units)
        self._job = {
            "raster": self.state.raster, "units": units, "value": VALUES[self.value.currentText()],
            "pattern_frame": self.pattern_frame.value(), "onset": self.onset.value(),
        }
        job = clamp_job(self.state.model, self.state.raster, units, self._job["value"],
                        self._job["pattern_frame"], self.onset.value(), self.frames.value(), self.tau.value(),
                        self.chains.value(), INITS[self.init.currentText()], self.seed.value(),
                        self.n_sigma.value(), self.device.currentText())
        self.runs.start(job, "Running…", self._on_done)

    def _on_done(self, result: ClampResult | JobFailed) -> None:
        if isinstance(result, JobFailed):
            self._fail(result.message)
            return
        raster = self._job["raster"]
        self.result = result
        clamped = model_raster(result.clamped.frames, result.clamped.segment_starts, raster, "clamped")
        control = model_raster(result.control.frames, result.control.segment_starts, raster, "control")
        onset = result.clamped.clamp_onset
        layout = get_layout(self.viewer)
        layout.show_rasters([("clamped", clamped, "clamped"), ("control", control, "control (free)")])
        for run, role in ((clamped, "clamped"), (control, "control")):
            layout.add_onset_lines(run, onset, role)
        layout.focus(("clamped", "control"))
        self.plots.show_result(result, raster)
        self.plots.setVisible(True)
        self.progress.setValue(1000)
        self.message.setText(describe_result(result, self._job["value"]))
        self.export_button.setEnabled(True)
        self.shown.emit(result)

    def _fail(self, message: str) -> None:
        show_failure(message, self.message)
        self.failed.emit(message)

    # ---- export -----------------------------------------------------------------------------------
    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the clamping experiment into a folder")
        if folder:
            self.export(folder)

    def export(self, folder: str | Path) -> list[Path]:
        """Write the experiment into ``folder``: clamped/control rasters (npz), tables (CSV), all arrays
        (npz), the figure (clamp_figure.png), the plots as shown (clamp_plots.png), parameters (JSON)."""
        from napari_neurorbm.analysis.report import clamp_figure

        if self.result is None:
            self._fail("run a clamping experiment before exporting it")
            return []
        raster, job = self._job["raster"], self._job
        out = Path(folder)
        extra = {
            "raster": raster.name, "value": job["value"],
            "clamp_unit_ids": jsonable(raster.unit_ids[job["units"]]),
            "clamp_areas": raster.areas[job["units"]].astype(str).tolist(),
            "pattern_frame": job["pattern_frame"] if job["value"] == "pattern" else None,
            "model": model_summary(self.state.model),
        }
        try:
            paths = export_clamp_experiment(self.result, out, bin_s=raster.bin_s, unit_ids=raster.unit_ids,
                                            extra_params=extra)
            figure = out / "clamp_figure.png"
            clamp_figure(self.result, raster.bin_s).savefig(figure, dpi=110)
            shown = out / "clamp_plots.png"
            if not self.plots.grab().save(str(shown)):
                raise OSError(f"cannot write {shown}")
        except (NeuroRBMError, OSError) as exc:
            self._fail(str(exc))
            return []
        self.message.setText(f"Exported {len(paths) + 2} files to {out}")
        return [*paths, figure, shown]


def _n_rows(layer) -> int:
    return int(layer.level_shapes[0][0] if getattr(layer, "multiscale", False) else layer.data.shape[0])


def _forget_callback(viewer: napari.Viewer, callback):
    """A slot that removes ``callback`` from the viewer's mouse callbacks (the viewer may be gone)."""
    ref = weakref.ref(viewer)

    def forget() -> None:
        v = ref()
        if v is not None and callback in v.mouse_drag_callbacks:
            v.mouse_drag_callbacks.remove(callback)

    return forget
