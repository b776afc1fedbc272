"""napari-neurorbm: fit Restricted Boltzmann Machines to spike recordings and look inside them."""

from napari_neurorbm.errors import NeuroRBMError

__version__ = "0.1.0"
__all__ = ["NeuroRBMError", "__version__"]
