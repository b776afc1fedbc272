"""PCD-k training of a binary RBM: a :class:`Trainer` holds the whole state and ``run()`` is a generator.

One update (paper, section III): the data term from a minibatch, k block-Gibbs sweeps of the persistent
chains, then a step along the minibatch-mean log-likelihood gradient. The model term is Rao-Blackwellised
over the visible layer of the last sweep, <v h> ~ mean p(v | h) h^T, so an update costs at most 2k + 3
products of size (batch or chains) x N_v x N_h and nothing else of that size; on a CPU with sparse data the
k products v W of the sweeps are sums over each chain's active units instead. Stopping between yields loses
nothing: calling ``run()`` again continues from the same state.

The test log-likelihood along training needs log Z of the current model: exact when a layer is small, else
a short AIS from the W = 0 model at each evaluation (live curve). Estimating it instead along the trajectory
from the persistent chains was tried and dropped: the chains lag behind a fast-changing model and the estimate
drifts by many nats on real recordings. At the end of a run one PTT pass along the checkpoints (the paper's
method) gives log Z of every checkpoint, and the best model is chosen by that test LL.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm import gradient, sampling
from napari_neurorbm.rbm.io import ModelFile, save_model
from napari_neurorbm.rbm.model import RBM, base_biases, independent_rbm, pick_device
from napari_neurorbm.rbm.partition import (
    exact_cost,
    iter_log_z_ais,
    iter_ptt_log_zs,
    log_z_exact,
    loglik,
    wide,
)
from napari_neurorbm.rbm.sampling import Bernoulli, binary_matmul

FLOAT_FRAMES_MAX = 2**28  # keep training frames as float32 up to 1 GiB, else as uint8
PTT_CHAINS = 500  # chains per checkpoint in the final PTT pass (memory: models x chains x units floats)
EXACT_EVAL_COST = 2**24  # enumerate at every evaluation when 2^n_small * n_large is at most this
REFINE_CHAINS = 4  # the selected model's log Z is re-estimated with this many times the AIS chains
SELECT_CANDIDATES = 6  # checkpoints between live evaluations that the model selection evaluates
RESERVE_SHARE = 0.25  # a time budget keeps at most this share of itself for the final model selection
LIVE_SHARE = 0.5  # the part of the monitoring share (eval_share) that live AIS evaluations may take
CHECK_EVERY = 50  # updates between two host-side checks on a GPU


def checkpoint_updates(updates: int, n: int) -> np.ndarray:
    """Log-spaced updates in [1, updates] (about n of them), plus 0 (the initial model) and the last one."""
    spaced = np.round(np.logspace(0, np.log10(updates), n)).astype(np.int64) if n > 0 else []
    return np.unique(np.r_[0, spaced, updates].astype(np.int64))


@dataclass
class Clock:
    """Wall time of one ``run()`` call: its budget (0 minutes = none) and the seconds spent so far on updates
    and on evaluations, from which the update rate and the cost of the end of the run are estimated."""

    minutes: float = 0.0
    first_update: int = 0
    start: float = field(default_factory=time.monotonic)
    train_s: float = 0.0
    eval_s: float = 0.0
    last_eval_s: float = 0.0
    select_s: float = 0.0

    def seconds(self) -> dict:
        """Where the last ``run()`` call's time went, in seconds (updates, live evaluations, selection)."""
        return {"updates": self.train_s, "evaluations": self.eval_s, "selection": self.select_s,
                "wall": time.monotonic() - self.start}

    def left(self) -> float:
        """Seconds of budget left (infinite without a budget)."""
        return self.minutes * 60 - (time.monotonic() - self.start) if self.minutes else math.inf

    def spent(self, reserve: float) -> bool:
        """Whether no time is left beyond ``reserve`` seconds."""
        return self.left() <= reserve

    def projected(self, update: int, updates: int) -> int:
        """The update at which the run will end: ``updates``, or fewer when the budget ends it first."""
        busy = self.train_s + self.eval_s
        if not self.minutes or busy <= 0 or update <= self.first_update:
            return updates
        rate = (update - self.first_update) / busy
        return int(min(updates, update + max(0.0, self.left()) * rate))


@dataclass
class Best:
    """The checkpoint of maximal test log-likelihood so far (the paper's Fig. 2 star)."""

    update: int
    rbm: RBM
    test_ll: float
    train_ll: float
    log_z: float


class Trainer:
    """The model, persistent chains, optimizer, checkpoints and log-likelihood history of one PCD-k run."""

    def __init__(
        self,
        train: np.ndarray,
        test: np.ndarray | None,
        config: TrainConfig,
        *,
        info: dict | None = None,
        init: RBM | None = None,
    ) -> None:
        self.config = config.validate()
        train = _check_frames(train, "training")
        test = None if test is None or len(test) == 0 else _check_frames(test, "test")
        if test is not None and test.shape[1] != train.shape[1]:
            raise NeuroRBMError(f"test frames have {test.shape[1]} units, training frames {train.shape[1]}")
        self.device = pick_device(config.device)
        self.info = dict(info or {})
        nv = train.shape[1]
        if init is None:
            init = independent_rbm(train, config.n_hidden, weight_std=config.weight_std, seed=config.seed)
        if init.n_visible != nv:
            raise NeuroRBMError(f"the model has {init.n_visible} visible units but the data {nv}")
        self.rbm = init.to(self.device).clone()
        if config.log_z == "exact" and config.eval_every and exact_cost(self.rbm) == math.inf:
            raise NeuroRBMError("exact log Z needs a layer of at most 20 units; use log_z 'ais' or 'auto'")
        self.update = 0
        self._clock = Clock()
        self.history: list[dict] = []
        self.checkpoints: list[tuple[int, RBM]] = []
        self.best: Best | None = None
        self.diverged = False
        self.ptt: list[dict] = []  # train/test LL of the checkpoints with log Z from the final PTT run
        self.selection: dict | None = None  # the final, longer AIS of the selected model
        self.log_z: float | None = None  # of the model at the last evaluation
        self.independent_test_ll = None if test is None else independent_loglik(train, test)
        # the frames get a column of ones (bias folded into the products); float32 lets a minibatch be
        # gathered straight into the product's input, uint8 when that would be big
        dtype = torch.float32 if train.size <= FLOAT_FRAMES_MAX else torch.uint8
        self._train = torch.ones(len(train), train.shape[1] + 1, dtype=dtype, device=self.device)
        self._train[:, :-1] = torch.as_tensor(train, dtype=dtype)
        self._test = None if test is None else torch.as_tensor(test, dtype=torch.uint8).to(self.device)
        gen = torch.Generator().manual_seed(config.seed)
        n_eval = min(len(train), max(2000, 0 if test is None else len(test)))
        pick = torch.randperm(len(train), generator=gen)[:n_eval].to(self.device)
        self._train_eval = self._train[pick, :-1].to(torch.uint8)
        self._batch_gen = gen
        # AIS starts from independent units with the data's mean activity: close to the model, low variance
        unit_means = torch.as_tensor(train.mean(0), dtype=torch.float32)
        self._base_b = base_biases(unit_means.to(self.device))
        self._order = torch.empty(0, dtype=torch.int64)
        self._opt: torch.optim.Optimizer | None = None
        sparse = self.device.type == "cpu" and float(unit_means.mean()) <= sampling.SPARSE_MAX
        self._buffers(nv, sparse)  # sparse chains on a CPU: decided once, by the data's mean activity
        self._reseed(config.seed)
        p = torch.sigmoid(self.rbm.b).expand(config.chains, nv).contiguous()
        self._berns[0].draw(p, out=self.chains)  # the independent model's exact samples: a good PCD start
        self._pv_mean: torch.Tensor | None = None

    @classmethod
    def from_raster(cls, raster, config: TrainConfig, init: RBM | None = None) -> Trainer:
        """Train on a :class:`~napari_neurorbm.data.raster.Raster` with its own train/test split."""
        info = {
            "areas": np.asarray(raster.areas).astype(str).tolist(),
            "unit_ids": np.asarray(raster.unit_ids).tolist(),
            "bin_s": float(raster.bin_s),
            "raster": getattr(raster, "name", "raster"),
            "split": {
                "train_frames": np.asarray(raster.train_frames).tolist(),
                "test_frames": np.asarray(raster.test_frames).tolist(),
            },
        }
        return cls(raster.frames("train"), raster.frames("test"), config, info=info, init=init)

    @classmethod
    def resume(cls, model: ModelFile, raster, config: TrainConfig) -> Trainer:
        """Continue a run saved in a model file: its last checkpoint, chains, history and best model.

        A file that holds the run's resumable state (``Trainer.save`` writes it) continues exactly, bit for
        bit on a CPU, as the run would have without the stop; an older file gets fresh random streams and
        fresh optimizer moments."""
        meta = model.metadata
        last = max(model.checkpoints, key=lambda uc: uc[0]) if model.checkpoints else None
        start = last[1] if last is not None else model.rbm
        if start.n_hidden != config.n_hidden:
            raise NeuroRBMError(f"the model has {start.n_hidden} hidden units, not {config.n_hidden}")
        update = int(meta.get("update", last[0] if last is not None else 0))
        if update >= config.updates:
            raise NeuroRBMError(
                f"the model is already at update {update}; ask for more updates (e.g. --updates {2 * update})"
            )
        trainer = cls.from_raster(raster, config, init=start)
        trainer.update = update
        trainer.history = list(meta.get("history", []))
        trainer.checkpoints = sorted(model.checkpoints, key=lambda uc: uc[0])
        trainer._reseed(config.seed, update)
        if model.chains is not None and model.chains.shape == tuple(trainer.chains.shape):
            trainer.chains.copy_(torch.as_tensor(model.chains))
        best = meta.get("best")
        if best is not None:
            match = [m for u, m in model.checkpoints if u == best.get("update")]
            rbm = match[0] if match else model.rbm
            trainer.best = Best(
                int(best["update"]),
                rbm,
                float(best["test_ll"]),
                float(best.get("train_ll", 0)),
                float(best.get("log_z", math.nan)),
            )
        if model.state is not None:
            trainer._restore_state(model)
        return trainer

    # ------------------------------------------------------------------ the run
    def run(self) -> Generator[Progress, None, Trainer]:
        """Train until ``config.updates`` or until the time budget ``config.minutes`` is spent (whichever
        comes first), yielding one progress record per update; then pick the best model. Returns the trainer.

        The budget covers everything the call does: updates, evaluations and the final model selection, whose
        cost is estimated from the evaluations and kept in reserve."""
        cfg = self.config
        self._clock = Clock(cfg.minutes, self.update)
        if not self.checkpoints:
            self._checkpoint()
        if cfg.eval_every and not self.history:
            yield self._progress((yield from self._timed_evaluate()))
        schedule = set(checkpoint_updates(cfg.updates, cfg.checkpoints).tolist())
        while self.update < cfg.updates and not self._clock.spent(self._reserve()):
            t0 = time.perf_counter()
            stats = self._step()
            self._clock.train_s += time.perf_counter() - t0
            self.update += 1
            record = {"update": self.update, **stats}
            if self.update in schedule:
                self._checkpoint()
                record["checkpoint"] = True
            if self._eval_due():
                record.update((yield from self._timed_evaluate(fe_gap=stats.get("fe_gap"))))
            yield self._progress(record)
        if self.update < cfg.updates:  # the time budget ended the run: the last model is a candidate too
            self._checkpoint()
            if cfg.eval_every and self.history[-1]["update"] != self.update:
                yield self._progress((yield from self._timed_evaluate()))
        if self._method == "ais" and self.best is not None:
            t0 = time.perf_counter()
            yield from (self.iter_select_ptt() if cfg.ptt_sweeps else self.iter_select_ais())
            self._clock.select_s = time.perf_counter() - t0
        return self

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
            most = min(SELECT_CANDIDATES + REFINE_CHAINS, RESERVE_SHARE * 60 * cfg.minutes / max(last, 1e-9))
            return last + min(last * most, max(0.0, self._selection_share()))
        steps = cfg.ptt_sweeps * (len(self.checkpoints) + 2) * min(cfg.chains, PTT_CHAINS)
        return last * (1 + steps / (cfg.ais_chains * cfg.ais_betas))

    def _progress(self, record: dict) -> Progress:
        total = self._clock.projected(self.update, self.config.updates)
        msg = f"update {record['update']}/{total}"
        if "test_ll" in record and record["test_ll"] is not None:
            msg += f"  test LL {record['test_ll']:.4f}"
        if "train_ll" in record:
            msg += f"  train LL {record['train_ll']:.4f}"
        return Progress("train", record["update"], total, msg, payload=record)

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

    def _checkpoint(self) -> None:
        self.checkpoints = [(u, m) for u, m in self.checkpoints if u != self.update]
        self.checkpoints.append((self.update, self.rbm.to("cpu").clone()))

    # ------------------------------------------------------------------ one update
    def _reseed(self, *seed: int) -> None:
        """One independent Bernoulli stream per block of rows (see :meth:`_step`)."""
        self._berns = [Bernoulli(self.device, (*seed, i)) for i in range(len(self._blocks))]

    def _buffers(self, nv: int, sparse: bool) -> None:
        """Preallocated operands. A column of ones beside the frames, the chains and the hidden units folds
        the hidden biases into the products (x = [v 1] [W; c]) and makes the gradient products also return
        the column sums (the bias gradients), so no extra reduction of that size."""
        cfg, dev, nh = self.config, self.device, self.config.n_hidden
        bs = self._batch_size = min(cfg.batch, len(self._train))
        # on a CPU, each core runs the whole update on its own block of chains and frames (see _step)
        n = 1 if dev.type != "cpu" else max(1, min(torch.get_num_threads(), bs, cfg.chains))
        self._blocks = [
            (i * bs // n, (i + 1) * bs // n, i * cfg.chains // n, (i + 1) * cfg.chains // n) for i in range(n)
        ]
        self._batch_loaded = False
        small = self._train.dtype == torch.uint8
        self._batch_u8 = torch.empty(bs, nv + 1, dtype=torch.uint8, device=dev) if small else None
        self._batch = torch.empty(bs, nv + 1, device=dev)
        self._chains = torch.ones(cfg.chains, nv + 1, device=dev)
        self._mask = torch.empty(cfg.chains, nv, dtype=torch.bool) if sparse else None
        self.chains = self._chains[:, :nv]  # the persistent chains (a view)
        self._x_data = torch.empty(bs, nh, device=dev)
        self._ph_data = torch.ones(bs, nh + 1, device=dev)
        self._p_h = torch.empty(cfg.chains, nh, device=dev)
        self._h = torch.ones(cfg.chains, nh + 1, device=dev)
        self._p_v = torch.empty(cfg.chains, nv, device=dev)
        # W and c live in one matrix [W; c], so that [v 1] [W; c] = v W + c needs no copy
        self._wc = torch.cat([self.rbm.W, self.rbm.c[None]])
        self.rbm = RBM(self._wc[:-1], self.rbm.b, self._wc[-1])
        self._g_data = torch.empty(n, nv, nh + 1, device=dev)
        self._g_chain = torch.empty(n, nv, nh + 1, device=dev)
        self._prev = [x.clone() for x in (self.rbm.W, self.rbm.b, self.rbm.c)]
        # divergence checks (and the free-energy gap) need the host: every update on a CPU, every
        # CHECK_EVERY updates on a GPU, where a host round trip would stall the queue of kernels
        self._check_every = 1 if dev.type == "cpu" else CHECK_EVERY

    def _batch_rows(self) -> torch.Tensor | None:
        """Row indices of the next minibatch (None: the whole training set, already in the buffer)."""
        n, bs = len(self._train), self._batch_size
        if bs == n:
            if not self._batch_loaded:
                self._batch.copy_(self._train)
                self._batch_loaded = True
            return None
        if len(self._order) < bs:  # a new epoch: shuffle once, on the device (no transfer per update)
            order = torch.randperm(n, generator=self._batch_gen)
            if self.device.type == "cuda":  # copied behind the queued kernels, without waiting for them
                order = order.pin_memory()
            self._order = order.to(self.device, non_blocking=True)
        idx, self._order = self._order[:bs], self._order[bs:]
        return idx

    def _step(self) -> dict:
        """One PCD-k update. On a CPU the chains and the minibatch are cut into one block of rows per core and
        each block runs its whole update (data term, k sweeps, its share of the gradient) in its own worker
        thread with one torch thread: the cores never wait for each other inside an update, and each block
        draws from its own random stream. The shares are summed and the step is taken here."""
        cfg, rbm = self.config, self.rbm
        nh, bs, nc = cfg.n_hidden, self._batch_size, cfg.chains
        idx = self._batch_rows()
        if self._pv_mean is None:
            self._pv_mean = self.chains.mean(0)
        if len(self._blocks) == 1:
            parts = [self._block_update(0, idx)]
        else:
            pool = _workers(len(self._blocks))
            futures = [pool.submit(self._block_update, i, idx) for i in range(len(self._blocks))]
            try:
                parts = [f.result() for f in futures]
            finally:  # even on Ctrl-C: never leave a worker writing into the chains
                wait(futures)
        g_data, g_chain = self._g_data.sum(0), self._g_chain.sum(0)
        sp_data, sp_chains, ph_sum, h_sum = (sum(p[j] for p in parts) for j in range(4))
        mu, lam = g_data[:, nh] / bs, ph_sum / bs  # data means of v and of p(h | v): the centring offsets
        # cheap indicator: mean F(data) - mean F(chains) under the current model; 0 when chains look like data
        fe_gap = (self._pv_mean - mu) @ rbm.b + sp_chains / nc - sp_data / bs
        self._pv_mean = g_chain[:, nh] / nc  # Rao-Blackwellised mean of the new chains
        g_data.div_(bs).sub_(g_chain, alpha=1.0 / nc)  # [grad W | grad b]
        grad_w, grad_b, grad_c = g_data[:, :nh], g_data[:, nh], lam - h_sum / nc
        if cfg.centered:
            gradient.center_(grad_w, grad_b, grad_c, mu, lam)
        if cfg.normalize:
            gradient.normalize_(grad_w, grad_b, grad_c)
        every = self._check_every
        if self.update % every == 0:  # parameters known to be finite (checked at the end of the last step)
            for p, q in zip(self._prev, (rbm.W, rbm.b, rbm.c), strict=True):
                p.copy_(q)
        self._apply(grad_w, grad_b, grad_c)
        if (self.update + 1) % every:  # a GPU keeps working between checks: no host round trip
            return {}
        check = rbm.W.sum() + rbm.b.sum() + rbm.c.sum() + fe_gap  # NaN or inf anywhere makes it non-finite
        fe_gap_v, check_v = torch.stack([fe_gap, check]).to(wide(self.device)).tolist()
        if not math.isfinite(check_v):
            self._diverge()
        return {"fe_gap": fe_gap_v}

    def _block_update(self, i: int, idx: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """Data term, k sweeps and gradient share of block i; returns (sum softplus over its frames, the same
        over its chains before the sweeps, column sums of p(h | frames), column sums of the last h)."""
        b0, b1, c0, c1 = self._blocks[i]
        nh, k, bern = self.config.n_hidden, self.config.k, self._berns[i]
        data = self._batch[b0:b1]
        if idx is not None:
            if self._batch_u8 is None:
                torch.index_select(self._train, 0, idx[b0:b1], out=data)
            else:
                torch.index_select(self._train, 0, idx[b0:b1], out=self._batch_u8[b0:b1])
                data.copy_(self._batch_u8[b0:b1])
        x_data, ph_data = self._x_data[b0:b1], self._ph_data[b0:b1]
        torch.mm(data, self._wc, out=x_data)
        sp_data = F.softplus(x_data).sum()
        torch.sigmoid(x_data, out=ph_data[:, :nh])
        chains, h_aug, p_h, p_v = self._chains[c0:c1], self._h[c0:c1], self._p_h[c0:c1], self._p_v[c0:c1]
        v, h = chains[:, :-1], h_aug[:, :nh]
        mask = None if self._mask is None else self._mask[c0:c1]
        if mask is not None:  # numpy: several times faster than torch at float <-> bool on a CPU
            np.not_equal(v.numpy(), 0, out=mask.numpy())
        for step in range(k):
            if mask is None:
                x = torch.mm(chains, self._wc, out=p_h)
            else:  # sparse chains: sum the rows of W of the active units; v is written at the end
                x = binary_matmul(mask, self.rbm.W).add_(self.rbm.c)
            if step == 0:
                sp_chains = F.softplus(x).sum()
            bern.draw(torch.sigmoid(x, out=x), out=h, keep_p=False)
            torch.addmm(self.rbm.b, h, self.rbm.W.T, out=p_v)
            torch.sigmoid(p_v, out=p_v)
            # the last p(v | h) enters the gradient (Rao-Blackwellised over v)
            if mask is None:
                bern.draw(p_v, out=v, keep_p=step == k - 1)
            else:
                bern.draw_mask(p_v, out=mask, keep_p=step == k - 1)
        if mask is not None:
            np.copyto(v.numpy(), mask.numpy())
        torch.mm(data[:, :-1].T, ph_data, out=self._g_data[i])  # [D^T p(h | D) | column sums of D]
        torch.mm(p_v.T, h_aug, out=self._g_chain[i])  # [p(v | h)^T h | column sums of p(v | h)]
        return sp_data, sp_chains, ph_data[:, :nh].sum(0), h.sum(0)

    def learning_rate(self, update: int) -> float:
        """The SGD step at ``update``: ``lr``, or ``lr / sqrt(1 + update / lr_decay)`` with a decay time, a
        function of the update count alone, so that seeded and resumed runs stay exact."""
        cfg = self.config
        return cfg.lr / math.sqrt(1 + update / cfg.lr_decay) if cfg.lr_decay else cfg.lr

    def _apply(self, grad_w: torch.Tensor, grad_b: torch.Tensor, grad_c: torch.Tensor) -> None:
        """One step up the log-likelihood gradient: plain SGD, or Adam."""
        rbm = self.rbm
        if self.config.optimizer == "sgd":
            lr = self.learning_rate(self.update)
            rbm.W.add_(grad_w, alpha=lr)
            rbm.b.add_(grad_b, alpha=lr)
            rbm.c.add_(grad_c, alpha=lr)
            return
        if self._opt is None:
            self._opt = self._adam()
        for p, g in zip((rbm.W, rbm.b, rbm.c), (grad_w, grad_b, grad_c), strict=True):
            p.grad = g
        self._opt.step()

    def _diverge(self) -> None:
        for p, q in zip((self.rbm.W, self.rbm.b, self.rbm.c), self._prev, strict=True):
            p.copy_(q)
        failed, self.update = self.update + 1, self.update - self.update % self._check_every
        self.diverged = True
        self._checkpoint()
        raise NeuroRBMError(
            f"training diverged at update {failed}: the parameters or log Z became NaN/inf "
            f"(learning rate {self.config.lr} too large?); kept the model of update {self.update} and the "
            "checkpoints before it"
        )

    # ------------------------------------------------------------------ results
    @property
    def selected(self) -> tuple[int, RBM]:
        """(update, model) of the best checkpoint by test LL, or the current model when there is none."""
        if self.best is not None:
            return self.best.update, self.best.rbm
        return self.update, self.rbm.to("cpu").clone()

    def _selected_by(self) -> str:
        if self.best is None:
            return "last update"
        return "max test log-likelihood" + (" (log Z by PTT along the checkpoints)" if self.ptt else "")

    def metadata(self) -> dict:
        """Everything the model file records besides the parameters."""
        sel_update, _ = self.selected
        best = (
            None
            if self.best is None
            else {
                "update": self.best.update,
                "test_ll": self.best.test_ll,
                "train_ll": self.best.train_ll,
                "log_z": self.best.log_z,
            }
        )
        return {
            "format": "napari-neurorbm model",
            "format_version": 1,
            **self.info,
            "n_visible": self.rbm.n_visible,
            "n_hidden": self.rbm.n_hidden,
            "config": asdict(self.config),
            "device": str(self.device),
            "update": self.update,
            "selected_update": sel_update,
            "selected_by": self._selected_by(),
            "best": best,
            "log_z": self.log_z,
            "history": self.history,
            "ptt": self.ptt,
            "selection": self.selection,
            "timing": self._clock.seconds(),
            "n_train": len(self._train),
            "n_test": 0 if self._test is None else len(self._test),
            "independent_test_ll": self.independent_test_ll,
            "diverged": self.diverged,
        }

    def save(self, path: str | Path) -> Path:
        """Write the selected model, the checkpoints (plus the current and best models), the chains and the
        resumable state, atomically: call it between two updates (between two records of ``run()``)."""
        ckpts = dict(self.checkpoints)
        ckpts.setdefault(self.update, self.rbm.to("cpu").clone())
        if self.best is not None:
            ckpts.setdefault(self.best.update, self.best.rbm)
        chains = self.chains.to("cpu", torch.uint8).numpy()
        meta, state = self.metadata(), self._resume_state()
        return save_model(path, self.selected[1], meta, sorted(ckpts.items()), chains=chains, state=state)

    # ------------------------------------------------------------------ resumable state
    def _layout(self) -> dict:
        """What the random streams and the minibatch order are tied to: a stored position continues them
        only where these are the same."""
        return {
            "device": self.device.type,
            "blocks": len(self._blocks),
            "batch": self._batch_size,
            "chains": self.config.chains,
            "train_frames": len(self._train),
        }

    def _resume_state(self) -> dict:
        """Everything a continuation needs besides the current model (the file's last checkpoint), chains,
        history and best model: the position of every random stream, the rest of the epoch's minibatch
        order, the optimizer's moments, the chains' mean p(v | h), the last parameters known to be finite
        and which checkpoints the run keeps. ``save_model`` stores the arrays as arrays, the rest as JSON."""
        state = {
            "layout": self._layout(),
            "checkpoints": [u for u, _ in self.checkpoints],
            "streams": np.stack([bern.get_state() for bern in self._berns]),
            "batch_order_gen": self._batch_gen.get_state().numpy(),
            "batch_order": self._order.cpu().numpy(),
            **{f"prev_{name}": x.cpu().numpy() for name, x in zip("Wbc", self._prev, strict=True)},
        }
        if self._pv_mean is not None:
            state["pv_mean"] = self._pv_mean.cpu().numpy()
        if self._opt is not None:
            for i, moments in self._opt.state_dict()["state"].items():
                state.update({f"adam_{i}_{key}": value.cpu().numpy() for key, value in moments.items()})
        return state

    def _restore_state(self, model: ModelFile) -> None:
        """Continue from ``model.state`` (see :meth:`_resume_state`). The random streams, the minibatch order
        and the chains' mean continue only when the layout is the same (device, CPU blocks, batch, chains,
        training frames); otherwise they stay freshly seeded and a warning says the run is no longer exact."""
        state, meta = model.state, model.metadata
        kept = set(state.get("checkpoints", []))
        self.checkpoints = [(u, m) for u, m in self.checkpoints if u in kept]
        self.ptt = list(meta.get("ptt", []))
        self.selection = meta.get("selection")
        self.log_z = meta.get("log_z")
        for p, name in zip(self._prev, "Wbc", strict=True):
            p.copy_(torch.as_tensor(state[f"prev_{name}"]))
        self._restore_optimizer(state)
        saved, now = state.get("layout", {}), self._layout()
        if saved != now:
            changed = ", ".join(f"{k} {saved.get(k)} -> {v}" for k, v in now.items() if saved.get(k) != v)
            warnings.warn(
                f"the run continues with fresh random streams, so not exactly as it would have without the "
                f"stop ({changed})",
                stacklevel=3,
            )
            return
        for bern, position in zip(self._berns, state["streams"], strict=True):
            bern.set_state(position)
        self._batch_gen.set_state(torch.from_numpy(np.array(state["batch_order_gen"], dtype=np.uint8)))
        self._order = torch.tensor(state["batch_order"], dtype=torch.int64, device=self.device)
        if "pv_mean" in state:
            self._pv_mean = torch.tensor(state["pv_mean"], device=self.device)

    def _restore_optimizer(self, state: dict) -> None:
        """Adam continues with its stored moments and step count (a file without them: fresh moments)."""
        stored = {k for k in state if k.startswith("adam_")}
        if self.config.optimizer != "adam" or not stored:
            return
        moments: dict[int, dict] = {}
        for name in stored:
            i, key = name[len("adam_"):].split("_", 1)
            moments.setdefault(int(i), {})[key] = torch.tensor(state[name])
        self._opt = self._adam()
        full = self._opt.state_dict()
        full["state"] = moments
        self._opt.load_state_dict(full)

    def _adam(self) -> torch.optim.Adam:
        """Adam on W, b and c, stepping up the gradient (the log-likelihood is maximised)."""
        rbm = self.rbm
        return torch.optim.Adam([rbm.W, rbm.b, rbm.c], lr=self.config.lr, maximize=True)


@functools.cache
def _workers(n: int) -> ThreadPoolExecutor:
    """Worker threads that each run torch with one thread (torch's thread count is per calling thread)."""
    return ThreadPoolExecutor(
        n, thread_name_prefix="neurorbm-pcd", initializer=torch.set_num_threads, initargs=(1,)
    )


def iter_train(raster, config: TrainConfig) -> Generator[Progress, None, Trainer]:
    """Train a fresh model on a raster's split; yields progress records and returns the :class:`Trainer`."""
    return (yield from Trainer.from_raster(raster, config).run())


def independent_loglik(train: np.ndarray, frames: np.ndarray, clip: float = 1e-4) -> float:
    """Mean log-likelihood per frame of ``frames`` under independent units fitted to ``train`` (baseline)."""
    p = np.clip(np.asarray(train, dtype=np.float64).mean(0), clip, 1 - clip)
    x = np.asarray(frames, dtype=np.float64)
    return float((x @ np.log(p) + (1 - x) @ np.log1p(-p)).mean())


def _check_frames(frames: np.ndarray, what: str) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 2 or frames.shape[0] == 0 or frames.shape[1] == 0:
        raise NeuroRBMError(f"the {what} frames must be a non-empty frames x units array, got {frames.shape}")
    if not np.isin(frames, (0, 1)).all():
        raise NeuroRBMError(f"the {what} frames must be binary (0/1)")
    return frames
