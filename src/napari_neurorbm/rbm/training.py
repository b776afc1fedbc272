"""Training a binary RBM by PCD-k: the public names of the training modules (and :class:`TrainConfig`, whose
home is configs.py).

The training is split by what each part holds: :mod:`~napari_neurorbm.rbm.trainer` (the Trainer: its state,
the run loop, the model file), :mod:`~napari_neurorbm.rbm.pcd` (one update), :mod:`~napari_neurorbm.rbm.clock`
(the time budget), :mod:`~napari_neurorbm.rbm.monitoring` (log-likelihood along training and model
selection) and :mod:`~napari_neurorbm.rbm.resumable` (what makes a stopped run continue exactly).
"""

from __future__ import annotations

from collections.abc import Generator

from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.pcd import CHECK_EVERY
from napari_neurorbm.rbm.trainer import Trainer, checkpoint_updates, independent_loglik

__all__ = ["CHECK_EVERY", "TrainConfig", "Trainer", "checkpoint_updates", "independent_loglik", "iter_train"]


def iter_train(raster, config: TrainConfig) -> Generator[Progress, None, Trainer]:
    """Train a fresh model on a raster's split; yields progress records and returns the :class:`Trainer`."""
    return (yield from Trainer.from_raster(raster, config).run())
