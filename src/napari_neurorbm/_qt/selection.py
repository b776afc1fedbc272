"""Highlight of the selected units: a translucent band across every raster, at least a few pixels tall."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from napari_neurorbm._qt.raster_layers import KEY, UNITS, layers_of

if TYPE_CHECKING:
    import napari

    from napari_neurorbm._qt.state import ViewerState

NAME = "selected units"
MIN_PIXELS = 3.0  # a band is never thinner than this on screen
COLOR = (1.0, 0.85, 0.0, 0.45)


class SelectionOverlay:
    """Keeps a Shapes layer of bands over the selected rows of every NeuroRBM raster in one viewer."""

    def __init__(self, viewer: napari.Viewer, state: ViewerState) -> None:
        self._viewer = weakref.ref(viewer)
        self._state = weakref.ref(state)
        state.events.selected_units.connect(self.refresh)
        viewer.scene.camera.events.zoom.connect(self.refresh)
        viewer.layers.events.inserted.connect(self._on_layers)
        viewer.layers.events.removed.connect(self._on_layers)

    def _on_layers(self, event) -> None:
        if KEY in getattr(event.value, "metadata", {}):
            self.refresh()

    def refresh(self, *_: object) -> None:
        viewer, state = self._viewer(), self._state()
        if viewer is None or state is None:
            return
        rects = self._bands(viewer, state.selected_units)
        layer = next((layer for layer in viewer.layers if layer.name == NAME), None)
        if not rects:
            if layer is not None:
                viewer.layers.remove(layer)
            return
        if layer is None:
            active = viewer.layers.selection.active
            colour = np.array(COLOR)
            layer = viewer.add_shapes(
                rects, shape_type="rectangle", name=NAME, face_color=colour, edge_width=0, units=UNITS
            )
            viewer.layers.selection.active = active
        else:
            layer.data = rects
            layer.face_color = np.tile(COLOR, (len(rects), 1))

    @staticmethod
    def _bands(viewer: napari.Viewer, rows: tuple[int, ...]) -> list[np.ndarray]:
        """World rectangles covering each run of consecutive selected rows on each raster."""
        if not rows:
            return []
        r = np.asarray(rows)
        cuts = np.flatnonzero(np.diff(r) != 1) + 1
        runs = [(int(s[0]), int(s[-1]) + 1) for s in np.split(r, cuts)]
        min_h = MIN_PIXELS / max(viewer.scene.camera.zoom, 1e-12)
        rects = []
        for layer in layers_of(viewer, kind="binary"):
            (y0, x0), (dy, dx) = layer.translate, layer.scale
            n_units, n_frames = layer.level_shapes[0] if layer.multiscale else layer.data.shape
            x1 = x0 + dx * n_frames
            for a, b in runs:
                if b > n_units:
                    continue
                top, bottom = y0 + (a - 0.5) * dy, y0 + (b - 0.5) * dy  # pixel k spans k +- 0.5
                pad = max(0.0, (min_h - (bottom - top)) / 2)
                rects.append(np.array([[top - pad, x0], [bottom + pad, x1]]))
        return rects
