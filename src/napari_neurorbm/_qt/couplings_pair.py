"""The Couplings dock's "Selected pair" box: a pair of units picked on the J matrix, described (areas, J_ij,
R_ij computed on a worker, firing rates), marked on the matrix and made the viewer's selection so that the
Clamp dock clamps it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout

from napari_neurorbm._qt.couplings_job import pair_indicator
from napari_neurorbm._qt.relay import Relay
from napari_neurorbm.analysis.couplings import CouplingsResult

if TYPE_CHECKING:
    from napari_neurorbm._qt.coupling_layers import CouplingLayers
    from napari_neurorbm._qt.state import ViewerState


class PairBox(QGroupBox):
    """Shows and selects the pair picked on the matrix; ``say`` writes a line in the dock's message."""

    shown = Signal(int, int)  # row, column of the pair described

    def __init__(self, state: ViewerState, matrix: CouplingLayers, say: Callable[[str], None]) -> None:
        super().__init__("Selected pair (click a pixel of J)")
        self.state, self.matrix, self._say = state, matrix, say
        self.label = QLabel("No pair selected.", wordWrap=True)
        self.clamp_button = QPushButton("Send to Clamp", enabled=False)
        self.clamp_button.setToolTip("Select the two units; the Clamp widget works on the current selection")
        self.clamp_button.clicked.connect(self.send_to_clamp)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.clamp_button)

    def clear(self) -> None:
        """No pair (new couplings)."""
        self.label.setText("No pair selected.")
        self.clamp_button.setEnabled(False)

    def pick_at(self, world_position: Sequence[float]) -> tuple[int, int] | None:
        """Show the pair under a world position of the J matrix (None off the matrix or on its diagonal)."""
        image, result = self.matrix.layer("matrix"), self.state.couplings
        if image is None or not image.visible or not isinstance(result, CouplingsResult):
            return None
        r, c = (int(np.floor(x + 0.5)) for x in image.world_to_data(world_position)[-2:])
        n = len(result.J)
        if not (0 <= r < n and 0 <= c < n) or r == c:
            return None
        self.show_pair(r, c)
        return r, c

    def show_pair(self, i: int, j: int) -> None:
        """Describe the pair (i, j) in the box, mark it, highlight both units on the rasters, compute R_ij."""
        from napari.qt.threading import create_worker

        result = self.state.couplings
        if not isinstance(result, CouplingsResult):
            return
        self.matrix.mark((i, j))
        self._write_pair(result, i, j, None)
        self._select(i, j)
        self.clamp_button.setEnabled(True)
        worker = create_worker(pair_indicator, result, i, j, _start_thread=False)
        worker.returned.connect(Relay(self._on_r, self).forward)
        worker.start()
        self.shown.emit(i, j)

    def _on_r(self, answer: tuple[CouplingsResult, int, int, float]) -> None:
        result, i, j, r = answer
        if (i, j) == self.matrix.pair and result is self.state.couplings:
            self._write_pair(result, i, j, r)

    def _write_pair(self, result: CouplingsResult, i: int, j: int, r: float | None) -> None:
        def unit(k: int) -> str:
            area = f"{result.areas[k]}, " if result.areas is not None else ""
            return f"unit {result.unit_ids[k]} ({area}row {k})"

        raster = self.state.raster
        rates = raster.rates_hz() if raster is not None and raster.n_units == len(result.J) else None
        rep = result.replicates
        self.label.setText("\n".join([
            f"{unit(i)} ↔ {unit(j)}",
            f"J_ij = {result.J[i, j]:+.4g}    R_ij = " + ("computing…" if r is None else f"{r:.4g}"),
            *([] if rep is None else [
                f"over {rep.n_replicates} replicates (means): SD {rep.pairs.std[i, j]:.3g}, "
                f"t = {rep.pairs.t[i, j]:.3g}"]),
            "firing rates: "
            + (f"{rates[i]:.3g} Hz, {rates[j]:.3g} Hz" if rates is not None else "no raster loaded"),
        ]))

    def _select(self, i: int, j: int) -> None:
        raster = self.state.raster
        if raster is not None and raster.n_units == len(self.state.couplings.J):
            self.state.select([i, j])

    def send_to_clamp(self) -> None:
        """Make the pair the current selection (the Clamp widget clamps the selected units)."""
        if self.matrix.pair is None:
            return
        self._select(*self.matrix.pair)
        first, second = (self.state.couplings.unit_ids[k] for k in self.matrix.pair)
        self._say(f"Units {first} and {second} selected for the Clamp widget.")
