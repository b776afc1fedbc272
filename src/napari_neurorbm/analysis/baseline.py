"""The pairwise maximum-entropy baseline beside independent units and an RBM: their test log-likelihoods on
the raster's test frames (the RBM's split), and the share of the RBM's gain over independent units that the
pairwise model captures (Schneidman et al. 2006; seed 004); the moments check (the fitted model's pair
covariances beside the training frames'); the numbers as a table and the model's file with them."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from napari_neurorbm.analysis.ising import MAX_EXACT, LogZ, iter_log_z_ais, log_z_exact, loglik
from napari_neurorbm.analysis.maxent import Moments, PairwiseFit, iter_fit_pairwise, iter_model_moments
from napari_neurorbm.analysis.pairwise_file import save_pairwise
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm import partition
from napari_neurorbm.rbm.model import RBM, base_biases, pick_device
from napari_neurorbm.rbm.monitoring import EXACT_EVAL_COST
from napari_neurorbm.rbm.trainer import independent_loglik

DRAWN_PAIRS = 20_000  # pairs a figure of the moments check draws at most (a random sample beyond)


@dataclass(frozen=True)
class MaxEntResult:
    """The fit, its settings, its log Z and its moments (over the fitted units: :meth:`covariances`), and
    test log-likelihoods per frame in nats: independent units, the pairwise model, and an RBM when one was
    given."""

    config: MaxEntConfig
    fit: PairwiseFit
    moments: Moments
    moments_method: str  # exact or chains (iter_model_moments)
    log_z: LogZ
    independent: float
    pairwise: float
    pairwise_train: float
    rbm: float | None
    n_test: int
    seconds: dict[str, float]  # wall time of the fit, the moments, the pairwise log Z, the RBM's likelihood

    @property
    def share(self) -> float | None:
        """(pairwise - independent) / (RBM - independent): the part of the RBM's gain the pairwise model
        captures (above 1: it does better than the RBM)."""
        if self.rbm is None or self.rbm == self.independent:
            return None
        return (self.pairwise - self.independent) / (self.rbm - self.independent)

    def covariances(self, at_most: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The covariance of each pair of fitted units in the training frames and in the model; of a random
        sample of ``at_most`` pairs (seeded, in order) when there are more (to draw them)."""
        data, model = self.fit.data.covariances(), self.moments.covariances()
        if at_most is not None and len(data) > at_most:
            keep = np.sort(np.random.default_rng(0).choice(len(data), at_most, replace=False))
            data, model = data[keep], model[keep]
        return data, model

    def moments_agreement(self) -> dict:
        """How well the model's pair covariances match the data's: Pearson's r between them over pairs,
        the slope of the model's on the data's (least squares; 1 when they match, below 1 when the L2
        penalty shrinks the couplings), the root mean square and the largest difference; and the largest
        difference of a unit's mean."""
        data, model = self.covariances()
        varied = len(data) > 1 and data.std() > 0 and model.std() > 0
        diff = model - data
        return {"pair_covariance_r": float(np.corrcoef(data, model)[0, 1]) if varied else None,
                "pair_covariance_slope": float(np.polyfit(data, model, 1)[0]) if varied else None,
                "pair_covariance_rms_error": float(np.sqrt(np.mean(diff**2))) if len(diff) else None,
                "pair_covariance_max_error": float(np.abs(diff).max()) if len(diff) else None,
                "moments_method": self.moments_method,
                "mean_max_error": float(np.abs(self.moments.means - self.fit.data.means).max())}

    def summary(self) -> dict:
        """The headline numbers as one flat dict (what `neurorbm maxent --json` prints)."""
        fit = self.fit
        return {"units": len(fit.model.h), "constant_units": fit.constant_units, "fit_frames": fit.frames,
                "test_frames": self.n_test,
                "independent_test_ll": self.independent, "pairwise_test_ll": self.pairwise,
                "pairwise_train_ll": self.pairwise_train, "log_z": self.log_z.value,
                "log_z_stderr": self.log_z.stderr, "log_z_method": self.log_z.method, "rbm_test_ll": self.rbm,
                "share_of_rbm_gain": self.share, "l2": fit.l2,
                "l2_chosen_by": "given" if fit.choice is None else "held-out pseudolikelihood",
                "l2_tried": None if fit.choice is None else {f"{l2:g}": v for l2, v in fit.choice.scores},
                "l2_seconds": None if fit.choice is None else fit.choice.seconds,
                "pl_iterations": fit.pl_iterations, "updates": fit.updates,
                "mean_error": _finite(fit.mean_error), "pair_error": _finite(fit.pair_error),
                **self.moments_agreement(), **{f"{k}_seconds": v for k, v in self.seconds.items()}}

    def table(self) -> pd.DataFrame:
        """One row per model (independent, pairwise, RBM when given): its test log-likelihood per frame,
        its gain over independent units and the share of the RBM's gain (empty without an RBM)."""
        lls = {"independent": self.independent, "pairwise": self.pairwise}
        if self.rbm is not None:
            lls["RBM"] = self.rbm
        gains = {k: v - self.independent for k, v in lls.items()}
        rbm_gain = gains.get("RBM") or math.nan
        return pd.DataFrame({"model": list(lls), "test_ll": list(lls.values()),
                             "gain_over_independent": list(gains.values()),
                             "share_of_rbm_gain": [g / rbm_gain + 0.0 for g in gains.values()]})  # no -0

    def save(self, path: str | Path, raster: Raster, raster_name: str | None = None) -> Path:
        """Write the fitted model's file (pairwise_file) with the raster's units and the numbers as its
        metadata; the path written."""
        meta = {"areas": raster.areas.astype(str).tolist(), "unit_ids": raster.unit_ids.tolist(),
                "bin_s": float(raster.bin_s), "raster": raster_name or raster.name,
                "config": dataclasses.asdict(self.config), "fitted_units": self.fit.free.tolist(),
                **self.summary()}
        return save_pairwise(path, self.fit.model, meta)


def agreement_text(numbers: dict, before: str = "") -> str:
    """``before`` + 'r = 0.952, slope 0.44' of the moments check in ``numbers``
    (:meth:`MaxEntResult.moments_agreement` or the summary); empty when the covariances do not vary. The
    tab, the report page and the command say it alike."""
    r, slope = numbers["pair_covariance_r"], numbers["pair_covariance_slope"]
    return "" if r is None else f"{before}r = {r:.3f}, slope {slope:.2f}"


def iter_maxent(raster: Raster, config: MaxEntConfig | None = None, rbm: RBM | None = None
                ) -> Generator[Progress, None, MaxEntResult]:
    """Fit the pairwise model to the raster's training frames and evaluate it (and independent units, and
    ``rbm`` if given) on its test frames; log Z exactly up to 20 units, by AIS beyond."""
    cfg = (config or MaxEntConfig()).validate()
    train, test = raster.frames("train"), raster.frames("test")
    if len(test) == 0:
        raise NeuroRBMError("the raster has no test frames to evaluate the models on")
    fit = yield from iter_fit_pairwise(train, cfg)
    seconds = {"fit": fit.seconds}
    began = time.monotonic()
    moments, method = yield from iter_model_moments(fit, train, cfg)
    seconds["moments"], began = time.monotonic() - began, time.monotonic()
    log_z = yield from iter_log_z(fit, train.mean(0), cfg)
    seconds["log_z"] = time.monotonic() - began
    rbm_ll = None
    if rbm is not None:
        began = time.monotonic()
        rbm_ll = yield from _iter_rbm_loglik(rbm, train, test, cfg)
        seconds["rbm"] = time.monotonic() - began
    return MaxEntResult(cfg, fit, moments, method, log_z, independent_loglik(train, test),
                        loglik(fit.model, test, log_z.value), loglik(fit.model, train, log_z.value), rbm_ll,
                        len(test), seconds)


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
