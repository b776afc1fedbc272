"""Word-wrapped labels that keep the height their text needs at the width they get.

Qt sizes a column by its items' minimum size hints, and a wrapped QLabel hints one line whatever its text:
in a dock that scrolls, a long message (an export's paths, three lines in a 330-pixel dock) then overlapped
the figure below it instead of making the column taller. :func:`fit_wrapped_labels` gives each wrapped label
the minimum height of its text at its width, kept up to date when the text or the width changes.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject, QRect, Qt
from qtpy.QtWidgets import QLabel, QWidget


class _Fit(QObject):
    """Event filter on a widget and its wrapped labels: a layout request or a resize refits the labels."""

    def __init__(self, owner: QWidget, labels: list[QLabel]) -> None:
        super().__init__(owner)
        self._labels = labels

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize):
            for label in self._labels:
                need = text_height(label)
                if need != label.minimumHeight():
                    label.setMinimumHeight(need)
        return False


def text_height(label: QLabel) -> int:
    """Height of ``label``'s text wrapped at its width, with its margins (0 for no text). Measured with its
    font, not label.heightForWidth, which never answers less than the label's minimum height."""
    if not label.text():
        return 0
    margins, pad = label.contentsMargins(), 2 * label.margin()
    align, flag = label.alignment(), Qt.AlignmentFlag
    indent = _indent(label)
    across = indent if align & (flag.AlignLeft | flag.AlignRight) else 0
    down = indent if align & (flag.AlignTop | flag.AlignBottom) else 0
    width = max(1, label.width() - margins.left() - margins.right() - pad - across)
    flags = int(Qt.TextFlag.TextWordWrap.value) | int(align.value)
    box = label.fontMetrics().boundingRect(QRect(0, 0, width, 1 << 20), flags, label.text())
    return box.height() + margins.top() + margins.bottom() + pad + down


def _indent(label: QLabel) -> int:
    """The room QLabel keeps beside its text (on the side it is aligned to) as it wraps it: its indent, or,
    with a frame (napari's style gives labels one) and no indent set, the width of an "x" less the margins;
    without it a text measured one line shorter than QLabel lays it out was cut."""
    indent = label.indent()
    if indent < 0 and label.frameWidth():
        indent = label.fontMetrics().horizontalAdvance("x") - 2 * label.margin()
    return max(indent, 0)


def fit_wrapped_labels(widget: QWidget) -> None:
    """Keep every word-wrapped label in ``widget`` (now) at least as tall as its text at its width."""
    labels = [label for label in widget.findChildren(QLabel) if label.wordWrap()]
    fit = _Fit(widget, labels)
    for watched in (widget, *labels):
        watched.installEventFilter(fit)
