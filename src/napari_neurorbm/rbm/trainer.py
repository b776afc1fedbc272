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

import math
import time
from collections.abc import Generator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from napari_neurorbm.data.celltypes import describe_classes
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm import sampling
from napari_neurorbm.rbm.clock import Clock
from napari_neurorbm.rbm.io import ModelFile, save_model
from napari_neurorbm.rbm.model import RBM, base_biases, independent_rbm, pick_device
from napari_neurorbm.rbm.monitoring import Best, Monitoring
from napari_neurorbm.rbm.partition import exact_cost
from napari_neurorbm.rbm.pcd import PCDUpdates
from napari_neurorbm.rbm.resumable import ResumableState
from napari_neurorbm.rbm.sampling import draw_independent

if TYPE_CHECKING:
    from napari_neurorbm.configs import TrainConfig

FLOAT_FRAMES_MAX = 2**28  # keep training frames as float32 up to 1 GiB, else as uint8


def checkpoint_updates(updates: int, n: int) -> np.ndarray:
    """Log-spaced updates in [1, updates] (about n of them), plus 0 (the initial model) and the last one."""
    spaced = np.round(np.logspace(0, np.log10(updates), n)).astype(np.int64) if n > 0 else []
    return np.unique(np.r_[0, spaced, updates].astype(np.int64))


class Trainer(PCDUpdates, Monitoring, ResumableState):
    """The model, persistent chains, optimizer, checkpoints and log-likelihood history of one PCD-k run.

    Built from parts, each in its own module: :class:`~napari_neurorbm.rbm.pcd.PCDUpdates` (one update),
    :class:`~napari_neurorbm.rbm.monitoring.Monitoring` (evaluations and model selection) and
    :class:`~napari_neurorbm.rbm.resumable.ResumableState` (the state of an exact continuation)."""

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
        draw_independent(self._berns[0], self.rbm.b, out=self.chains)  # exact samples of W = 0: a good start
        self._pv_mean: torch.Tensor | None = None

    @classmethod
    def from_raster(cls, raster, config: TrainConfig, init: RBM | None = None) -> Trainer:
        """Train on a :class:`~napari_neurorbm.data.raster.Raster` with its own train/test split."""
        info = {
            "areas": np.asarray(raster.areas).astype(str).tolist(),
            "unit_ids": np.asarray(raster.unit_ids).tolist(),
            "bin_s": float(raster.bin_s),
            "raster": getattr(raster, "name", "raster"),
            **_classes(raster),
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

    def _progress(self, record: dict) -> Progress:
        total = self._clock.projected(self.update, self.config.updates)
        msg = f"update {record['update']}/{total}"
        if "test_ll" in record and record["test_ll"] is not None:
            msg += f"  test LL {record['test_ll']:.4f}"
        if "train_ll" in record:
            msg += f"  train LL {record['train_ll']:.4f}"
        return Progress("train", record["update"], total, msg, payload=record)

    def _checkpoint(self) -> None:
        self.checkpoints = [(u, m) for u, m in self.checkpoints if u != self.update]
        self.checkpoints.append((self.update, self.rbm.to("cpu").clone()))

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
        meta, state = self.metadata(), self.resume_state()
        return save_model(path, self.selected[1], meta, sorted(ckpts.items()), chains=chains, state=state)


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


def _classes(raster) -> dict:
    """The units' putative E/I classes for the model's metadata, when the raster has any."""
    classes = getattr(raster, "classes", None)
    return {"classes": np.asarray(classes).astype(str).tolist()} if describe_classes(classes) else {}
