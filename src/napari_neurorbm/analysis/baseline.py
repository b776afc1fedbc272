"""The pairwise maximum-entropy baseline beside independent units and an RBM: their test log-likelihoods on
the raster's test frames (the RBM's split), and the share of the RBM's gain over independent units that the
pairwise model captures (Schneidman et al. 2006; seed 004)."""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass

import torch

from napari_neurorbm.analysis.ising import MAX_EXACT, LogZ, iter_log_z_ais, log_z_exact, loglik
from napari_neurorbm.analysis.maxent import PairwiseFit, iter_fit_pairwise
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm import partition
from napari_neurorbm.rbm.model import RBM, base_biases, pick_device
from napari_neurorbm.rbm.monitoring import EXACT_EVAL_COST
from napari_neurorbm.rbm.trainer import independent_loglik


@dataclass(frozen=True)
class MaxEntResult:
    """The fit and its log Z, and test log-likelihoods per frame in nats: independent units, the pairwise
    model, and an RBM when one was given."""

    fit: PairwiseFit
    log_z: LogZ
    independent: float
    pairwise: float
    pairwise_train: float
    rbm: float | None
    n_test: int
    seconds: dict[str, float]  # wall time of the fit, of the pairwise log Z and of the RBM's log-likelihood

    @property
    def share(self) -> float | None:
        """(pairwise - independent) / (RBM - independent): the part of the RBM's gain the pairwise model
        captures (above 1: it does better than the RBM)."""
        if self.rbm is None or self.rbm == self.independent:
            return None
        return (self.pairwise - self.independent) / (self.rbm - self.independent)

    def summary(self) -> dict:
        """The headline numbers as one flat dict (what `neurorbm maxent --json` prints)."""
        fit = self.fit
        return {"units": len(fit.model.h), "constant_units": fit.constant_units, "test_frames": self.n_test,
                "independent_test_ll": self.independent, "pairwise_test_ll": self.pairwise,
                "pairwise_train_ll": self.pairwise_train, "log_z": self.log_z.value,
                "log_z_stderr": self.log_z.stderr, "log_z_method": self.log_z.method, "rbm_test_ll": self.rbm,
                "share_of_rbm_gain": self.share, "pl_iterations": fit.pl_iterations, "updates": fit.updates,
                "mean_error": _finite(fit.mean_error), "pair_error": _finite(fit.pair_error),
                **{f"{k}_seconds": v for k, v in self.seconds.items()}}


def iter_maxent(raster: Raster, config: MaxEntConfig | None = None, rbm: RBM | None = None
                ) -> Generator[Progress, None, MaxEntResult]:
    """Fit the pairwise model to the raster's training frames and evaluate it (and independent units, and
    ``rbm`` if given) on its test frames; log Z exactly up to 20 units, by AIS beyond."""
    cfg = (config or MaxEntConfig()).validate()
    train, test = raster.frames("train"), raster.frames("test")
    if len(test) == 0:
        raise NeuroRBMError("the raster has no test frames to evaluate the models on")
    fit = yield from iter_fit_pairwise(train, cfg)
    began = time.monotonic()
    log_z = yield from iter_log_z(fit, train.mean(0), cfg)
    seconds = {"fit": fit.seconds, "log_z": time.monotonic() - began}
    rbm_ll = None
    if rbm is not None:
        began = time.monotonic()
        rbm_ll = yield from _iter_rbm_loglik(rbm, train, test, cfg)
        seconds["rbm"] = time.monotonic() - began
    return MaxEntResult(fit, log_z, independent_loglik(train, test), loglik(fit.model, test, log_z.value),
                        loglik(fit.model, train, log_z.value), rbm_ll, len(test), seconds)


def iter_log_z(fit: PairwiseFit, means, cfg: MaxEntConfig) -> Generator[Progress, None, LogZ]:
    """log Z of the fitted model: exact up to 20 units, else AIS from independent units at ``means``."""
    if len(fit.model.h) <= MAX_EXACT:
        return log_z_exact(fit.model)
    return (yield from iter_log_z_ais(fit.model, means, cfg.ais_chains, cfg.ais_betas, cfg.seed,
                                      pick_device(cfg.device)))


def _iter_rbm_loglik(rbm: RBM, train, test, cfg: MaxEntConfig) -> Generator[Progress, None, float]:
    """The RBM's test log-likelihood; log Z exact when cheap (as training's monitoring decides), else by AIS
    from its W = 0 model at the training means, with the pairwise model's AIS chains and temperatures."""
    if rbm.n_visible != test.shape[1]:
        raise NeuroRBMError(f"the RBM has {rbm.n_visible} visible units but the raster {test.shape[1]}")
    rbm = rbm.to(pick_device(cfg.device))
    if partition.exact_cost(rbm) <= EXACT_EVAL_COST:
        return partition.loglik(rbm, test, partition.log_z_exact(rbm))
    base = base_biases(torch.as_tensor(train.mean(0), device=rbm.device))
    job = partition.iter_log_z_ais(rbm, cfg.ais_chains, cfg.ais_betas, base_b=base.float(), seed=cfg.seed)
    log_z = yield from relabel(job, "RBM AIS")
    return partition.loglik(rbm, test, log_z)


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x
