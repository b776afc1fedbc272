"""One tab of the Analyses dock: an analysis's settings form, Run / Stop with progress on a job runner, a
pyqtgraph figure with its legend below it, the headline numbers, and an export of the curves (CSV) with the
figure (PNG).

A tab is a subclass that says what it is (``title``, the short ``label`` on its tab, ``name``, its config
class and, when not all of them, the ``fields`` its form shows (``text_fields`` as text), the state fields
it reads in ``inputs``) and fills in five methods: :meth:`missing` (the one line that says what input it
lacks), :meth:`job` (a core generator), :meth:`draw`, :meth:`table` and :meth:`describe`. When an input
changes
(another recording, a new model, other generated activity) the result shown is of the old input, so it goes.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyqtgraph as pg
import pyqtgraph.exporters
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm._qt.image_files import save_png
from napari_neurorbm._qt.jobs import JobRunner, RunnerParts
from napari_neurorbm._qt.state import ViewerState
from napari_neurorbm._qt.wrapping import fit_wrapped_labels
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.configs import Config
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

CSV_FILTER = "CSV table (*.csv);;All files (*)"
PLOT_MIN_HEIGHT = 300
STAGES = {"spectrum": "PC spectrum", "DMD": "DMD", "generating": "Sampling the model",
          "multi-information": "Multi-information", "heat capacity": "Heat capacity",
          "choosing the L2 penalty": "Choosing the L2 penalty",
          "pseudolikelihood": "Pseudolikelihood fit", "moments": "Moments check", "ais": "AIS log Z"}


class AnalysisTab(QWidget, RunnerParts):
    """The frame every analysis tab shares; subclasses fill in the class attributes and the five methods."""

    title: str  # what it computes, in messages
    label: str  # the tab's text (short: four tabs share a dock's width)
    name: str  # the stem of exported files
    config: type[Config]
    fields: tuple[str, ...] | None = None  # the config's fields on the form (None: all; the others: defaults)
    text_fields: tuple[str, ...] = ()  # numbers shown as text fields (no natural step: forms.ConfigForm)
    inputs: tuple[str, ...]  # the ViewerState fields the analysis reads

    shown = Signal(object)  # the result, once drawn
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, state: ViewerState) -> None:
        super().__init__()
        self.state = state
        self.result: Any = None
        self._ran_on: tuple = ()
        self.form = ConfigForm(self.config(), only=self.fields, text=self.text_fields)
        self.needs = QLabel(wordWrap=True, objectName="needs")
        self.needs.setStyleSheet("color: rgb(250, 170, 60)")
        self.run_button = QPushButton("Run", toolTip=f"Compute the {self.title.lower()}; click again to stop")
        self.run_button.clicked.connect(lambda: self.runner.toggle(self.run))
        self.export_button = QPushButton("Export…", enabled=False,
                                         toolTip="The curves as a CSV table, the figure as a PNG beside it")
        self.export_button.clicked.connect(self._pick_file)
        self.runner = JobRunner(self, self.run_button, what=f"the {self.title.lower()}",
                                on_failed=self.failed.emit, stopped_text="Stopped.", stage_names=STAGES)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(PLOT_MIN_HEIGHT)
        # it takes the room the dock has, but asks for no more than its minimum: a dock body that scrolls is
        # sized by its preferred height, which would push the numbers below out of view
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.view.ci.setContentsMargins(2, 2, 12, 2)  # room for the last tick label of the x axis
        self.plot = self.view.addPlot(row=0, col=0)
        self.legend = pg.LegendItem(labelTextSize="9pt", colCount=1)
        self.view.addItem(self.legend, row=1, col=0)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._lay_out()
        fit_wrapped_labels(self)  # a long message or summary makes the tab taller, never covers the figure
        for field in self.inputs:
            getattr(state.events, field).connect(self._on_input)
        self.destroyed.connect(partial(_let_go, state, self.inputs, self._on_input))
        self._on_input()

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        for part in (self.needs, self.form.boxed("Settings"), buttons, self.runner.bar, self.runner.message):
            layout.addWidget(part) if isinstance(part, QWidget) else layout.addLayout(part)
        layout.addWidget(self.view, stretch=1)
        layout.addWidget(self.summary)

    # ---- what a tab fills in ----------------------------------------------------------------------
    def missing(self) -> str | None:
        """What the analysis needs and the viewer lacks, in one line; None when it can run."""
        raise NotImplementedError

    def job(self, config: Config) -> Generator[Progress, None, Any]:
        """The core job on the state's inputs."""
        raise NotImplementedError

    def draw(self, result: Any) -> None:
        """Draw ``result`` on the cleared plot and legend."""
        raise NotImplementedError

    def table(self, result: Any) -> pd.DataFrame:
        """The curves of ``result`` as a table (the CLI's CSV)."""
        raise NotImplementedError

    def describe(self, result: Any) -> str:
        """The headline numbers of ``result`` in a few words."""
        raise NotImplementedError

    # ---- running ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Start the analysis on a worker thread (or say in one line what it needs)."""
        try:
            need = self.missing()
            if need:
                raise NeuroRBMError(need)
            job = self.job(self.form.config())
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        self._ran_on = self._inputs_now()
        self.runner.start(job, "Running…", self._on_done)

    def _inputs_now(self) -> tuple:
        return tuple(getattr(self.state, field) for field in self.inputs)

    def _on_done(self, result: Any) -> None:
        if any(a is not b for a, b in zip(self._ran_on, self._inputs_now(), strict=True)):
            self.message.setText("Its input changed while it ran: run it again.")
            return
        self.result = result
        self._clear()
        self.draw(result)
        self.summary.setText(self.describe(result))
        self.export_button.setEnabled(True)
        self.message.setText("Done.")
        self.shown.emit(result)

    def _on_input(self, *_: object) -> None:
        """An input changed: the result shown is of the old one; say what is missing now."""
        if self.result is not None:
            self.result = None
            self._clear()
            self.summary.setText("")
            self.export_button.setEnabled(False)
        need = self.missing()
        self.needs.setText(need or "")
        self.needs.setVisible(bool(need))

    def _clear(self) -> None:
        self.plot.clear()
        self.legend.clear()

    # ---- export -----------------------------------------------------------------------------------
    def _pick_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {self.title.lower()}",
                                              str(Path.home() / f"{self.name}.csv"), CSV_FILTER)
        if path:
            self.export(path)

    def export(self, path: str | Path) -> list[Path]:
        """Write the curves as CSV at ``path``, the figure as a PNG beside it (same name, .png) and the tab's
        :meth:`extra_files`; the files written, none on failure (then a one-line message)."""
        csv = Path(path).with_suffix(".csv")
        png = csv.with_suffix(".png")
        try:
            if self.result is None:
                raise NeuroRBMError(f"run the {self.title.lower()} before exporting it")
            write_csv(csv, self.table(self.result), index=False)
            save_png(pg.exporters.ImageExporter(self.view.scene()).export(toBytes=True), png)
            extra = self.extra_files(csv)
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return []
        names = [csv.name, png.name, *(phrase.format(p.name) for phrase, p in extra)]
        self.message.setText(f"Wrote {', '.join(names[:-1])} and {names[-1]} in {csv.parent}")
        return [csv, png, *(p for _, p in extra)]

    def extra_files(self, csv: Path) -> list[tuple[str, Path]]:
        """Files a tab writes beside its CSV and PNG (``csv`` names them), each with the phrase that names it
        in the message ('{}' stands for the file's name); none by default."""
        return []


def _let_go(state: ViewerState, inputs: tuple[str, ...], slot, *_: object) -> None:
    """A closed tab stops listening to the state, which outlives it."""
    for field in inputs:
        getattr(state.events, field).disconnect(slot)


def pen(colour: tuple[int, int, int], width: float = 2, dashed: bool = False) -> pg.QtGui.QPen:
    """A cosmetic pen in one of the series colours."""
    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    return pg.mkPen(colour, width=width, style=style)
