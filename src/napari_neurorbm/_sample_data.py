"""npe2 sample data: the synthetic multi-area session (ground-truth RBM), shown as a loaded recording."""

from __future__ import annotations

from napari_neurorbm.data.binning import binarize, unchosen_width
from napari_neurorbm.data.synthetic import synthetic_session


def synthetic_layers() -> list[tuple]:
    """Count raster, binarized raster and area strip of the default synthetic session, binned as every entry
    point bins a source of spike times (:func:`unchosen_width`)."""
    from napari_neurorbm._qt.layout import watch_current_viewer
    from napari_neurorbm._qt.raster_layers import raster_layer_data

    watch_current_viewer()
    session = synthetic_session()
    return raster_layer_data(binarize(session, unchosen_width(session)), session=session)
