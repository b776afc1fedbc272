"""The "Clamp" dock: hold chosen neurons at 1, 0 or a recorded pattern from an onset frame on, run clamped and
control chains on a worker, and show what changed per neuron and per area beyond chain-to-chain noise.

Neurons are chosen by clicking raster rows (shift-click: a range, ctrl-click: add or remove one), by area,
or by typing unit ids or rows; the choice is the viewer's shared selection (``state.selected_units``), so
units picked in another dock (e.g. a coupling pair) are the ones clamped here.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QSize, Signal
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
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.jobs import JobRunner
from napari_neurorbm._qt.model_runs import add_onset_lines, focus, model_raster, remove_rasters, show_rasters
from napari_neurorbm._qt.raster_layers import layers_of, row_at
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.generation import (
    ClampResult,
    check_same_units,
    export_clamp_experiment,
    iter_clamp_experiment,
)
from napari_neurorbm.configs import DEVICES, INIT_LABELS, ClampConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.model import pick_device

CLAMP = ClampConfig()
INITS = {label: init for init, label in INIT_LABELS.items()}

if TYPE_CHECKING:
    import napari

VALUES = {"1 (make them fire)": "1", "0 (silence them)": "0", "pattern of a recorded frame": "pattern"}
ID_KINDS = ("unit ids", "rows")
RANGE = re.compile(r"^(-?\d+)\s*-\s*(-?\d+)$")
UP, DOWN, NOISE, CLAMPED = (240, 90, 80), (80, 150, 250), (150, 150, 150), (255, 170, 0)


def parse_units(text: str, raster: Raster, kind: str = "unit ids") -> list[int]:
    """Rows of ``raster`` named in ``text``: unit ids (or rows) separated by commas or spaces, ranges a-b.

    A range of unit ids takes the ids from a to b that the raster has; a single id it lacks is an error.
    """
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    tokens = [t for part in parts for t in ([part] if RANGE.match(part) else part.split())]
    if not tokens:
        raise NeuroRBMError(f"type {kind} to clamp, e.g. 3, 7, 10-14")
    ids = np.asarray(raster.unit_ids).astype(str)
    where = {u: i for i, u in enumerate(ids)}
    rows: list[int] = []
    for token in tokens:
        span = RANGE.match(token)
        if kind == "rows":
            rows += _row_span(token, span, raster.n_units)
        elif span:
            lo, hi = int(span[1]), int(span[2])
            numeric = np.array([u.lstrip("-").isdigit() for u in ids])
            values = np.where(numeric, ids, "0").astype(np.int64)
            hit = np.flatnonzero(numeric & (values >= lo) & (values <= hi))
            if not hit.size:
                raise NeuroRBMError(f"no unit id of the raster lies in {lo}-{hi}")
            rows += hit.tolist()
        elif token in where:
            rows.append(where[token])
        else:
            raise NeuroRBMError(f"unit id '{token}' is not in the raster (hover a row to see its unit id)")
    return sorted(set(rows))


def _row_span(token: str, span, n_units: int) -> list[int]:
    if span:
        lo, hi = int(span[1]), int(span[2])
    elif token.lstrip("-").isdigit():
        lo = hi = int(token)
    else:
        raise NeuroRBMError(f"'{token}' is not a row number or a range like 10-14")
    if lo > hi or lo < 0 or hi >= n_units:
        raise NeuroRBMError(f"rows {token} are outside the raster's rows 0-{n_units - 1}")
    return list(range(lo, hi + 1))


def clamp_values(mode: str, raster: Raster, units: Sequence[int], frame: int) -> float | np.ndarray:
    """What the units are held at: 1, 0, or their 0/1 values in frame ``frame`` of the recording."""
    if mode == "pattern":
        if not 0 <= frame < raster.n_frames:
            raise NeuroRBMError(f"frame {frame} is not in the recording (0-{raster.n_frames - 1})")
        return raster.binary[np.asarray(units), frame].astype(np.float64)
    return float(mode)


def clamp_job(model: ModelFile | None, raster: Raster | None, units: Sequence[int], mode: str, frame: int,
              onset: int, n_frames: int, tau: int, chains: int, init: str, seed: int, n_sigma: float,
              device: str = "auto") -> Generator[Progress, None, ClampResult]:
    """Check the inputs, then run clamped and control chains (see ``iter_clamp_experiment``)."""
    if model is None or raster is None:
        raise NeuroRBMError("load a recording and train or open a model first")
    check_same_units(model, raster)
    if not len(units):
        raise NeuroRBMError("choose the units to clamp first: click raster rows, pick an area or type ids")
    values = clamp_values(mode, raster, units, frame)
    rbm = model.rbm.to(pick_device(device))
    train = raster.frames("train")
    return (yield from iter_clamp_experiment(
        rbm, np.asarray(units), values, onset, n_frames, tau=tau, chains=chains, init=init,
        data=train if len(train) else None, seed=seed, areas=raster.areas, n_sigma=n_sigma,
    ))


class ClampPlots(QWidget):
    """Δ firing probability per unit (rows in the raster's order, top down) and per area, ± SE over chains,
    above a colour key."""

    def __init__(self) -> None:
        super().__init__()
        self.graphics = pg.GraphicsLayoutWidget()
        self.units = self.graphics.addPlot(row=0, col=0, title="Δ firing probability per unit")
        self.areas = self.graphics.addPlot(row=1, col=0, title="Δ per area (free units)")
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        for p in (self.units, self.areas):
            p.invertY(True)
            p.setLabel("bottom", "Δ P(active), clamped − control")
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.showGrid(x=True, y=False, alpha=0.25)
        self.key = QLabel()
        self.key.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, stretch=1)
        layout.addWidget(self.key)
        self.setMinimumHeight(380)

    def show_result(self, result: ClampResult, raster: Raster) -> None:
        """Redraw both plots from ``result`` (the raster gives the area blocks and colours)."""
        self._plot_units(result, raster)
        self._plot_areas(result, raster)

    def _plot_units(self, result: ClampResult, raster: Raster) -> None:
        p = self.units
        p.clear()
        rows = np.arange(len(result.delta))
        free, beyond = ~result.is_clamped, result.beyond & ~result.is_clamped
        p.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((200, 200, 200), width=1)))
        p.addItem(pg.ErrorBarItem(x=result.delta[free], y=rows[free], left=result.delta_se[free],
                                  right=result.delta_se[free], beam=0, pen=pg.mkPen((110, 110, 110))))
        groups = (
            (free & ~beyond, NOISE, "o", "within noise"),
            (beyond & (result.delta > 0), UP, "o", f"up, beyond {result.n_sigma:g} SE"),
            (beyond & (result.delta < 0), DOWN, "o", f"down, beyond {result.n_sigma:g} SE"),
        )
        clamped = result.is_clamped
        groups += ((clamped, CLAMPED, "t2", "clamped, drawn at 0"),)
        key = []
        for mask, colour, symbol, name in groups:
            if mask.any():
                p.plot(np.where(clamped[mask], 0.0, result.delta[mask]), rows[mask], pen=None, symbol=symbol,
                       symbolSize=9 if symbol == "t2" else 6, symbolPen=None, symbolBrush=colour,
                       name=f"{name} ({int(mask.sum())})")
            mark = "▶" if symbol == "t2" else "●"
            key.append(f"<span style='color:rgb{colour}'>{mark}</span>&nbsp;{name}&nbsp;({int(mask.sum())})")
        self.key.setText(" &nbsp; ".join(key) + " &nbsp; · bars: ± SE over chains")
        _area_axis(p, raster)
        p.setYRange(-0.5, len(rows) - 0.5, padding=0.01)

    def _plot_areas(self, result: ClampResult, raster: Raster) -> None:
        p = self.areas
        p.clear()
        colours = area_colors(raster.areas)
        names = list(result.area_names)
        y = np.arange(len(names))
        delta = np.nan_to_num(result.area_delta)
        se = np.nan_to_num(result.area_se)
        brushes = [pg.mkBrush(*(255 * colours[a][:3]).astype(int), 200) for a in names]
        pens = [pg.mkPen("w", width=2) if b else pg.mkPen(None) for b in result.area_beyond]
        bars = pg.BarGraphItem(x0=np.zeros(len(y)), y=y, height=0.6, width=delta, brushes=brushes, pens=pens)
        p.addItem(bars)
        p.addItem(pg.ErrorBarItem(x=delta, y=y, left=se, right=se, beam=0.25, pen=pg.mkPen("w")))
        p.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((200, 200, 200), width=1)))
        for i, hit in enumerate(result.area_beyond):
            if hit:
                star = pg.TextItem("*", color="w", anchor=(0, 0.5))
                star.setPos(delta[i] + np.sign(delta[i] or 1) * (se[i] + 0.05 * np.abs(delta).max()), i)
                p.addItem(star)
        p.getAxis("left").setTicks([list(enumerate(names))])
        p.getAxis("left").setStyle(hideOverlappingLabels=False)
        p.setYRange(-0.6, len(names) - 0.4, padding=0)
        p.setTitle(f"Δ per area (free units), ± SE; * beyond {result.n_sigma:g} SE")


def _area_axis(p: pg.PlotItem, raster: Raster) -> None:
    """Area names at the middle of their rows and a faint line between areas."""
    blocks = raster.area_blocks()
    p.getAxis("left").setTicks([[((s + e - 1) / 2, a) for a, s, e in blocks]])
    p.getAxis("left").setStyle(hideOverlappingLabels=False)
    for _, s, _ in blocks[1:]:
        p.addItem(pg.InfiniteLine(s - 0.5, angle=0, pen=pg.mkPen((90, 90, 90), width=1)))


class ClampWidget(QWidget):
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
        self.runs = JobRunner(self, self.run_button, what="the clamp experiment", on_failed=self.failed.emit)
        self.progress, self.message = self.runs.bar, self.runs.message
        self.plots = ClampPlots()
        self.plots.setVisible(False)  # until there is a result
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Rasters (npz), per-unit and per-area tables (CSV), the figure (PNG) "
                                      "and the parameters (JSON) into a folder")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._pick_folder)
        layout = QVBoxLayout(self)
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

    def sizeHint(self) -> QSize:
        return QSize(380, 900)

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
        self.onset = QSpinBox(minimum=0, maximum=10_000_000, value=CLAMP.onset)
        self.onset.setToolTip("Frame of each chain from which the clamp is on (0: from the start)")
        self.frames = QSpinBox(minimum=2, maximum=10_000_000, value=CLAMP.frames, singleStep=100)
        self.frames.setToolTip("Frames per run in all, split over the chains; the control run is as long")
        self.chains = QSpinBox(minimum=2, maximum=100_000, value=CLAMP.chains)
        self.chains.setToolTip("Independent chains: their spread gives the noise of each change")
        self.tau = QSpinBox(minimum=1, maximum=10_000, value=CLAMP.tau)
        self.tau.setToolTip("Gibbs sweeps between saved frames")
        self.init = QComboBox()
        self.init.addItems(list(INITS))
        self.init.setToolTip("Start each chain from a random training frame or from random 0/1 states")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.n_sigma = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=10.0, value=CLAMP.n_sigma,
                                      singleStep=0.5)
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
        remove_rasters(self.viewer, ("clamped", "control"))
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

    def _on_done(self, result: ClampResult) -> None:
        raster = self._job["raster"]
        self.result = result
        clamped = model_raster(result.clamped.frames, result.clamped.segment_starts, raster, "clamped")
        control = model_raster(result.control.frames, result.control.segment_starts, raster, "control")
        onset = result.clamped.clamp_onset
        show_rasters(self.viewer, [("clamped", clamped, "clamped"), ("control", control, "control (free)")])
        for run, role in ((clamped, "clamped"), (control, "control")):
            add_onset_lines(self.viewer, run, onset, role)
        focus(self.viewer, ("clamped", "control"))
        self.plots.show_result(result, raster)
        self.plots.setVisible(True)
        self.progress.setValue(1000)
        self.message.setText(describe_result(result, self._job["value"]))
        self.export_button.setEnabled(True)
        self.shown.emit(result)

    def _fail(self, message: str) -> None:
        self.runs.fail(message)

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
            "clamp_unit_ids": _jsonable(raster.unit_ids[job["units"]]),
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


def describe_units(rows: tuple[int, ...], raster: Raster | None) -> str:
    """'3 units: VISp 2, LGd 1 · ids 12, 40, 41' (or how to pick units when there are none)."""
    if not rows:
        return "No unit selected: click raster rows, pick an area or type ids."
    if raster is None or rows[-1] >= raster.n_units:
        return f"{len(rows)} units (rows {', '.join(map(str, rows[:12]))}{'…' if len(rows) > 12 else ''})"
    areas = raster.areas[list(rows)].astype(str)
    counts = ", ".join(f"{a} {int(np.sum(areas == a))}" for a in dict.fromkeys(areas))
    ids = [str(u) for u in np.asarray(raster.unit_ids)[list(rows)]]
    shown = ", ".join(ids[:12]) + ("…" if len(ids) > 12 else "")
    return f"{len(rows)} unit{'s' * (len(rows) > 1)}: {counts} · ids {shown}"


def describe_result(result: ClampResult, value: str) -> str:
    """One sentence: what was clamped and how many units and areas changed beyond the noise."""
    free = ~result.is_clamped
    up = int(np.sum(result.beyond & free & (result.delta > 0)))
    down = int(np.sum(result.beyond & free & (result.delta < 0)))
    held = {"1": "at 1", "0": "at 0", "pattern": "at a recorded pattern"}[value]
    return (f"Clamped {int(result.is_clamped.sum())} units {held} from frame {result.clamped.clamp_onset} "
            f"of {result.clamped.n_chains} chains: {up} free units fire more and {down} less beyond "
            f"{result.n_sigma:g} SE of the chain-to-chain noise; {int(np.sum(result.area_beyond))} of "
            f"{len(result.area_names)} areas change.")


def model_summary(model: ModelFile | None) -> dict | None:
    """The model's size and the training update it holds, for the exported parameters."""
    if model is None:
        return None
    meta = model.metadata
    return {"n_visible": model.rbm.n_visible, "n_hidden": model.rbm.n_hidden,
            "update": meta.get("selected_update", meta.get("update"))}


def _n_rows(layer) -> int:
    return int(layer.level_shapes[0][0] if getattr(layer, "multiscale", False) else layer.data.shape[0])


def _jsonable(x):
    return json.loads(json.dumps(np.asarray(x).tolist() if x is not None else None, default=str))


def _forget_callback(viewer: napari.Viewer, callback):
    """A slot that removes ``callback`` from the viewer's mouse callbacks (the viewer may be gone)."""
    ref = weakref.ref(viewer)

    def forget() -> None:
        v = ref()
        if v is not None and callback in v.mouse_drag_callbacks:
            v.mouse_drag_callbacks.remove(callback)

    return forget
