"""The one owner of canvas placement: where every NeuroRBM layer sits, which labels show, which overlays.

One :class:`CanvasLayout` per viewer (made with the viewer's state, see :func:`get_layout`). It listens to
the layer list, the camera and the shared state, and nobody else moves a layer:
- rasters sit side by side in one row, left to right in ``ROLES`` order (the recording at its own times),
  each with its area strip and, for the recording, its area names; a title above each when there are
  several; a data raster that arrives (Load dock, drop-open, Open Sample) is fitted whole into view;
- the coupling matrix (:mod:`.coupling_layers`) sits right of the rasters with its rows level with the
  recording's rows, and follows them when a raster moves;
- a view it fitted is fitted again when the canvas changes size (a dock opens, the window is resized), until
  the user pans or zooms: names and titles stay on screen;
- labels are thinned to the zoom so that none overlaps another; the colour bar and the matrix's label show
  only while the matrix is in view, the time scale bar only while a raster is, and never over the matrix
  (:mod:`.camera_overlays` follows the camera; :mod:`.raster_titles` writes the titles).
Docks ask it to show or remove their rasters (:meth:`CanvasLayout.show_rasters`) and to look at them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from napari_neurorbm._qt.camera_overlays import CameraOverlays
from napari_neurorbm._qt.coupling_layers import KEY as J_KEY
from napari_neurorbm._qt.coupling_layers import CouplingLayers
from napari_neurorbm._qt.epoch_layers import ROLE as EPOCHS
from napari_neurorbm._qt.epoch_layers import EpochBand
from napari_neurorbm._qt.raster_layers import (
    KEY,
    NAME_SPACE,
    add_raster_layers,
    layers_of,
    tag_of,
)
from napari_neurorbm._qt.raster_titles import fit_titles, place_titles
from napari_neurorbm._qt.selection import NAME as SELECTION
from napari_neurorbm._qt.view_fit import fit_view
from napari_neurorbm.data.raster import Raster

if TYPE_CHECKING:
    import napari

    from napari_neurorbm._qt.state import ViewerState

ROLES = ("data", "test", "generated", "clamped", "control")  # left to right
LINKED = ("colormap", "contrast_limits", "gamma")
# the layers of one raster (raster_layer_data); its labels are hidden beside the recording
RASTER_KINDS = ("counts", "binary", "names", "legend", "classes", "areas")
LABEL_KINDS = ("names", "legend")
GAP = 0.04  # blank space between rasters, as a fraction of the wider neighbour
MIN_SLOT = 0.3  # narrowest slot of a raster beside the recording, as a fraction of the recording's width


def get_layout(viewer: napari.Viewer) -> CanvasLayout:
    """The layout owner of ``viewer`` (made with its shared state)."""
    from napari_neurorbm._qt.state import get_state

    return get_state(viewer).layout


def watch_current_viewer() -> None:
    """Make sure napari's current viewer has its layout owner before napari adds a reader's or a sample's
    layers to it (no dock may have been opened yet)."""
    from napari import current_viewer

    viewer = current_viewer()
    if viewer is not None:
        get_layout(viewer)


class CanvasLayout:
    """Places the NeuroRBM layers of one viewer; see the module docstring."""

    def __init__(self, viewer: napari.Viewer, state: ViewerState) -> None:
        self._viewer = weakref.ref(viewer)
        self._busy = False  # set while this object adds or moves layers itself
        self._pending = None  # a data strip just added, which napari is about to make active
        self._slots: dict[str, tuple[float, float]] = {}  # role: world left and width of its raster's slot
        self._fitted: tuple[list, tuple] | None = None  # the layers of the last fit and the camera it left
        self.couplings = CouplingLayers(viewer, state, on_visible=self._on_view)
        self.camera = CameraOverlays(viewer, self.couplings, self._fit_titles)
        self.epochs = EpochBand(viewer)  # the recording's epochs and events, in a band under its raster
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        viewer.layers.selection.events.active.connect(self._on_active)
        viewer.scene.camera.events.zoom.connect(self._on_zoom)
        viewer.scene.camera.events.center.connect(self._on_view)
        viewer.canvas.events.size.connect(self._on_canvas_size)
        state.events.couplings.connect(self._on_couplings)
        state.events.raster.connect(self._on_couplings)

    @property
    def viewer(self) -> napari.Viewer:
        viewer = self._viewer()
        if viewer is None:
            raise RuntimeError("the viewer is gone")
        return viewer

    # ---- what docks ask for -----------------------------------------------------------------------
    def show_rasters(self, shown: Sequence[tuple[str, Raster, str]], *, counts: Iterable[str] = ()) -> list:
        """Add (or replace) each (role, raster, title) beside the others, looking like the recording.

        Model rasters hold 0/1 frames only, so their count layer is dropped unless the role is in ``counts``.
        The binarized (and count) layers take the recording's colormap and contrast and stay linked to it.
        Area names and the E/I legend are hidden (the strips keep their colours): rows line up with the
        recording's.
        """
        viewer = self.viewer
        data = layers_of(viewer, role="data", kind="binary")
        top = float(data[0].translate[0]) if data else 0.0
        keep_counts = set(counts)
        active = viewer.layers.selection.active
        added = []
        self._busy = True
        try:
            for role, raster, title in shown:
                old = layers_of(viewer, role=role)
                if old:
                    viewer.layers.unlink_layers(old)
                layers = add_raster_layers(viewer, raster, role=role, label=title, origin=(top, 0.0))
                for layer in layers:
                    layer.metadata[KEY]["title"] = title
                    if _kind(layer) == "counts" and role not in keep_counts:
                        viewer.layers.remove(layer)
                    elif _kind(layer) in LABEL_KINDS:
                        layer.visible = False
                added += [layer for layer in layers if layer in viewer.layers]
            for kind in ("binary", "counts"):
                _link_kind(viewer, kind)
            if active in viewer.layers:  # napari made the last strip active; the paint tools are no use here
                viewer.layers.selection.active = active
        finally:
            self._busy = False
        self.arrange()
        return added

    def remove_rasters(self, roles: Iterable[str]) -> None:
        """Take the rasters of ``roles`` (and their onset lines) out of the viewer."""
        viewer = self.viewer
        gone = [layer for role in roles for layer in layers_of(viewer, role=role)]  # onset lines included
        self._busy = True
        try:
            for layer in gone:
                viewer.layers.remove(layer)
        finally:
            self._busy = False
        if gone:
            self.arrange()

    def focus(self, roles: Iterable[str]) -> None:
        """Fit the view to the rasters of ``roles`` with their strips, leaving screen room for their area
        names and titles."""
        roles = (*roles, EPOCHS) if "data" in roles else roles  # the recording's band is part of it
        layers = [layer for role in roles for layer in layers_of(self.viewer, role=role) if layer.visible]
        self._fit(layers)

    def fit_all(self) -> None:
        """Fit every raster, strip, title and the coupling matrix into view."""
        ours = [layer for layer in self.viewer.layers if tag_of(layer) or J_KEY in layer.metadata]
        self._fit([layer for layer in ours if layer.visible])

    # ---- placement --------------------------------------------------------------------------------
    def arrange(self) -> None:
        """Place the rasters left to right, their titles and the matrix, and thin the labels."""
        self._busy = True
        try:
            self._place_rasters()
            self._titles()
            self.couplings.place(self._slots_right())
            self.epochs.sync()
            _selection_on_top(self.viewer)
        finally:
            self._busy = False
        self._on_zoom()

    def _place_rasters(self) -> None:
        """Each raster right of the previous one, room for its strip between; the recording stays put."""
        viewer = self.viewer
        right, prev_width, first_width = None, 0.0, None
        self._slots.clear()
        for role in ROLES:
            binary = layers_of(viewer, role=role, kind="binary")
            if not binary:
                continue
            left, width = _x_span(binary[0])
            first_width = width if first_width is None else first_width
            width = max(width, MIN_SLOT * first_width)  # a short run still gets room for its title
            if right is not None:
                target = right + _strips_width(viewer, role, left) + width * NAME_SPACE + GAP * max(width,
                                                                                                 prev_width)
                shift = np.array([0.0, target - left])
                for layer in layers_of(viewer, role=role):  # its strip, names and onset lines too
                    layer.translate = np.asarray(layer.translate) + shift
                left = target
            right, prev_width = left + width, width
            self._slots[role] = (left, width)

    def _slots_right(self) -> float:
        """World x where the last raster's slot (room for its title) ends."""
        return max((left + width for left, width in self._slots.values()), default=-np.inf)

    def _rasters(self) -> list:
        """The binary raster layers, left to right."""
        return [b for role in ROLES for b in layers_of(self.viewer, role=role, kind="binary")]

    def _titles(self) -> None:
        place_titles(self.viewer, self._rasters())

    # ---- what follows the camera (see camera_overlays) -------------------------------------------
    def _on_zoom(self, *_: object) -> None:
        if self._viewer() is not None and not self._busy:
            self.camera.follow_zoom()

    def _on_view(self, *_: object) -> None:
        if self._viewer() is not None:
            self.camera.follow_view(titles=not self._busy)

    def _fit_titles(self, zoom: float, canvas_right: float) -> None:
        """Refit the titles to the zoom; the last one has the room of its slot, within the canvas."""
        rasters = self._rasters()
        if not rasters:
            return
        last = rasters[-1]
        left, width = self._slots.get(tag_of(last).get("role"), (last.translate[1] - last.scale[1] / 2, 0.0))
        self._busy = True
        try:
            fit_titles(self.viewer, rasters, zoom, min(left + width, canvas_right))
        finally:
            self._busy = False

    def view_rect(self) -> np.ndarray:
        """World [[top, left], [bottom, right]] of what the canvas shows."""
        return self.camera.view_rect()

    # ---- events -----------------------------------------------------------------------------------
    def _on_inserted(self, event) -> None:
        """A data raster's strip is the last of its layers: once it is in, place everything and fit the
        recording into view with the raster as the active layer."""
        layer = event.value
        if tag_of(layer).get("kind") in RASTER_KINDS:
            layer.events.translate.connect(self._on_moved)
        if self._busy or tag_of(layer).get("kind") != "areas":
            return
        self.arrange()
        if tag_of(layer).get("role") == "data":
            self._pending = layer  # napari makes it active next: the raster is, instead
            self.focus(("data",))

    def _on_active(self, event) -> None:
        """The strip napari just activated gives way to its raster (whose controls are the useful ones)."""
        if event.value is None:  # napari clears the selection before it selects the new layer
            return
        pending, self._pending = self._pending, None
        if pending is not None and event.value is pending:
            raster = layers_of(self.viewer, role="data", kind="binary")
            if raster:
                self.viewer.layers.selection.active = raster[0]

    def _on_moved(self, *_: object) -> None:
        """A raster moved by other hands: titles and the matrix follow it (the rasters stay where put)."""
        if self._busy:
            return
        self._busy = True
        try:
            self._titles()
            self.couplings.place(self._slots_right())
        finally:
            self._busy = False
        self._on_zoom()

    def _on_removed(self, event) -> None:
        if not self._busy and tag_of(event.value).get("kind") == "binary":
            self.arrange()

    def _on_couplings(self, *_: object) -> None:
        if self.couplings.draw():
            self.fit_all()  # the first matrix: show it beside the rasters
        self._on_zoom()

    def _fit(self, layers: list) -> None:
        """Fit the layers into view, with the room of their rasters' titles (their slots)."""
        roles = {tag_of(layer).get("role") for layer in layers if _kind(layer) == "binary"}
        fit_view(self.viewer, layers, max((sum(self._slots[r]) for r in roles if r in self._slots),
                                          default=-np.inf))
        self._fitted = (layers, self._camera_now())

    def _camera_now(self) -> tuple:
        camera = self.viewer.scene.camera
        return (float(camera.zoom), *np.asarray(camera.center, dtype=float))

    def _on_canvas_size(self, *_: object) -> None:
        """The canvas changed size: a view still as fitted is fitted again to the new size."""
        if self._viewer() is None or self._fitted is None:
            return
        layers, camera = self._fitted
        layers = [layer for layer in layers if layer in self.viewer.layers]
        if layers and np.allclose(self._camera_now(), camera, rtol=1e-9, atol=0):
            self._fit(layers)


def _link_kind(viewer: napari.Viewer, kind: str) -> None:
    """Give every raster layer of ``kind`` the recording's display settings and link them."""
    layers = [layer for role in ROLES for layer in layers_of(viewer, role=role, kind=kind)]
    if len(layers) < 2:
        return
    for layer in layers[1:]:
        for attr in LINKED:
            setattr(layer, attr, getattr(layers[0], attr))
    viewer.layers.link_layers(layers, LINKED)


def _strips_width(viewer: napari.Viewer, role: str, left: float) -> float:
    """World width of the strips (area and E/I) left of the ``role`` raster whose left edge is at ``left``."""
    strips = [layer for layer in layers_of(viewer, role=role) if _kind(layer) in ("areas", "classes")]
    return max((left - float(np.asarray(layer.extent.world)[0, -1]) for layer in strips), default=0.0)


def _x_span(binary) -> tuple[float, float]:
    n_frames = binary.level_shapes[0][1] if binary.multiscale else binary.data.shape[1]
    return float(binary.translate[1]), float(binary.scale[1] * n_frames)


def _selection_on_top(viewer: napari.Viewer) -> None:
    """Keep the selection highlight above the rasters added after it, so it shows on every raster."""
    names = [layer.name for layer in viewer.layers]
    if SELECTION in names and names.index(SELECTION) != len(names) - 1:
        viewer.layers.move(names.index(SELECTION), len(names))


def _kind(layer) -> str | None:
    return tag_of(layer).get("kind")
