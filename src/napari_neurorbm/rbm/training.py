"""Training a binary RBM by PCD-k: the run's hyperparameters (:class:`TrainConfig`) and the public names of
the training modules.

The training is split by what each part holds: :mod:`~napari_neurorbm.rbm.trainer` (the Trainer: its state,
the run loop, the model file), :mod:`~napari_neurorbm.rbm.pcd` (one update), :mod:`~napari_neurorbm.rbm.clock`
(the time budget), :mod:`~napari_neurorbm.rbm.monitoring` (log-likelihood along training and model
selection) and :mod:`~napari_neurorbm.rbm.resumable` (what makes a stopped run continue exactly).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, fields

import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.pcd import CHECK_EVERY
from napari_neurorbm.rbm.trainer import Trainer, checkpoint_updates, independent_loglik

__all__ = ["CHECK_EVERY", "TrainConfig", "Trainer", "checkpoint_updates", "independent_loglik", "iter_train"]


@dataclass
class TrainConfig:
    """Hyperparameters of a PCD-k run; defaults are the paper's (section III) where it gives them."""

    n_hidden: int = 128
    k: int = 10
    batch: int = 2000
    chains: int = 2000
    lr: float = 1.6
    updates: int = 10000
    seed: int = 0
    device: str = "auto"
    test_fraction: float = 0.3
    eval_every: int = 50
    checkpoints: int = 50
    optimizer: str = "sgd"
    lr_decay: float = 100.0
    centered: bool = True
    normalize: bool = True
    log_z: str = "auto"
    ais_chains: int = 128
    ais_betas: int = 500
    ptt_sweeps: int = 0
    weight_std: float = 1e-4
    minutes: float = 0.0
    eval_share: float = 0.1

    def validate(self) -> TrainConfig:
        """Raise a NeuroRBMError naming the first impossible value."""
        positive = {
            "n_hidden": "hidden units",
            "k": "Gibbs steps",
            "batch": "minibatch size",
            "chains": "persistent chains",
            "updates": "updates",
        }
        for name, what in positive.items():
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise NeuroRBMError(f"the number of {what} must be a positive integer, got {value!r}")
        if not 0 < self.lr < float(torch.finfo(torch.float32).max):
            raise NeuroRBMError(f"the learning rate must be a positive float32 number, got {self.lr}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise NeuroRBMError(f"the test fraction must be in [0, 1), got {self.test_fraction}")
        if self.eval_every < 0 or self.checkpoints < 0 or self.ptt_sweeps < 0:
            raise NeuroRBMError("eval_every, checkpoints and ptt_sweeps must be >= 0")
        if self.ptt_sweeps == 1:
            raise NeuroRBMError("ptt_sweeps must be 0 (no final PTT) or at least 2")
        if self.optimizer not in ("sgd", "adam"):
            raise NeuroRBMError(f"unknown optimizer '{self.optimizer}' (use sgd or adam)")
        if self.log_z not in ("auto", "exact", "ais"):
            raise NeuroRBMError(f"unknown log Z method '{self.log_z}' for training (use auto, exact or ais)")
        if self.ais_chains < 1 or self.ais_betas < 2:
            raise NeuroRBMError("AIS during training needs ais_chains >= 1 and ais_betas >= 2")
        if not self.minutes >= 0 or not math.isfinite(self.minutes):
            raise NeuroRBMError(f"the time budget must be >= 0 minutes (0 = none), got {self.minutes}")
        if not self.lr_decay >= 0 or not math.isfinite(self.lr_decay):
            raise NeuroRBMError(f"lr_decay must be >= 0 updates (0 = constant), got {self.lr_decay}")
        if not 0 < self.eval_share <= 1:
            raise NeuroRBMError(f"eval_share must be in (0, 1], got {self.eval_share}")
        if not self.weight_std >= 0:
            raise NeuroRBMError(f"the initial weight spread must be >= 0, got {self.weight_std}")
        return self

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A config from stored metadata; unknown keys are ignored, missing ones take the defaults."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def iter_train(raster, config: TrainConfig) -> Generator[Progress, None, Trainer]:
    """Train a fresh model on a raster's split; yields progress records and returns the :class:`Trainer`."""
    return (yield from Trainer.from_raster(raster, config).run())
