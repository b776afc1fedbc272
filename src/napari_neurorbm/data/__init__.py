"""Sources -> Session; binning -> Raster; synthetic sessions. numpy/pandas/h5py only."""

from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session

__all__ = ["BinningParams", "Raster", "Session", "binarize"]
