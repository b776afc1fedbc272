"""The base of every NeuroRBM dock: a body that scrolls when the screen is short, and a dock that joins the
plugin's other docks as a tab instead of splitting the column.

napari's Plugins menu adds each dock below the others in the right-hand area; the column then needs the
sum of the docks' heights and the window grows past the screen. A :class:`Dock` asks for little height (its
content scrolls) and, when it first shows, tabs itself with the NeuroRBM docks already in its area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import QSize
from qtpy.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QStyle, QVBoxLayout, QWidget

from napari_neurorbm._qt.forms import LabelColumn
from napari_neurorbm._qt.state import get_state

if TYPE_CHECKING:
    import napari

MIN_HEIGHT = 200  # a dock can shrink to this; its body scrolls
HINT = QSize(380, 640)  # asked for when there is room


class Dock(QWidget):
    """A dock widget whose content goes into ``self.body`` (give the body a layout, not the dock)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = QWidget()
        self._scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self._scroll.setWidget(self.body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._scroll)
        self.setMinimumHeight(MIN_HEIGHT)
        self._tabbed = False

    def sizeHint(self) -> QSize:
        return HINT.expandedTo(QSize(self.minimumSizeHint().width(), 0))

    def minimumSizeHint(self) -> QSize:
        """As wide as the body needs (it scrolls up and down only), as short as MIN_HEIGHT."""
        return QSize(self.body.minimumSizeHint().width() + self._bar_room(), MIN_HEIGHT)

    def body_width(self) -> int:
        """The width the body gets: the dock's, less room for the scroll bar (right in a resizeEvent, where
        the body has not been resized yet)."""
        return self.width() - self._bar_room()

    def _bar_room(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) + 4  # a few pixels to spare

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.setMinimumWidth(max(self.minimumWidth(), self.minimumSizeHint().width()))  # never cut sideways
        if not self._tabbed:
            self._tabbed = True
            tab_with_siblings(self)


class ViewerDock(Dock):
    """A dock that works on one viewer: ``self.viewer`` and its shared state ``self.state``. The row labels of
    its forms and of its own QFormLayouts share one width, so that every field starts level."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.body.installEventFilter(LabelColumn(self.body))

    def stack(self, *widgets: QWidget) -> QVBoxLayout:
        """Lay ``widgets`` out top down in the body, packed at the top (the room left is blank)."""
        layout = QVBoxLayout(self.body)
        for widget in widgets:
            layout.addWidget(widget)
        layout.addStretch(1)
        return layout


def tab_with_siblings(widget: QWidget) -> None:
    """Tab the dock holding ``widget`` with the first NeuroRBM dock already shown in the same area."""
    dock = _dock_of(widget)
    main = dock.parentWidget() if dock is not None else None
    if not isinstance(main, QMainWindow) or dock.isFloating():
        return
    area = main.dockWidgetArea(dock)
    for other in main.findChildren(QDockWidget):
        if (other is not dock and other.isVisible() and not other.isFloating()
                and main.dockWidgetArea(other) == area and other.findChild(Dock) is not None):
            main.tabifyDockWidget(other, dock)
            dock.show()
            dock.raise_()
            return


def _dock_of(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def let_go(viewer, listeners: list, mouse_callback, *_: object) -> None:
    """Disconnect a closed dock from the viewer and the state, which outlive it: each (signal, slot) of
    ``listeners`` and the dock's mouse callback."""
    for signal, slot in listeners:
        signal.disconnect(slot)
    if mouse_callback in viewer.mouse_drag_callbacks:
        viewer.mouse_drag_callbacks.remove(mouse_callback)
