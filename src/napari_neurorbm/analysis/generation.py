"""MCMC "in time" from a trained RBM, and clamping experiments with matched control runs (paper 001, Fig. 6).

Independent chains run side by side on the model's device; saved frame t of a chain is its visible state
after (t + 1) * tau Gibbs sweeps from its start. The result lists chains one after another as segments.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from napari_neurorbm.atomic import save_npz, write_csv, write_text
from napari_neurorbm.configs import INITS, PAPER_TAU, ClampConfig, GenerateConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.model import RBM, pick_device
from napari_neurorbm.rbm.sampling import Bernoulli, Clamp, Sweeper

if TYPE_CHECKING:
    from napari_neurorbm.analysis.pairwise_file import PairwiseFile

GEN = GenerateConfig(tau=PAPER_TAU)  # the defaults of generation and clamping: a fixed tau (auto needs a
# recording to match, analysis.timing)
_BUFFER_BYTES = 64 * 2**20  # device memory for frames waiting to be copied to the host


@dataclass
class GeneratedRun:
    """Generated 0/1 frames (uint8, frames x units): chains one after another, from segment_starts."""

    frames: np.ndarray
    segment_starts: np.ndarray
    tau: int
    init: str
    seed: int
    start_frames: np.ndarray | None
    clamp_units: np.ndarray
    clamp_values: np.ndarray
    clamp_onset: int
    timing: dict | None = None  # how tau was calibrated (analysis.timing.TauCalibration.numbers), if it was

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def n_chains(self) -> int:
        return len(self.segment_starts)

    def chain(self, i: int) -> np.ndarray:
        """Frames of chain ``i`` in time order."""
        bounds = np.r_[self.segment_starts, self.n_frames]
        return self.frames[bounds[i] : bounds[i + 1]]

    def params(self) -> dict:
        """The generation parameters, JSON-ready (the clamp's only for a clamped run)."""
        out = {"n_frames": self.n_frames, "chains": self.n_chains, "tau": self.tau, "init": self.init,
               "seed": self.seed, **(self.timing or {})}
        if self.clamp_units.size:
            out.update(clamp_units=self.clamp_units.tolist(), clamp_values=self.clamp_values.tolist(),
                       clamp_onset=self.clamp_onset)
        return out

    def to_raster(self, bin_s: float, areas: np.ndarray | None = None, unit_ids: np.ndarray | None = None,
                  name: str = "generated") -> Raster:
        """The run as a Raster (units x frames, one frame per bin_s); every frame is in the 'train' split."""
        n_units = self.frames.shape[1]
        return Raster(
            counts=np.ascontiguousarray(self.frames.T),
            bin_s=float(bin_s),
            areas=np.full(n_units, "unknown") if areas is None else np.asarray(areas, dtype=str),
            unit_ids=np.arange(n_units) if unit_ids is None else np.asarray(unit_ids),
            segment_starts=self.segment_starts.astype(np.int64),
            frame_times=np.arange(self.n_frames) * float(bin_s),
            train_frames=np.arange(self.n_frames),
            test_frames=np.zeros(0, dtype=np.int64),
            name=name,
        )


def chain_lengths(n_frames: int, chains: int) -> np.ndarray:
    """Split ``n_frames`` over ``chains`` as evenly as possible (the first chains take the remainder)."""
    return n_frames // chains + (np.arange(chains) < n_frames % chains)


def make_clamp(units, values, n_visible: int, chains: int | None = None) -> Clamp:
    """Check and build a clamp: distinct unit indices in [0, n_visible) held at 0/1 values.

    ``values`` is one number for all units, one per unit, or (chains x units) for a pattern per chain
    (e.g. ``data[frame, units]``).
    """
    u = np.asarray(units).reshape(-1)
    if u.size == 0:
        raise NeuroRBMError("no unit to clamp was given")
    if not np.issubdtype(u.dtype, np.integer):
        raise NeuroRBMError("clamped units must be integer indices of visible units")
    bad = u[(u < 0) | (u >= n_visible)]
    if bad.size:
        raise NeuroRBMError(f"clamped unit index {int(bad[0])} is out of range: the model has {n_visible} "
                            f"visible units (0..{n_visible - 1})")
    if len(np.unique(u)) != len(u):
        raise NeuroRBMError("a unit is listed twice among the clamped units")
    vals = np.asarray(values, dtype=np.float64)
    if not np.all((vals == 0) | (vals == 1)):
        raise NeuroRBMError("clamp values must be 0 or 1")
    if vals.ndim == 0:
        vals = np.full(len(u), float(vals))
    ok = vals.shape == (len(u),) or (vals.ndim == 2 and vals.shape[1] == len(u)
                                      and (chains is None or vals.shape[0] == chains))
    if not ok:
        raise NeuroRBMError(f"clamp values of shape {vals.shape} do not fit {len(u)} units"
                            + ("" if chains is None else f" and {chains} chains"))
    return Clamp(u.astype(np.int64), torch.as_tensor(vals, dtype=torch.float32))


def _check_data(data, n_visible: int) -> np.ndarray:
    if data is None:
        raise NeuroRBMError("init 'data' needs data frames to start from")
    x = np.asarray(data)
    if x.ndim != 2 or x.shape[1] != n_visible or len(x) == 0:
        raise NeuroRBMError(f"data frames must be a frames x {n_visible} array (a column per visible unit), "
                            f"got shape {x.shape}")
    if not np.all((x == 0) | (x == 1)):
        raise NeuroRBMError("data frames must hold 0/1 values only")
    return x


def start_states(n_visible: int, chains: int, init: str, data=None, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Starting visible states (chains x n_visible, float32) and, for init 'data', the rows they came from.

    'data' draws rows of ``data`` at random (without repeats while there are enough); 'random' draws each
    unit 0 or 1 with probability 1/2. Seeded with numpy, so every device starts from the same states.
    """
    rng = np.random.default_rng(seed)
    if init == "data":
        x = _check_data(data, n_visible)
        rows = rng.choice(len(x), size=chains, replace=chains > len(x))
        return x[rows].astype(np.float32), rows
    if init == "random":
        return (rng.random((chains, n_visible)) < 0.5).astype(np.float32), None
    raise NeuroRBMError(f"unknown init '{init}' (use {' or '.join(INITS)})")


def _check_run(rbm: RBM, n_frames: int, tau: int, chains: int, clamp: Clamp | None, clamp_onset: int) -> None:
    for name, val in (("number of frames", n_frames), ("tau", tau), ("number of chains", chains)):
        if int(val) != val or val < 1:
            raise NeuroRBMError(f"the {name} must be a positive integer, got {val}")
    if chains > n_frames:
        raise NeuroRBMError(f"{chains} chains need at least {chains} frames, got {n_frames}")
    if clamp is None:
        return
    make_clamp(clamp.units, clamp.values.cpu().numpy(), rbm.n_visible, chains)
    shortest = n_frames // chains
    if int(clamp_onset) != clamp_onset or not 0 <= clamp_onset < shortest:
        raise NeuroRBMError(f"the clamp onset must be a frame within every chain (0..{shortest - 1}), "
                            f"got {clamp_onset}")


def iter_generate(rbm: RBM, n_frames: int, tau: int = GEN.tau, chains: int = GEN.chains, init: str = GEN.init,
                  data: np.ndarray | None = None, clamp: Clamp | None = None, clamp_onset: int = 0,
                  seed: int = GEN.seed, device: str | torch.device | None = None
                  ) -> Generator[Progress, None, GeneratedRun]:
    """Generate ``n_frames`` frames in all (split over ``chains`` chains), one every ``tau`` Gibbs sweeps.

    With a clamp, the clamped units are held from frame ``clamp_onset`` of every chain on (0: from the start).
    Sampling stays on the device in float32; frames go to the host in blocks, one progress record per block.
    """
    _check_run(rbm, n_frames, tau, chains, clamp, clamp_onset)
    dev = rbm.device if device is None else pick_device(str(device))
    rbm = rbm.to(dev)
    lengths = chain_lengths(n_frames, chains)
    steps = int(lengths[0])
    v0, rows = start_states(rbm.n_visible, chains, init, data, seed)
    v = torch.as_tensor(v0, device=dev)
    if clamp is not None:
        clamp = Clamp(clamp.units, clamp.values.to(device=dev, dtype=torch.float32))
    sweeper = Sweeper(chains, rbm.n_visible, rbm.n_hidden, Bernoulli(dev, seed))
    block = int(np.clip(_BUFFER_BYTES // (chains * rbm.n_visible), 1, max(1, -(-steps // 100))))
    buf = torch.empty((block, chains, rbm.n_visible), dtype=torch.uint8, device=dev)
    out = np.empty((chains, steps, rbm.n_visible), dtype=np.uint8)
    for t in range(steps):  # no grad-mode context here: it would leak to the caller across the yields
        # one engine for the whole run: buffers and random stream persist across frames
        sweeper.run(rbm, v, tau, clamp=clamp if t >= clamp_onset else None)
        buf[t % block].copy_(v)
        if (t + 1) % block == 0 or t + 1 == steps:
            first = t - t % block
            out[:, first : t + 1] = buf[: t + 1 - first].cpu().numpy().transpose(1, 0, 2)
            yield Progress("generating", int(np.minimum(lengths, t + 1).sum()), n_frames,
                           f"{t + 1}/{steps} frames per chain, {chains} chains")
    return GeneratedRun(
        frames=(out.reshape(-1, rbm.n_visible) if lengths[-1] == steps
                else np.concatenate([out[c, :n] for c, n in enumerate(lengths)])),
        segment_starts=np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64),
        tau=int(tau), init=init, seed=int(seed), start_frames=rows,
        clamp_units=np.zeros(0, dtype=np.int64) if clamp is None else clamp.units,
        clamp_values=np.zeros(0) if clamp is None else clamp.values.cpu().numpy(),
        clamp_onset=int(clamp_onset),
    )


# ---------------------------------------------------------------- clamping experiment


@dataclass
class ClampResult:
    """A clamped run and its control (same starting states, same random stream), and what the clamp changed.

    Per unit: firing probability over post-onset frames (mean over chains), delta = clamped - control, its
    standard error from the spread of per-chain deltas, and ``beyond`` = |delta| > n_sigma * SE. Per area the
    same for the mean delta over the area's free (not clamped) units.
    """

    clamped: GeneratedRun
    control: GeneratedRun
    areas: np.ndarray
    n_sigma: float
    chain_delta: np.ndarray
    p_clamped: np.ndarray
    p_control: np.ndarray
    area_names: np.ndarray
    area_chain_delta: np.ndarray

    @property
    def is_clamped(self) -> np.ndarray:
        mask = np.zeros(self.chain_delta.shape[1], dtype=bool)
        mask[self.clamped.clamp_units] = True
        return mask

    @property
    def delta(self) -> np.ndarray:
        return self.chain_delta.mean(axis=0)

    @property
    def delta_se(self) -> np.ndarray:
        return _sem(self.chain_delta)

    @property
    def beyond(self) -> np.ndarray:
        return np.abs(self.delta) > self.n_sigma * self.delta_se

    @property
    def area_delta(self) -> np.ndarray:
        return self.area_chain_delta.mean(axis=0)

    @property
    def area_se(self) -> np.ndarray:
        return _sem(self.area_chain_delta)

    @property
    def area_beyond(self) -> np.ndarray:
        return np.abs(self.area_delta) > self.n_sigma * self.area_se

    def unit_table(self, unit_ids: np.ndarray | None = None) -> pd.DataFrame:
        """One row per visible unit, in the model's order."""
        n = len(self.areas)
        return pd.DataFrame({
            "row": np.arange(n), "unit_id": np.arange(n) if unit_ids is None else np.asarray(unit_ids),
            "area": self.areas, "clamped": self.is_clamped, "p_control": self.p_control,
            "p_clamped": self.p_clamped, "delta": self.delta, "delta_se": self.delta_se,
            "beyond": self.beyond,
        })

    def area_table(self) -> pd.DataFrame:
        """One row per area: mean delta over its free units, its SE across chains, and the noise verdict."""
        free = ~self.is_clamped
        return pd.DataFrame({
            "area": self.area_names,
            "n_free_units": [int(np.sum(free & (self.areas == a))) for a in self.area_names],
            "delta": self.area_delta, "delta_se": self.area_se, "beyond": self.area_beyond,
        })

    def params(self) -> dict:
        return {**self.clamped.params(), "n_sigma": self.n_sigma, "control_seed": self.control.seed}


def _sem(x: np.ndarray) -> np.ndarray:
    return x.std(axis=0, ddof=1) / np.sqrt(len(x))


def _post_onset_rates(run: GeneratedRun, onset: int) -> np.ndarray:
    """Per chain, each unit's firing probability over frames from ``onset`` on (chains x units)."""
    return np.stack([run.chain(c)[onset:].mean(axis=0, dtype=np.float64) for c in range(run.n_chains)])


def iter_clamp_experiment(rbm: RBM, units, values, onset: int, n_frames: int, tau: int = GEN.tau,
                          chains: int = GEN.chains, init: str = GEN.init, data: np.ndarray | None = None,
                          seed: int = GEN.seed, areas: np.ndarray | None = None,
                          n_sigma: float = ClampConfig.n_sigma,
                          device: str | torch.device | None = None
                          ) -> Generator[Progress, None, ClampResult]:
    """Run clamped chains and control chains from the same starting states and compare them after the onset.

    ``n_frames`` is the total over ``chains`` (>= 2) chains, as in :func:`iter_generate`; both runs share the
    seed, so they are identical frame by frame until the onset. ``areas`` (one per visible unit) groups the
    per-area effect; without it all units form one area "all".
    """
    if int(chains) != chains or chains < 2:
        raise NeuroRBMError(f"a clamping experiment needs at least 2 chains to estimate noise, got {chains}")
    clamp = make_clamp(units, values, rbm.n_visible, chains)
    areas = np.full(rbm.n_visible, "all") if areas is None else np.asarray(areas, dtype=str)
    if len(areas) != rbm.n_visible:
        raise NeuroRBMError(f"{len(areas)} areas given for {rbm.n_visible} visible units")
    args = {"n_frames": n_frames, "tau": tau, "chains": chains, "init": init, "data": data, "seed": seed,
            "device": device}
    clamped = yield from relabel(iter_generate(rbm, clamp=clamp, clamp_onset=onset, **args),
                                  "clamped run", None, 0, 2 * n_frames)
    control = yield from relabel(iter_generate(rbm, **args), "control run", None, n_frames, 2 * n_frames)
    rate_c, rate_0 = _post_onset_rates(clamped, onset), _post_onset_rates(control, onset)
    chain_delta = rate_c - rate_0
    free = np.ones(rbm.n_visible, dtype=bool)
    free[clamp.units] = False
    names = np.array(list(dict.fromkeys(areas.tolist())), dtype=str)
    area_chain = np.stack(
        [chain_delta[:, free & (areas == a)].mean(axis=1) if np.any(free & (areas == a))
         else np.full(chains, np.nan) for a in names], axis=1)
    return ClampResult(clamped=clamped, control=control, areas=areas, n_sigma=float(n_sigma),
                       chain_delta=chain_delta, p_clamped=rate_c.mean(axis=0), p_control=rate_0.mean(axis=0),
                       area_names=names, area_chain_delta=area_chain)


def export_clamp_experiment(result: ClampResult, out_dir: str | Path, *, bin_s: float,
                            unit_ids: np.ndarray | None = None,
                            extra_params: dict | None = None) -> list[Path]:
    """Write the experiment: clamped.npz and control.npz (binned rasters napari opens), clamp_units.csv,
    clamp_areas.csv, clamp_experiment.npz (all arrays) and clamp_params.json. Returns the paths written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroRBMError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    paths = [
        result.clamped.to_raster(bin_s, result.areas, unit_ids, "clamped").save(out / "clamped.npz"),
        result.control.to_raster(bin_s, result.areas, unit_ids, "control").save(out / "control.npz"),
    ]
    ids = np.arange(len(result.areas)) if unit_ids is None else np.asarray(unit_ids)
    write_csv(out / "clamp_units.csv", result.unit_table(ids), index=False)
    write_csv(out / "clamp_areas.csv", result.area_table(), index=False)
    save_npz(
        out / "clamp_experiment.npz", compressed=True, what="clamp experiment",
        clamped=result.clamped.frames.T, control=result.control.frames.T,
        segment_starts=result.clamped.segment_starts, clamp_units=result.clamped.clamp_units,
        clamp_values=result.clamped.clamp_values, onset=np.int64(result.clamped.clamp_onset),
        areas=result.areas, unit_ids=ids, bin_s=np.float64(bin_s),
        p_clamped=result.p_clamped, p_control=result.p_control, delta=result.delta,
        delta_se=result.delta_se, beyond=result.beyond, chain_delta=result.chain_delta,
        area_names=result.area_names, area_delta=result.area_delta, area_se=result.area_se,
        area_beyond=result.area_beyond,
    )
    params = {**result.params(), "bin_s": bin_s, **(extra_params or {})}
    write_text(out / "clamp_params.json", json.dumps(params, indent=2))
    return paths + [out / n for n in ("clamp_units.csv", "clamp_areas.csv", "clamp_experiment.npz",
                                      "clamp_params.json")]


def check_same_units(model: ModelFile | PairwiseFile, raster: Raster,
                     raster_name: str = "the raster") -> None:
    """The raster's rows must be the model's visible units, in the model's order."""
    nv = model.n_visible
    if raster.n_units != nv:
        raise NeuroRBMError(f"the model has {nv} visible units but {raster_name} has {raster.n_units} units; "
                            "use the raster the model was trained on")
    row = first_other_unit(model.unit_ids, raster.unit_ids)
    if row is not None:
        raise NeuroRBMError(f"{raster_name} does not list the model's units in the model's order (unit ids "
                            f"differ from row {row} on); use the raster the model was trained on")


def first_other_unit(ids: np.ndarray | None, other: np.ndarray | None) -> int | None:
    """The first row at which two equally long lists of unit ids differ (compared as text); None when they
    agree, when either is unknown (None) or when their lengths differ (a count is checked on its own)."""
    if ids is None or other is None or len(ids) != len(other):
        return None
    differ = np.flatnonzero(np.asarray(ids).astype(str) != np.asarray(other).astype(str))
    return int(differ[0]) if len(differ) else None
