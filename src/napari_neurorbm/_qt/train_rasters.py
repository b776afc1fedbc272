"""The Train dock's raster picker: the viewer's binarized data rasters (and the state's raster) in a combo
box, with the picked raster's own train/test split below it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QGroupBox, QLabel, QVBoxLayout

from napari_neurorbm._qt.raster_layers import KEY, layers_of
from napari_neurorbm._qt.state import ViewerState
from napari_neurorbm.data.raster import Raster

if TYPE_CHECKING:
    import napari

SPLIT_TIP = ("Fraction of frames held out to measure the test log-likelihood. It is the raster's own split, "
             "set when binarizing (Load & binarize); the paper holds out 0.3.")


class RasterPicker(QGroupBox):
    """Pick the raster to train on; :attr:`changed` when the pick changes (also by :meth:`refresh`)."""

    changed = Signal()

    def __init__(self, viewer: napari.Viewer, state: ViewerState) -> None:
        super().__init__("Binarized raster")
        self.viewer, self.state = viewer, state
        self.rasters: list[Raster] = []
        self.combo = QComboBox()
        self.combo.setToolTip("The binarized data raster to train on (the viewer's data layers)")
        self.combo.currentIndexChanged.connect(self._on_pick)
        self.split = QLabel("")
        self.split.setToolTip(SPLIT_TIP)
        self.split.setWordWrap(True)
        column = QVBoxLayout(self)
        column.addWidget(self.combo)
        column.addWidget(self.split)

    def raster(self) -> Raster | None:
        """The raster picked."""
        i = self.combo.currentIndex()
        return self.rasters[i] if 0 <= i < len(self.rasters) else None

    def test_fraction(self) -> float | None:
        """The picked raster's share of test frames (None without a raster)."""
        raster = self.raster()
        return None if raster is None else raster.test_frames.size / raster.n_frames

    def refresh(self, *_: object) -> None:
        """List the viewer's data rasters (and the state's raster); keep the pick while it is still there,
        else pick the state's raster."""
        current = self.raster()
        layers = layers_of(self.viewer, role="data", kind="binary")
        named = [(layer.name, layer.metadata[KEY].get("raster")) for layer in layers]
        named = [(name, r) for name, r in named if isinstance(r, Raster)]
        if self.state.raster is not None and all(r is not self.state.raster for _, r in named):
            named.insert(0, (self.state.raster.name, self.state.raster))
        self.rasters = [r for _, r in named]
        keep = current if any(r is current for r in self.rasters) else self.state.raster
        self.combo.blockSignals(True)
        self.combo.clear()
        for name, r in named:
            self.combo.addItem(f"{name} ({r.n_units} units × {r.n_frames} frames)")
        self.combo.setCurrentIndex(next((i for i, r in enumerate(self.rasters) if r is keep), 0))
        self.combo.blockSignals(False)
        self._on_pick()

    def make_current(self, raster: Raster) -> None:
        """The model and the state's raster go together: training on a raster makes it the current one."""
        if raster is self.state.raster:
            return
        layer = next((x for x in layers_of(self.viewer, role="data", kind="binary")
                      if x.metadata[KEY].get("raster") is raster), None)
        self.state.session = None if layer is None else layer.metadata[KEY].get("session")
        self.state.raster = raster

    def _on_pick(self, *_: object) -> None:
        raster = self.raster()
        if raster is None:
            self.split.setText("No binarized raster yet: load one with Load & binarize.")
        else:
            n_test = raster.test_frames.size
            self.split.setText(f"Test fraction {n_test / max(raster.n_frames, 1):.2f}: {n_test} test and "
                               f"{raster.train_frames.size} training frames (the raster's own split)")
        self.changed.emit()
