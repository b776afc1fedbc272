"""One shared, evented state object per napari viewer; widgets listen to it instead of calling each other.

Usage from any widget::

    state = get_state(viewer)
    state.events.raster.connect(self._on_raster)   # called with the new value
    state.raster = raster                           # every listener hears about it

A field emits only when it is assigned a different object (identity), so re-assigning the same raster
is silent; ``selected_units`` compares by value. Rows everywhere are rows of ``state.raster``: that is
the one neuron order (by area, then within area) used by every raster, matrix and strip.
"""

from __future__ import annotations

import operator
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from psygnal import evented

from napari_neurorbm.analysis.couplings import CouplingsResult
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.rbm.io import ModelFile

if TYPE_CHECKING:
    import napari

_SAME = operator.is_


@evented(
    equality_operators={
        "session": _SAME,
        "raster": _SAME,
        "model": _SAME,
        "generated": _SAME,
        "couplings": _SAME,
    }
)
@dataclass(eq=False)
class ViewerState:
    """What one viewer holds.

    session: the loaded recording. raster: its binarized Raster (defines the row order).
    model: the RBM being looked at (``.rbm``, ``.metadata``, ``.checkpoints``).
    generated: a Raster sampled from the model, rows in the same order. couplings: the latest
    effective couplings of the model. selected_units: sorted raster rows, highlighted on every raster.
    Assigning a new raster clears the selection (its rows are other units).
    """

    session: Session | None = None
    raster: Raster | None = None
    model: ModelFile | None = None
    generated: Raster | None = None
    couplings: CouplingsResult | None = None
    selected_units: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.events.raster.connect(self._clear_selection)

    def select(self, rows) -> None:
        """Set the selection from any iterable of rows (sorted, de-duplicated, checked against the raster)."""
        picked = tuple(sorted({int(r) for r in rows}))
        n = self.raster.n_units if self.raster is not None else 0
        if picked and (picked[0] < 0 or picked[-1] >= n):
            raise IndexError(f"rows {picked[0]}..{picked[-1]} outside the raster's {n} units")
        self.selected_units = picked

    def _clear_selection(self, *_: object) -> None:
        self.selected_units = ()


_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_state(viewer: napari.Viewer) -> ViewerState:
    """The state of ``viewer``, created on first use and dropped with the viewer.

    It draws the selection on every raster, places every layer through its layout owner
    (``state.layout``, see :mod:`.layout`), and adopts a data raster added to the viewer by other means
    (the reader, the sample data) so that every widget can work on it.
    """
    viewer = getattr(viewer, "__wrapped__", viewer)  # napari hands plugin widgets a proxy of the viewer
    state = _STATES.get(viewer)
    if state is None:
        from napari_neurorbm._qt.layout import CanvasLayout
        from napari_neurorbm._qt.selection import SelectionOverlay

        state = _STATES[viewer] = ViewerState()
        state._overlay = SelectionOverlay(viewer, state)
        state.layout = CanvasLayout(viewer, state)
        ref = weakref.ref(state)
        viewer.layers.events.inserted.connect(lambda event: _adopt(ref(), event.value))
        for layer in viewer.layers:
            _adopt(state, layer)
    return state


def _adopt(state: ViewerState | None, layer) -> None:
    """Make a newly added data raster (it carries its Raster in its metadata) the current one."""
    from napari_neurorbm._qt.raster_layers import KEY

    tag = layer.metadata.get(KEY)
    if state is None or not isinstance(tag, dict) or tag.get("role") != "data":
        return
    raster = tag.get("raster")
    if isinstance(raster, Raster) and raster is not state.raster:
        state.session = tag.get("session")
        state.raster = raster
