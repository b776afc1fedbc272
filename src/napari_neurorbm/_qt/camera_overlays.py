"""What follows the camera: area names thinned to the zoom (clear of the E/I legend), the raster titles
refitted, the coupling matrix's labels, and which overlays show — the colour bar and the matrix's label while
the matrix is in view and no raster lies under them, the time scale bar while a raster is in view, in the
corner away from the matrix.

The time scale bar is the user's too (napari's View menu turns it on and off): this module shows it the
first time a raster is in view and hides it when only the matrix is, and afterwards brings back only a bar it
hid itself, so that a bar the user turned off stays off.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from napari_neurorbm._qt.labels import LINE_PX, blank_unkept, thin
from napari_neurorbm._qt.raster_layers import layers_of, scale_bar, tag_of

if TYPE_CHECKING:
    import napari

    from napari_neurorbm._qt.coupling_layers import CouplingLayers

COLOUR_BAR_PX = (130, 230)  # screen room (width, height) of the colour bar, its ticks and label, top right


class CameraOverlays:
    """Keeps one viewer's labels and overlays right for what its camera shows. ``fit_titles(zoom, right)``
    refits the raster titles for the zoom, ``right`` being the world x where the canvas ends."""

    def __init__(self, viewer: napari.Viewer, couplings: CouplingLayers,
                 fit_titles: Callable[[float, float], None]) -> None:
        self._viewer = weakref.ref(viewer)
        self.couplings = couplings
        self._fit_titles = fit_titles
        self._seen: tuple = ()  # (a raster in view, the matrix in view, the matrix layer) when last looked
        self._bar_shown = False  # whether the scale bar was ever shown here (napari starts with it off)
        self._bar_hidden = False  # whether the scale bar is off because it was hidden here, over the matrix
        self._setting_bar = False
        scale_bar(viewer).events.visible.connect(self._on_bar_visible)

    @property
    def zoom(self) -> float:
        """Screen pixels per world unit (never 0)."""
        return max(float(self._viewer().scene.camera.zoom), 1e-12)

    def view_rect(self) -> np.ndarray:
        """World [[top, left], [bottom, right]] of what the canvas shows."""
        viewer = self._viewer()
        size = np.asarray(viewer.canvas.size, dtype=float)  # (height, width) in screen pixels
        centre = np.asarray(viewer.scene.camera.center, dtype=float)[-2:]
        half = size / 2 / self.zoom
        return np.array([centre - half, centre + half])

    def follow_zoom(self) -> None:
        """The zoom changed: thin the area names and the matrix's labels, then follow the view."""
        viewer = self._viewer()
        if viewer is None:
            return
        for names in layers_of(viewer, kind="names"):
            role = tag_of(names).get("role")
            legends = [layer for layer in layers_of(viewer, role=role, kind="legend") if layer.visible]
            _thin_names(names, self.zoom, legends[0].data[0, 0] if legends else None)
        self.couplings.follow_zoom(self.zoom)
        self.follow_view()

    def follow_view(self, titles: bool = True) -> None:
        """What is in view changed: refit the titles (when ``titles``), and set the overlays if a raster or
        the matrix came into or went out of view (a user's choice stays until then)."""
        viewer = self._viewer()
        if viewer is None:
            return
        view = self.view_rect()
        if titles:
            self._fit_titles(self.zoom, float(view[1, 1]))
        rasters = [layer for layer in layers_of(viewer, kind="binary") if layer.visible]
        corner = self._colour_bar_corner(view)
        bar_free = not any(_overlaps(layer.extent.world, corner) for layer in rasters)
        seen = (any(_overlaps(layer.extent.world, view) for layer in rasters),
                self.couplings.in_view(view) and bar_free, self.couplings.layer("matrix"))
        if seen == self._seen:
            return
        self._seen = raster_in_view, matrix_in_view, _ = seen
        self.couplings.show_overlays(matrix_in_view)
        self._place_scale_bar(raster_in_view, matrix_in_view)

    def _place_scale_bar(self, raster_in_view: bool, matrix_in_view: bool) -> None:
        """The time scale bar in the corner away from the matrix; off while no raster is in view, and back on
        when one is, unless the user turned it off."""
        bar = scale_bar(self._viewer())
        bar.position = "bottom_left" if matrix_in_view else "bottom_right"
        if not raster_in_view:
            if bar.visible:
                self._set_bar(False)
                self._bar_hidden = True
        elif self._bar_hidden or not self._bar_shown:
            self._set_bar(True)
            self._bar_hidden, self._bar_shown = False, True

    def _set_bar(self, visible: bool) -> None:
        self._setting_bar = True
        try:
            scale_bar(self._viewer()).visible = visible
        finally:
            self._setting_bar = False

    def _on_bar_visible(self, *_: object) -> None:
        """The user turned the scale bar on or off: that choice is theirs from now on."""
        if not self._setting_bar:
            self._bar_hidden, self._bar_shown = False, True

    def _colour_bar_corner(self, view: np.ndarray) -> np.ndarray:
        """World rectangle of the canvas's top-right corner, where the colour bar and its label are drawn."""
        (top, _), (_, right) = view
        width, height = np.array(COLOUR_BAR_PX) / self.zoom
        return np.array([[top, right - width], [top + height, right]])


def _thin_names(names, zoom: float, legend_y: float | None = None) -> None:
    """Write the area names of the biggest areas that leave a line of text between any two, and between any
    one and the E/I legend at world y ``legend_y`` (which always stays)."""
    if not len(names.data):
        return
    ys, weights = names.data[:, 0], np.asarray(names.features["rows"], dtype=float)
    if legend_y is not None:
        ys, weights = np.r_[legend_y, ys], np.r_[np.inf, weights]
    keep = thin(ys * zoom, weights, LINE_PX * float(names.text.size))
    names.features = blank_unkept(names.features, keep[1:] if legend_y is not None else keep)


def _overlaps(extent: np.ndarray, view: np.ndarray) -> bool:
    (t, left), (b, right) = np.asarray(extent)[:, -2:]
    (vt, vl), (vb, vr) = view
    return bool(t < vb and b > vt and left < vr and right > vl)
