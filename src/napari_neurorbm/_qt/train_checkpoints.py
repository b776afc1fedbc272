"""The Train dock's checkpoint list: one row per model a run or a file offers (update and test LL, the best
starred and bold); a click picks one as the viewer's model."""

from __future__ import annotations

from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QFont
from qtpy.QtWidgets import QListWidget, QListWidgetItem

from napari_neurorbm._qt.train_models import best_update, checkpoint_models, checkpoint_test_lls
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.training import Trainer

TIP = ("Models saved along training (log-spaced), plus the best and the latest. Test LL is shown where an "
       "evaluation (evaluation interval) fell on the checkpoint; — where none did.")
TITLE = "Checkpoints (click one to make it the viewer's model; ★ = best test LL)"


class CheckpointList(QListWidget):
    """The checkpoints of a run or a model file; :attr:`picked` says which update a click chose."""

    picked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(90)
        self.setToolTip(TIP)
        self.currentItemChanged.connect(self._on_current)

    def sizeHint(self) -> QSize:
        """About six rows: the list scrolls."""
        return QSize(super().sizeHint().width(), 120)

    def show_models(self, source: Trainer | ModelFile | None, selected: int | None) -> None:
        """List ``source``'s checkpoints, ``selected`` current. Rows are rebuilt only when the set of
        checkpoints changes (a rebuild loses the scroll position)."""
        updates = [] if source is None else sorted(checkpoint_models(source))
        lls = {} if source is None else checkpoint_test_lls(source)
        best = None if source is None else best_update(source)
        self.blockSignals(True)
        if updates != self.updates():
            self.clear()
            for update in updates:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, update)
                self.addItem(item)
        for row, update in enumerate(updates):
            item, ll = self.item(row), lls.get(update)
            text = f"update {update:>7d}   test LL " + ("—" if ll is None else f"{ll:.4f}")
            item.setText(("★ " if update == best else "   ") + text)
            font = QFont(item.font())
            font.setBold(update == best)
            item.setFont(font)
            item.setToolTip("best: maximal test log-likelihood" if update == best else "")
            if update == selected:
                self.setCurrentItem(item)
                self.scrollToItem(item)
        self.blockSignals(False)

    def updates(self) -> list[int]:
        """The updates in the list, top to bottom."""
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def _on_current(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None = None) -> None:
        if item is not None:
            self.picked.emit(item.data(Qt.ItemDataRole.UserRole))
