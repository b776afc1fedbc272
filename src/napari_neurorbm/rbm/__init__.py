"""The binary-binary RBM: energies, conditionals, sampling, PCD training, log Z, model files."""

from napari_neurorbm.rbm.model import RBM

__all__ = ["RBM"]
