"""Monitoring and model selection of a PCD run: the test log-likelihood along training (log Z exact when a
layer is small, else a short AIS from independent units at each evaluation), when to evaluate within the
time budget, and the final choice of the best checkpoint (more AIS around the live maximum, or one PTT pass
along the checkpoints).

:class:`Monitoring` is a part of :class:`~napari_neurorbm.rbm.trainer.Trainer`: it reads the trainer's model,
frames, checkpoints, clock and config and writes its history, best model and selection.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.partition import exact_cost, iter_log_z_ais, iter_ptt_log_zs, log_z_exact, loglik

PTT_CHAINS = 500  # chains per checkpoint in the final PTT pass (memory: models x chains x units floats)
EXACT_EVAL_COST = 2**24  # enumerate at every evaluation when 2^n_small * n_large is at most this
REFINE_CHAINS = 4  # the selected model's log Z is re-estimated with this many times the AIS chains
SELECT_CANDIDATES = 6  # checkpoints between live evaluations that the model selection evaluates
RESERVE_SHARE = 0.25  # a time budget keeps at most this share of itself for the final model selection
LIVE_SHARE = 0.5  # the part of the monitoring share (eval_share) that live AIS evaluations may take


@dataclass
class Best:
    """The checkpoint of maximal test log-likelihood so far (the paper's Fig. 2 star)."""

    update: int
    rbm: RBM
    test_ll: float
    train_ll: float
    log_z: float


class Monitoring:
    """Evaluations along training and the final model selection (a part of the Trainer)."""

    def _eval_due(self) -> bool:
        """Every ``eval_every`` updates and at the last one; AIS evaluations wait while they have taken more
        than half of ``eval_share`` of the time, leaving the rest to the model selection (exact ones are cheap
        and always run; at a share of 1 every evaluation runs on schedule)."""
        cfg = self.config
        if not cfg.eval_every:
            return False
        if self.update == cfg.updates:
            return True
        if self.update - self.history[-1]["update"] < cfg.eval_every:
            return False
        clock = self._clock
        if self._method == "exact" or cfg.eval_share >= 1:
            return True
        return clock.eval_s <= LIVE_SHARE * cfg.eval_share * (clock.train_s + clock.eval_s)

    def _timed_evaluate(self, fe_gap: float | None = None) -> Generator[Progress, None, dict]:
        t0 = time.perf_counter()
        record = yield from self.iter_evaluate(fe_gap)
        self._clock.last_eval_s = time.perf_counter() - t0
        self._clock.eval_s += self._clock.last_eval_s
        return record

    def _reserve(self) -> float:
        """Seconds to keep for the end of a budgeted run: one last evaluation and the model selection, both
        estimated from the last evaluation (whose cost is mostly its AIS chain-steps)."""
        cfg, last = self.config, self._clock.last_eval_s
        if not cfg.eval_every or self._method == "exact":
            return last
        if not cfg.ptt_sweeps:  # the selection fits in what is left of the monitoring share
            selection = min(last * (SELECT_CANDIDATES + REFINE_CHAINS), RESERVE_SHARE * 60 * cfg.minutes)
            return last + min(selection, max(0.0, self._selection_share()))
        steps = cfg.ptt_sweeps * (len(self.checkpoints) + 2) * min(cfg.chains, PTT_CHAINS)
        return last * (1 + steps / (cfg.ais_chains * cfg.ais_betas))

    @property
    def _method(self) -> str:
        """How log Z is computed at evaluations: 'exact' or 'ais'."""
        if self.config.log_z == "auto":
            return "exact" if exact_cost(self.rbm) <= EXACT_EVAL_COST else "ais"
        return self.config.log_z

    def iter_evaluate(self, fe_gap: float | None = None) -> Generator[Progress, None, dict]:
        """Train/test log-likelihood of the current model; updates the best model and the history."""
        cfg = self.config
        if self._method == "exact":
            self.log_z = log_z_exact(self.rbm)
        else:
            self.log_z = yield from iter_log_z_ais(
                self.rbm, cfg.ais_chains, cfg.ais_betas, self._base_b, seed=cfg.seed + self.update
            )
        train_ll = loglik(self.rbm, self._train_eval, self.log_z)
        test_ll = None if self._test is None else loglik(self.rbm, self._test, self.log_z)
        rec = {
            "update": self.update,
            "train_ll": train_ll,
            "test_ll": test_ll,
            "log_z": self.log_z,
            "log_z_method": self._method,
        }
        if fe_gap is not None:
            rec["fe_gap"] = fe_gap
        self.history.append(rec)
        if test_ll is not None and (self.best is None or test_ll > self.best.test_ll):
            self.best = Best(self.update, self.rbm.to("cpu").clone(), test_ll, train_ll, self.log_z)
            rec["best"] = True
        return rec

    def _selection_share(self) -> float:
        """Seconds of the monitoring share (``eval_share`` of the training time) that the live evaluations
        have left for the model selection (unlimited at a share of 1)."""
        clock, share = self._clock, self.config.eval_share
        return math.inf if share >= 1 else share * clock.train_s - clock.eval_s

    def iter_select_ais(self) -> Generator[Progress, None, None]:
        """Model selection after AIS monitoring (stage "select").

        Live evaluations are few when updates are cheap (a GPU) or the run is short, so the peak of the test
        LL may lie between two of them: the checkpoints between the evaluations just before and after the
        best one (at most ``SELECT_CANDIDATES``, log-spaced like the checkpoints) get an AIS like a live one.
        The best model of all then gets one more AIS with up to ``REFINE_CHAINS`` times the chains, so that
        the reported LL does not carry the upward bias of a maximum over noisy estimates.

        All of it fits in what the live evaluations left of the monitoring share and in the time budget,
        counted in live evaluations: the re-estimate takes up to ``REFINE_CHAINS`` of them, the search the
        rest. With room for none, the live estimate of the best model stands."""
        cfg, clock = self.config, self._clock
        room = max(0.0, min(clock.left(), self._selection_share()))
        slots = int(min(room / max(clock.last_eval_s, 1e-9), REFINE_CHAINS + SELECT_CANDIDATES))
        refine = min(REFINE_CHAINS, slots)
        picks = self._bracketed_checkpoints(min(SELECT_CANDIDATES, slots - refine))
        if not refine:
            self.selection = self._selection_record("live", cfg.ais_chains, self.best.test_ll, [])
            yield Progress("select", 1, 1, f"model selection: no time left, the live estimate of update "
                                           f"{self.best.update} stands")
            return
        steps, n = cfg.ais_betas - 1, len(picks) + 1
        models, tried = dict(self.checkpoints), []
        for j, u in enumerate(picks):
            rbm = models[u].to(self.device)  # AIS and both log-likelihoods where the frames are
            ais = iter_log_z_ais(rbm, cfg.ais_chains, cfg.ais_betas, self._base_b, seed=(cfg.seed, u, 2))
            msg = f"model selection: checkpoint {j + 1}/{len(picks)} (update {u})"
            log_z = yield from relabel(ais, "select", msg, j * steps, n * steps)
            test_ll = loglik(rbm, self._test, log_z)
            tried.append({"update": u, "test_ll": test_ll, "log_z": log_z})
            if test_ll > self.best.test_ll:
                self.best = Best(u, models[u], test_ll, loglik(rbm, self._train_eval, log_z), log_z)
        best = self.best
        rbm = best.rbm.to(self.device)
        ais = iter_log_z_ais(rbm, cfg.ais_chains * refine, cfg.ais_betas, self._base_b,
                             seed=(cfg.seed, best.update, 1))
        msg = f"model selection: log Z of the best model (update {best.update}) by a longer AIS"
        log_z = yield from relabel(ais, "select", msg, (n - 1) * steps, n * steps)
        test_ll, train_ll = loglik(rbm, self._test, log_z), loglik(rbm, self._train_eval, log_z)
        self.best = Best(best.update, best.rbm, test_ll, train_ll, log_z)
        self.selection = self._selection_record("ais", cfg.ais_chains * refine, best.test_ll, tried)

    def _selection_record(self, method: str, chains: int, estimate_before: float, tried: list) -> dict:
        """What the model selection chose and how (the model file's ``selection`` metadata)."""
        b = self.best
        return {"update": b.update, "method": method, "chains": chains, "betas": self.config.ais_betas,
                "log_z": b.log_z, "test_ll": b.test_ll, "train_ll": b.train_ll,
                "estimate_before": estimate_before, "checkpoints_tried": tried}

    def _bracketed_checkpoints(self, most: float) -> list[int]:
        """Checkpoints strictly between the live evaluations just before and just after the best one: at
        most ``most`` of them, spread evenly (in order, so log-spaced like the checkpoints)."""
        evaluated = sorted({h["update"] for h in self.history})
        if self.best.update not in evaluated:
            return []
        i = evaluated.index(self.best.update)
        lo, hi = evaluated[max(i - 1, 0)], evaluated[min(i + 1, len(evaluated) - 1)]
        inside = [u for u, _ in self.checkpoints if lo < u < hi and u not in evaluated]
        most = max(0, int(most))
        if len(inside) <= most:
            return inside
        return [inside[j] for j in np.unique(np.linspace(0, len(inside) - 1, most).round().astype(int))]

    def iter_select_ptt(self) -> Generator[Progress, None, None]:
        """One PTT run along the checkpoints gives log Z of each; their test LL then picks the best model.

        The live AIS estimates are short and independent of each other; PTT along the trajectory (the paper's
        method) follows the model's history, so it has the last word on model selection.
        """
        if self._test is None:
            raise NeuroRBMError("model selection by PTT needs test frames")
        models = dict(self.checkpoints)
        models.setdefault(self.update, self.rbm.to("cpu").clone())
        if self.best is not None:
            models.setdefault(self.best.update, self.best.rbm)
        ups = sorted(models)
        path = [models[u].to(self.device) for u in ups]
        log_zs = yield from iter_ptt_log_zs(
            path,
            n_chains=min(self.config.chains, PTT_CHAINS),
            sweeps=self.config.ptt_sweeps,
            seed=self.config.seed,
        )
        self.ptt = [
            {
                "update": u,
                "log_z": z,
                "train_ll": loglik(m, self._train_eval, z),
                "test_ll": loglik(m, self._test, z),
            }
            for u, m, z in zip(ups, path, log_zs, strict=True)
        ]
        top = max(self.ptt, key=lambda r: r["test_ll"])
        self.best = Best(top["update"], models[top["update"]], top["test_ll"], top["train_ll"], top["log_z"])
        self.log_z = log_zs[-1]
