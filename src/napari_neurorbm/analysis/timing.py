"""Fig. 6 timing: how many Gibbs sweeps make one frame of generated activity (tau "auto").

The paper keeps one configuration every tau Gibbs sweeps, tau "chosen to match the relaxation time of the
autocorrelation function of the number of simultaneously active neurons K(t) measured in the real
recordings" (paper 001, Fig. 6 (c)). Here the autocorrelation of K is measured twice: in the recording, in
frames, and in chains started from recording (train) frames with one sweep per frame, in sweeps. Each
relaxation time is the lag at which the autocorrelation first falls to 1/e, and
tau = round(sweeps' time / frames' time), at least 1.

Why the 1/e lag and not an exponential fit: the recording's autocorrelation is no single exponential (a fast
drop, a slow tail, oscillations the model does not have, Fig. 6 (c)), so a fit's answer depends on the lags
it is given; the 1/e lag needs no fitting range, is read where the estimate is least noisy (before the tail)
and is exact for an exponential: between the two lags around the crossing it interpolates log C linearly,
which returns T for C(lag) = exp(-lag / T), whole or not (below one frame too).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from napari_neurorbm.analysis.generation import iter_generate
from napari_neurorbm.analysis.statistics import autocorrelation
from napari_neurorbm.configs import PAPER_TAU
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm.model import RBM

E_FOLD = float(np.exp(-1.0))
FIRST_LAGS = 16  # lags of the first look at an autocorrelation; x4 until it falls to 1/e
START_SWEEPS = 128  # sweeps per chain of the first calibration run; x4 until K(t) relaxes within a quarter
MAX_SWEEPS = 8192
CHAINS = 32
STAGE = "calibrating tau"


class NoRelaxation(NeuroRBMError):
    """K(t) does not fall to 1/e within the lags measured (a recording too short, a constant K, a model
    that does not mix): tau auto cannot be calibrated."""


@dataclass(frozen=True)
class TauCalibration:
    """The chosen tau and the two relaxation times it matches (frames of ``bin_s`` seconds; Gibbs sweeps)."""

    tau: int
    recording_frames: float
    generated_sweeps: float
    bin_s: float
    sweeps_per_chain: int

    @property
    def recording_s(self) -> float:
        return self.recording_frames * self.bin_s

    @property
    def generated_s(self) -> float:
        """The generated relaxation time in seconds at the chosen tau (one frame = tau sweeps = bin_s)."""
        return self.generated_sweeps / self.tau * self.bin_s

    def numbers(self) -> dict[str, float | int | str]:
        """JSON-ready numbers for a report's parameters."""
        return {"tau_mode": "auto", "recording_relaxation_s": round(float(self.recording_s), 6),
                "recording_relaxation_frames": round(float(self.recording_frames), 4),
                "generated_relaxation_sweeps": round(float(self.generated_sweeps), 4),
                "generated_relaxation_s": round(float(self.generated_s), 6),
                "calibration_sweeps_per_chain": self.sweeps_per_chain}

    def line(self) -> str:
        return (f"tau {self.tau} (auto): K(t) relaxes to 1/e in {self.recording_s * 1e3:.0f} ms in the "
                f"recording and in {self.generated_sweeps:.2f} Gibbs sweeps "
                f"({self.generated_s * 1e3:.0f} ms at tau {self.tau})")


def relaxation_lag(acf: np.ndarray) -> float | None:
    """The first lag at which ``acf`` (lag 0 first) falls to 1/e, log-linearly interpolated from the lag
    before (linearly when it falls to 0 or below); None when it does not within its finite start."""
    acf = np.asarray(acf, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(acf))
    head = acf[: bad[0] if bad.size else len(acf)]
    hits = np.flatnonzero(head <= E_FOLD)
    if not hits.size or hits[0] == 0:
        return None
    i = int(hits[0])
    hi, lo = head[i - 1], head[i]
    if lo <= 0:
        return i - 1 + (hi - E_FOLD) / (hi - lo)
    return i - 1 + (np.log(hi) + 1.0) / (np.log(hi) - np.log(lo))


def relaxation_time(k: np.ndarray, segment_starts: np.ndarray | None, limit: int) -> float | None:
    """The 1/e lag of K's autocorrelation (pairs within segments), looking at up to ``limit`` lags:
    first 16, then 4x as many until it falls (most series fall early, and each lag costs a pass)."""
    lags = min(FIRST_LAGS, limit)
    while lags >= 1:
        found = relaxation_lag(autocorrelation(k, segment_starts, lags))
        if found is not None or lags >= limit:
            return found
        lags = min(4 * lags, limit)
    return None


def _check_varies(k: np.ndarray, what: str) -> None:
    if len(k) == 0 or np.ptp(k) == 0:
        raise NoRelaxation(f"K(t) of {what} is constant, so it has no relaxation time")


def contiguous(raster: Raster) -> bool:
    """Whether consecutive frames inside each segment are exactly one bin apart (no frames were skipped)."""
    gaps = np.diff(raster.frame_times)
    within = np.ones(len(gaps), dtype=bool)
    within[raster.segment_starts[1:] - 1] = False
    return bool(np.allclose(gaps[within], raster.bin_s, rtol=1e-6, atol=1e-9))


def recording_relaxation(raster: Raster) -> float:
    """The relaxation time of the recording's K(t), in frames; a NoRelaxation when it cannot be had."""
    if not contiguous(raster):
        raise NoRelaxation("the raster's frames are not contiguous bins (keep-every > 1?), so K(t) has no "
                           "relaxation time to match")
    k = raster.binary.sum(axis=0, dtype=np.int64)
    _check_varies(k, "the recording")
    longest = int(np.diff(np.r_[raster.segment_starts, raster.n_frames]).max(initial=0))
    limit = longest // 4
    found = relaxation_time(k, raster.segment_starts, limit) if limit >= 1 else None
    if found is None:
        raise NoRelaxation(f"the recording ({raster.n_frames} frames) is too short to fit a relaxation time: "
                           f"the autocorrelation of K(t) does not fall to 1/e within {limit} frames (a "
                           "quarter of its longest stretch)")
    return found


def iter_generated_relaxation(rbm: RBM, data: np.ndarray, chains: int = CHAINS, seed: int = 0,
                              device: str | None = None) -> Generator[Progress, None, tuple[float, int]]:
    """The relaxation time of K in Gibbs sweeps, in ``chains`` chains started from rows of ``data`` with
    one frame per sweep: 128 sweeps per chain, 4x as many until K falls to 1/e within a quarter of them.
    Returns (time in sweeps, sweeps per chain of the last run)."""
    sweeps = START_SWEEPS
    while True:
        run = yield from relabel(iter_generate(rbm, chains * sweeps, tau=1, chains=chains, init="data",
                                               data=data, seed=seed, device=device), STAGE)
        k = run.frames.sum(axis=1, dtype=np.int64)
        _check_varies(k, "the model's chains")
        found = relaxation_time(k, run.segment_starts, sweeps // 4)
        if found is not None:
            return float(found), sweeps
        if sweeps >= MAX_SWEEPS:
            raise NoRelaxation(f"the model's K(t) does not fall to 1/e within {MAX_SWEEPS // 4} Gibbs "
                               "sweeps; give tau")
        sweeps *= 4


def iter_calibrate_tau(rbm: RBM, raster: Raster, chains: int = CHAINS, seed: int = 0,
                       device: str | None = None) -> Generator[Progress, None, TauCalibration]:
    """Tau such that generated K(t) relaxes like the recording's: round(sweeps' time / frames' time) >= 1.
    Chains start from the raster's train frames (as the report's generation does)."""
    frames = recording_relaxation(raster)
    yield Progress(STAGE, 0, 0, f"the recording's K(t) relaxes in {frames:.2f} frames")
    train = raster.frames("train")
    sweeps, per_chain = yield from iter_generated_relaxation(rbm, train, chains, seed, device)
    tau = max(1, round(sweeps / frames))
    return TauCalibration(tau, float(frames), sweeps, float(raster.bin_s), per_chain)


def iter_resolve_tau(rbm: RBM, raster: Raster, tau: int | None, seed: int = 0, device: str | None = None
                     ) -> Generator[Progress, None, tuple[int, TauCalibration | None, str | None]]:
    """``tau`` when given; for None (auto) the calibrated tau, or the paper's when the calibration cannot be
    had (returned with a note that says why). Returns (tau, calibration or None, note or None)."""
    if tau is not None:
        return int(tau), None, None
    try:
        cal = yield from iter_calibrate_tau(rbm, raster, seed=seed, device=device)
    except NoRelaxation as exc:
        return PAPER_TAU, None, f"tau auto: {exc}; used the paper's tau {PAPER_TAU}"
    return cal.tau, cal, None
