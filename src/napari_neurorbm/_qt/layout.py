"""The one owner of canvas placement: where every NeuroRBM layer sits, which labels show, which overlays.

One :class:`CanvasLayout` per viewer (made with the viewer's state, see :func:`get_layout`). It listens to
the layer list, the camera and the shared state, and nobody else moves a layer:
- rasters sit side by side in one row, left to right in ``ROLES`` order (the recording at its own times),
  each with its area strip and, for the recording, its area names; a title above each when there are
  several; a data raster that arrives (Load dock, drop-open, Open Sample) is fitted whole into view;
- the coupling matrix (:mod:`.coupling_layers`) sits right of the rasters with its rows level with the
  recording's rows, and follows them when a raster moves;
- labels are thinned to the zoom so that none overlaps another; the colour bar and the matrix's label show
  only while the matrix is in view, the time scale bar only while a raster is, and never over the matrix.
Docks ask it to show or remove their rasters (:meth:`CanvasLayout.show_rasters`) and to look at them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from napari_neurorbm._qt.coupling_layers import KEY as J_KEY
from napari_neurorbm._qt.coupling_layers import CouplingLayers
from napari_neurorbm._qt.labels import LINE_PX, blank_unkept, fit_text, text_width, thin
from napari_neurorbm._qt.raster_layers import (
    COVER_COLS,
    KEY,
    NAME_SPACE,
    UNITS,
    add_raster_layers,
    layers_of,
    scale_bar,
)
from napari_neurorbm._qt.selection import NAME as SELECTION
from napari_neurorbm.data.raster import Raster

if TYPE_CHECKING:
    import napari
    from napari.layers import Shapes

    from napari_neurorbm._qt.state import ViewerState

ROLES = ("data", "test", "generated", "clamped", "control")  # left to right
LINKED = ("colormap", "contrast_limits", "gamma")
TITLES = "raster titles"
RASTER_KINDS = ("counts", "binary", "names", "areas")  # the layers of one raster (raster_layer_data)
TITLE_SIZE = 10
GAP = 0.04  # blank space between rasters, as a fraction of the wider neighbour
MIN_SLOT = 0.3  # narrowest slot of a raster beside the recording, as a fraction of the recording's width
FIT_MARGIN = 0.03  # blank share of the canvas on each side of what is fitted into view
TITLE_LIFT_PX = 4.0  # titles sit this many screen pixels above their raster
COLOUR_BAR_PX = (130, 230)  # screen room (width, height) of the colour bar, its ticks and label, top right


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
        self._seen: tuple = ()  # (a raster in view, the matrix in view, the matrix layer) when last looked
        self.couplings = CouplingLayers(viewer, state, on_visible=self._on_view)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        viewer.layers.selection.events.active.connect(self._on_active)
        viewer.scene.camera.events.zoom.connect(self._on_zoom)
        viewer.scene.camera.events.center.connect(self._on_view)
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
        Area names are hidden (the strips keep the area colours): rows line up with the recording's.
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
                    elif _kind(layer) == "names":
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
        layers = [layer for role in roles for layer in layers_of(self.viewer, role=role) if layer.visible]
        self._fit(layers)

    def fit_all(self) -> None:
        """Fit every raster, strip, title and the coupling matrix into view."""
        ours = [layer for layer in self.viewer.layers if _tag(layer) or J_KEY in layer.metadata]
        self._fit([layer for layer in ours if layer.visible])

    def add_onset_lines(self, raster: Raster, onset: int, role: str) -> Shapes:
        """Mark the clamp onset of every chain (segment) of the ``role`` raster with an orange line."""
        viewer = self.viewer
        binary = layers_of(viewer, role=role, kind="binary")[0]
        (y0, x0), (dy, dx) = binary.translate, binary.scale
        xs = x0 + (np.asarray(raster.segment_starts) + onset) * dx
        lines = [np.array([[y0, x], [y0 + raster.n_units * dy, x]]) for x in xs]
        width = max(dx, 0.002 * raster.n_frames * dx)  # visible when the whole row of rasters is in view
        active = viewer.layers.selection.active
        layer = viewer.add_shapes(
            lines, shape_type="line", name=f"clamp onsets · {role}", edge_color="orange", edge_width=width,
            units=UNITS, metadata={KEY: {"kind": "onsets", "role": role}},
        )
        viewer.layers.selection.active = active
        return layer

    # ---- placement --------------------------------------------------------------------------------
    def arrange(self) -> None:
        """Place the rasters left to right, their titles and the matrix, and thin the labels."""
        self._busy = True
        try:
            self._place_rasters()
            self._titles()
            self.couplings.place(self._slots_right())
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
                target = right + width * (1.0 / COVER_COLS + NAME_SPACE) + GAP * max(width, prev_width)
                shift = np.array([0.0, target - left])
                for layer in layers_of(viewer, role=role):  # its strip, names and onset lines too
                    layer.translate = np.asarray(layer.translate) + shift
                left = target
            right, prev_width = left + width, width
            self._slots[role] = (left, width)

    def _slots_right(self) -> float:
        """World x where the last raster's slot (room for its title) ends."""
        return max((left + width for left, width in self._slots.values()), default=-np.inf)

    def _titles(self) -> None:
        """One title above the top-left corner of each raster; none when the recording is alone."""
        viewer = self.viewer
        rasters = [b for role in ROLES for b in layers_of(viewer, role=role, kind="binary")]
        old = next((layer for layer in viewer.layers if layer.name == TITLES), None)
        if len(rasters) < 2:
            if old is not None:
                viewer.layers.remove(old)
            return
        texts = [_tag(b).get("title") or f"recording · {_tag(b)['raster'].name}" for b in rasters]
        where = np.array([np.asarray(b.translate) - np.asarray(b.scale) / 2 for b in rasters])
        features = pd.DataFrame({"title": texts, "text": texts})
        if old is not None and len(old.data) == len(where):
            old.data, old.features = where, features
            return
        if old is not None:
            viewer.layers.remove(old)
        active = viewer.layers.selection.active
        viewer.add_points(
            where, name=TITLES, size=1, face_color="transparent", border_width=0, units=UNITS,
            features=features,
            text={"string": "{text}", "size": TITLE_SIZE, "anchor": "upper_left", "color": "white"},
            metadata={KEY: {"kind": "titles", "role": "titles"}},
        )
        viewer.layers.selection.active = active

    # ---- labels and overlays that follow the camera ------------------------------------------------
    def _on_zoom(self, *_: object) -> None:
        viewer = self._viewer()
        if viewer is None or self._busy:
            return
        zoom = max(float(viewer.scene.camera.zoom), 1e-12)
        for names in layers_of(viewer, kind="names"):
            _thin_names(names, zoom)
        self.couplings.follow_zoom(zoom)
        self._on_view()

    def _fit_titles(self, viewer: napari.Viewer, zoom: float) -> None:
        """Lift the titles a few pixels above their rasters and shorten each to the room before the next."""
        titles = next((layer for layer in viewer.layers if layer.name == TITLES), None)
        if titles is None or not len(titles.data):
            return
        rasters = [b for role in ROLES for b in layers_of(viewer, role=role, kind="binary")]
        tops = [b.translate[0] - b.scale[0] / 2 for b in rasters]
        lefts = np.array([b.translate[1] - b.scale[1] / 2 for b in rasters])
        last = sum(self._slots.get(_tag(rasters[-1]).get("role"), (lefts[-1], 0.0)))
        rights = np.r_[lefts[1:], min(last, self.view_rect()[1, 1])]  # the last: its slot, within the canvas
        room = (rights - lefts) * zoom - TITLE_SIZE  # a small gap before the next title
        texts = [fit_text(t, r, TITLE_SIZE) for t, r in zip(titles.features["title"], room, strict=True)]
        self._busy = True
        try:
            titles.data = np.c_[np.asarray(tops) - TITLE_LIFT_PX / zoom, lefts]
            titles.features = pd.DataFrame({"title": titles.features["title"], "text": texts})
        finally:
            self._busy = False

    def _on_view(self, *_: object) -> None:
        """Colour bar and matrix label while the matrix is in view and no raster lies under them; the time
        scale bar while a raster is in view, in the corner away from the matrix."""
        viewer = self._viewer()
        if viewer is None:
            return
        if not self._busy:
            self._fit_titles(viewer, max(float(viewer.scene.camera.zoom), 1e-12))
        view = self.view_rect()
        rasters = [layer for layer in layers_of(viewer, kind="binary") if layer.visible]
        corner = self._colour_bar_corner(view)
        bar_free = not any(_overlaps(layer.extent.world, corner) for layer in rasters)
        seen = (any(_overlaps(layer.extent.world, view) for layer in rasters),
                self.couplings.in_view(view) and bar_free, self.couplings.layer("matrix"))
        if seen == self._seen:
            return  # only a change of what is in view sets the overlays: a user's choice stays until then
        self._seen = raster_in_view, matrix_in_view, _ = seen
        self.couplings.show_overlays(matrix_in_view)
        bar = scale_bar(viewer)
        bar.visible = raster_in_view
        bar.position = "bottom_left" if matrix_in_view else "bottom_right"

    def _colour_bar_corner(self, view: np.ndarray) -> np.ndarray:
        """World rectangle of the canvas's top-right corner, where the colour bar and its label are drawn."""
        (top, _), (_, right) = view
        width, height = np.array(COLOUR_BAR_PX) / max(float(self.viewer.scene.camera.zoom), 1e-12)
        return np.array([[top, right - width], [top + height, right]])

    def view_rect(self) -> np.ndarray:
        """World [[top, left], [bottom, right]] of what the canvas shows."""
        viewer = self.viewer
        size = np.asarray(viewer.canvas.size, dtype=float)  # (height, width) in screen pixels
        centre = np.asarray(viewer.scene.camera.center, dtype=float)[-2:]
        half = size / 2 / max(float(viewer.scene.camera.zoom), 1e-12)
        return np.array([centre - half, centre + half])

    # ---- events -----------------------------------------------------------------------------------
    def _on_inserted(self, event) -> None:
        """A data raster's strip is the last of its layers: once it is in, place everything and fit the
        recording into view with the raster as the active layer."""
        layer = event.value
        if _tag(layer).get("kind") in RASTER_KINDS:
            layer.events.translate.connect(self._on_moved)
        if self._busy or _tag(layer).get("kind") != "areas":
            return
        self.arrange()
        if _tag(layer).get("role") == "data":
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
        if not self._busy and _tag(event.value).get("kind") == "binary":
            self.arrange()

    def _on_couplings(self, *_: object) -> None:
        if self.couplings.draw():
            self.fit_all()  # the first matrix: show it beside the rasters
        self._on_zoom()

    def _fit(self, layers: list) -> None:
        """Fit the layers into view with screen room for the text drawn outside them: area names left of
        the strips, titles and the matrix's column names above."""
        if not layers:
            return
        viewer = self.viewer
        (top, left), (bottom, right) = _union(layers)
        roles = {_tag(layer).get("role") for layer in layers if _kind(layer) == "binary"}
        right = max([right, *(sum(self._slots[r]) for r in roles if r in self._slots)])  # titles' room
        left_px = max((_widest(layer) for layer in layers if _kind(layer) == "names"), default=0.0)
        top_px = max((_widest(layer) for layer in layers if layer.metadata.get(J_KEY) == "column names"),
                     default=0.0)
        if any(layer.name == TITLES for layer in viewer.layers):
            top_px = max(top_px, LINE_PX * TITLE_SIZE + TITLE_LIFT_PX)
        height, width = (1 - 2 * FIT_MARGIN) * np.asarray(viewer.canvas.size, dtype=float)
        zoom = min((height - top_px) / max(bottom - top, 1e-12), (width - left_px) / max(right - left, 1e-12))
        camera = viewer.scene.camera
        camera.zoom = zoom = max(zoom, 1e-12)
        camera.center = ((top + bottom) / 2 - top_px / 2 / zoom, (left + right) / 2 - left_px / 2 / zoom)


def _union(layers: list) -> np.ndarray:
    """World [[top, left], [bottom, right]] around the layers' extents."""
    extents = np.array([np.asarray(layer.extent.world)[:, -2:] for layer in layers])
    return np.array([extents[:, 0].min(axis=0), extents[:, 1].max(axis=0)])


def _widest(names) -> float:
    """Screen width of the longest name a Points layer of names can write."""
    texts = names.features["area"].astype(str) if len(names.data) else []
    return max((text_width(t, float(names.text.size)) for t in texts), default=0.0)


def _thin_names(names, zoom: float) -> None:
    """Write the area names of the biggest areas that leave a line of text between any two."""
    if not len(names.data):
        return
    keep = thin(names.data[:, 0] * zoom, names.features["rows"], LINE_PX * float(names.text.size))
    names.features = blank_unkept(names.features, keep)


def _link_kind(viewer: napari.Viewer, kind: str) -> None:
    """Give every raster layer of ``kind`` the recording's display settings and link them."""
    layers = [layer for role in ROLES for layer in layers_of(viewer, role=role, kind=kind)]
    if len(layers) < 2:
        return
    for layer in layers[1:]:
        for attr in LINKED:
            setattr(layer, attr, getattr(layers[0], attr))
    viewer.layers.link_layers(layers, LINKED)


def _x_span(binary) -> tuple[float, float]:
    n_frames = binary.level_shapes[0][1] if binary.multiscale else binary.data.shape[1]
    return float(binary.translate[1]), float(binary.scale[1] * n_frames)


def _overlaps(extent: np.ndarray, view: np.ndarray) -> bool:
    (t, left), (b, right) = np.asarray(extent)[:, -2:]
    (vt, vl), (vb, vr) = view
    return bool(t < vb and b > vt and left < vr and right > vl)


def _selection_on_top(viewer: napari.Viewer) -> None:
    """Keep the selection highlight above the rasters added after it, so it shows on every raster."""
    names = [layer.name for layer in viewer.layers]
    if SELECTION in names and names.index(SELECTION) != len(names) - 1:
        viewer.layers.move(names.index(SELECTION), len(names))


def _tag(layer) -> dict:
    tag = layer.metadata.get(KEY)
    return tag if isinstance(tag, dict) else {}


def _kind(layer) -> str | None:
    return _tag(layer).get("kind")
