"""The Couplings dock's "Replicate models" box: open several model files of one configuration on the same
units (seeds, time-block halves; analysis/reliability.py) and choose what the J matrix shows of them: their
mean J, its spread over the replicates, or the mean J of the reliable pairs only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtWidgets import QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from napari_neurorbm._qt.couplings_job import VIEWS
from napari_neurorbm._qt.train_files import MODEL_FILTER
from napari_neurorbm.analysis.couplings import CouplingsResult

if TYPE_CHECKING:
    from napari_neurorbm._qt.coupling_layers import CouplingLayers

NO_REPLICATES = "The matrix is one model's J. Open two or more model files of one configuration (seeds, " \
                "time-block halves) for their mean J, its spread and the reliable pairs."


class ReplicatesBox(QGroupBox):
    """Opens replicate model files (``open_files`` starts the dock's job on them) and sets the matrix's view;
    ``threshold`` gives the reliability threshold t of the dock's form."""

    def __init__(self, matrix: CouplingLayers, open_files: Callable[[list[str]], None],
                 threshold: Callable[[], float]) -> None:
        super().__init__("Replicate models")
        self.matrix, self._open, self._threshold = matrix, open_files, threshold
        self.result: CouplingsResult | None = None
        self.open_button = QPushButton("Open replicates…")
        self.open_button.setToolTip("Two or more model files of one configuration on the same units "
                                    "(different seeds, or the two time-block halves of the training frames)")
        self.open_button.clicked.connect(self._pick)
        self.view = QComboBox(toolTip="What the J matrix shows of the replicates")
        for key, text in VIEWS.items():
            self.view.addItem(text, key)
        self.view.currentIndexChanged.connect(self.redraw)
        self.view.setEnabled(False)
        self.label = QLabel(NO_REPLICATES, wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(QLabel("Show"))
        row.addWidget(self.view, stretch=1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.label)

    def _pick(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open replicate models", str(Path.home()), MODEL_FILTER)
        if paths:
            self._open(paths)

    def show_result(self, result: CouplingsResult) -> None:
        """Describe the couplings shown (one model or replicates) and draw the chosen view of them."""
        self.result = result
        self.view.setEnabled(result.replicates is not None)
        self.redraw()

    def set_view(self, key: str) -> None:
        """Choose a view by its VIEWS key."""
        self.view.setCurrentIndex(self.view.findData(key))

    def redraw(self, *_: object) -> None:
        """Draw the chosen view at the form's threshold, and count the reliable pairs."""
        t = self._threshold()
        self.matrix.set_view(self.view.currentData(), t)
        rep = self.result.replicates if self.result is not None else None
        if rep is None:
            self.label.setText(NO_REPLICATES)
            return
        n = len(rep.pairs.mean)
        self.label.setText(f"Mean of {rep.n_replicates} replicates: {', '.join(rep.names)}. "
                           f"{rep.n_reliable(t)} of {n * (n - 1) // 2} pairs reliable (t = |mean J| / "
                           f"standard error ≥ {t:g}).")
