"""The Train dock's model files: Save writes the dock's model whole (selected checkpoint, checkpoints,
chains, training record and the run's resumable state), so that the run continues exactly from the file, in
the dock or with ``neurorbm train --resume``; Load makes a file the viewer's model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWidget

from napari_neurorbm._qt.state import ViewerState
from napari_neurorbm._qt.train_models import selected_update, write_model_file
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, load_model

MODEL_FILTER = "RBM model (*.npz);;All files (*)"


class ModelFileButtons(QWidget):
    """Save model… and Load model…. ``model`` and ``raster`` say what the dock holds; ``fail`` reports a
    one-line error, ``say`` a result."""

    def __init__(self, state: ViewerState, model: Callable[[], ModelFile | None],
                 raster: Callable[[], Raster | None], fail: Callable[[str], None], say: Callable[[str], None]
                 ) -> None:
        super().__init__()
        self.state, self._model, self._raster, self._fail, self._say = state, model, raster, fail, say
        self.save_button = QPushButton("Save model…")
        self.save_button.setToolTip("Write the viewer's model, its checkpoints, training record and "
                                    "resumable state to an npz (neurorbm train --resume continues it)")
        self.save_button.clicked.connect(self._pick_save_path)
        self.load_button = QPushButton("Load model…")
        self.load_button.setToolTip("Read a model file (neurorbm train, or saved here) as the viewer's model")
        self.load_button.clicked.connect(self._pick_load_path)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.save_button)
        row.addWidget(self.load_button)

    def save(self, path: str | Path) -> Path | None:
        """Write the dock's model to ``path``; the path written, or None after a one-line error."""
        model = self._model()
        try:
            if model is None:
                raise NeuroRBMError("no model to save: train one or load a model file first")
            written = write_model_file(path, model)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return None
        self._say(f"Saved the model of update {selected_update(model)} to {written}.")
        return written

    def load(self, path: str | Path) -> ModelFile | None:
        """Read a model file and make it the viewer's model (its units must be the picked raster's)."""
        try:
            model = load_model(path)
            raster = self._raster()
            if raster is not None:
                check_same_units(model, raster, raster.name)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return None
        self.state.model = model
        return model

    def _pick_save_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the RBM model", str(Path.home()), MODEL_FILTER)
        if path:
            self.save(path)

    def _pick_load_path(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load an RBM model", str(Path.home()), MODEL_FILTER)
        if path:
            self.load(path)
