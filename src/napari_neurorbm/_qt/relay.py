"""Deliver a worker's results only while the widget that asked for them exists."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QObject


class Relay(QObject):
    """Calls ``callback`` from a slot of a child of ``owner``: when the owner is deleted (its dock or the
    viewer closing) Qt drops the connection and any result still queued, so a late result never reaches
    deleted plots."""

    def __init__(self, callback: Callable, owner: QObject) -> None:
        super().__init__(owner)
        self._callback = callback

    def forward(self, *args) -> None:
        self._callback(*args)
