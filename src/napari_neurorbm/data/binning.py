"""Session -> Raster: bin, binarize, subsample frames, filter and order units, class them (E/I), split
train/test."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Generator

import numpy as np

from napari_neurorbm.configs import BinningConfig, QualityRule
from napari_neurorbm.data.celltypes import classify, note_unclassified
from napari_neurorbm.data.epochs import restrict
from napari_neurorbm.data.raster import Raster, split_frames
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
LAST_AREAS = ("unknown", "root", "")
SPIKE_CHUNK = 1 << 18  # spikes binned per step: temporaries stay in cache (2 MB each), which is twice as fast


BinningParams = BinningConfig  # the name the core's callers know it by
__all__ = ["BinningParams", "QualityRule", "binarize", "iter_binarize"]  # the config classes live in configs
DEFAULT_BINNING = BinningConfig()


def binarize(session: Session, params: BinningConfig = DEFAULT_BINNING) -> Raster:
    """Bin and binarize a session (see :func:`iter_binarize`)."""
    return drain(iter_binarize(session, params))


def unchosen_width(session: Session, params: BinningConfig = DEFAULT_BINNING) -> BinningConfig:
    """``params`` for ``session`` when nobody chose the bin width (drop-open, the sample data, the CLI without
    --bin-ms, a Load form left at its default): a binned source keeps its native bins, spike times take
    ``params.bin_ms``."""
    return params.replace(bin_ms=None) if session.is_binned else params


def iter_binarize(session: Session, params: BinningConfig) -> Generator[Progress, None, Raster]:
    """Generator form of :func:`binarize` that yields progress while binning spikes."""
    start, stop, bin_s = _window(session, params)
    stretches = restrict(session.epochs, start, stop, params.epoch, params.epoch_column, params.epoch_value,
                         session.name)
    if session.is_binned:
        counts, frame_times, segments = _rebin(session, params, stretches, bin_s)
        yield Progress("binning", session.n_units, session.n_units)
        active = np.count_nonzero(counts, axis=1)
        spikes = counts.sum(axis=1, dtype=np.int64)
    else:
        counts, frame_times, segments, active, spikes = yield from _bin_spikes(
            session, stretches, bin_s, params.keep_every
        )
    if counts.shape[1] == 0:
        raise NeuroRBMError("no frame is left in the chosen time window" + (
            f" (its {len(stretches)} stretches are each shorter than one bin)" if len(stretches) > 1 else ""))
    rates = spikes / (counts.shape[1] * bin_s)
    keep, report = _filter_units(session, active, rates, params)
    rows = keep[_unit_order(session.areas[keep], active[keep])]
    train, test = split_frames(counts.shape[1], params.test_fraction, params.seed)
    widths = None if session.waveform_ms is None else session.waveform_ms[rows]
    classes = classify(widths, params.ei_threshold_ms, len(rows))
    note_unclassified(classes, session.unit_ids[rows])
    return Raster(
        counts=_take_rows(counts, rows),
        bin_s=bin_s,
        areas=session.areas[rows],
        unit_ids=session.unit_ids[rows],
        segment_starts=segments,
        frame_times=frame_times,
        epochs=session.epochs,
        train_frames=train,
        test_frames=test,
        name=session.name,
        filter_report=report,
        classes=classes,
        waveform_ms=widths,
    )


def _window(session: Session, params: BinningConfig) -> tuple[float, float, float]:
    start = session.start_s if params.start_s is None else float(params.start_s)
    stop = session.stop_s if params.stop_s is None else float(params.stop_s)
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise NeuroRBMError("start and stop times must be finite numbers")
    if stop <= start:
        raise NeuroRBMError(f"the stop time ({stop:g} s) must come after the start time ({start:g} s)")
    k = params.keep_every
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise NeuroRBMError(f"keep-every must be a positive whole number, got {k}")
    if not np.isfinite(params.min_rate_hz) or params.min_rate_hz < 0:
        raise NeuroRBMError(f"the minimum rate must be zero or positive, got {params.min_rate_hz} Hz")
    if params.bin_ms is None:
        if not session.is_binned:
            raise NeuroRBMError("a bin width is needed for a session of spike times")
        bin_s = session.bin_s
    else:
        if not np.isfinite(params.bin_ms) or params.bin_ms <= 0:
            raise NeuroRBMError(f"the bin width must be positive, got {params.bin_ms} ms")
        bin_s = params.bin_ms / 1000.0
    if bin_s > stop - start:
        raise NeuroRBMError(
            f"the bin width ({bin_s * 1e3:g} ms) is longer than the time window ({stop - start:g} s)"
        )
    return start, stop, bin_s


def _n_frames(start, stop, bin_s: float):
    """Number of whole frames in [start, stop), forgiving the rounding of e.g. 1 s / 20 ms (per stretch)."""
    return np.floor((np.asarray(stop) - start) / bin_s + 1e-9).astype(np.int64)


def _bin_spikes(
    session: Session, stretches: np.ndarray, bin_s: float, keep_every: int
) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Counts (units x kept frames, uint8, saturating at 255), frame times, segment starts, active frames and
    spikes per unit.

    Each stretch (start, stop) of the window is a segment: its frame f covers [start + f*bin, start +
    (f+1)*bin) with the edges computed exactly as written, so a spike on an edge opens the later frame. All
    units are binned at once, a chunk of spikes at a time: stretches are sorted and apart and within a unit
    spike times rise, so the flat (unit, frame) keys of a chunk rise and their runs are counts.
    """
    starts, n_all = stretches[:, 0], _n_frames(stretches[:, 0], stretches[:, 1], bin_s)
    starts, n_all = starts[n_all > 0], n_all[n_all > 0]
    n_each = (n_all + keep_every - 1) // keep_every
    offsets = np.r_[0, np.cumsum(n_each)[:-1]].astype(np.int64)
    n_kept = int(n_each.sum())
    counts = np.zeros((session.n_units, n_kept), dtype=np.uint8)
    if not n_kept:  # every stretch is shorter than a bin
        zeros = np.zeros(session.n_units, dtype=np.int64)
        return counts, np.zeros(0), np.zeros(1, dtype=np.int64), zeros, zeros
    flat = counts.reshape(-1)
    active = np.zeros(session.n_units, dtype=np.int64)
    spikes = np.zeros(session.n_units, dtype=np.int64)
    times, index = session.spike_times, session.spike_index
    total = len(times)
    for a in range(0, total, SPIKE_CHUNK):
        b = min(a + SPIKE_CHUNK, total)
        t = times[a:b]
        k = np.searchsorted(starts, t, side="right") - 1  # the stretch a spike may fall in (-1: before all)
        at = np.maximum(k, 0)
        frames = _frame_of(t, starts[at], bin_s, n_all[at])
        valid = (k >= 0) & (frames >= 0) & (frames < n_all[at])
        if keep_every > 1:
            valid &= frames % keep_every == 0
            frames //= keep_every
        frames += offsets[at]
        units = _units_of(index, a, b)[valid]
        if units.size:
            spikes += np.bincount(units, minlength=session.n_units)
            keys = units * n_kept + frames[valid]
            first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            cells = keys[first]
            before = flat[cells]
            flat[cells] = np.minimum(before + np.diff(np.r_[first, keys.size]), 255)
            active += np.bincount(units[first[before == 0]], minlength=session.n_units)
        yield Progress("binning", b, total, f"{b:,} of {total:,} spikes")
    frame_times = np.concatenate([s + np.arange(n) * keep_every * bin_s for s, n in zip(starts, n_each,
                                                                                          strict=True)])
    return counts, frame_times, offsets, active, spikes


def _frame_of(t: np.ndarray, start: float, bin_s: float, n_all: int) -> np.ndarray:
    """Frame index of each spike time: negative before the first frame, n_all or more after the last."""
    x = t - start
    x /= bin_s
    np.clip(x, -1, n_all, out=x)
    f = x.astype(np.int64)  # truncation and rounding are off by at most one frame near an edge:
    f -= t < start + f * bin_s  # compare with the edges themselves, computed as frame_times are
    f += t >= start + (f + 1) * bin_s
    return f


def _units_of(index: np.ndarray, a: int, b: int) -> np.ndarray:
    """Row of the unit that owns each spike a..b-1 of the flat ragged spike times."""
    u0 = int(np.searchsorted(index, a, side="right")) - 1
    u1 = int(np.searchsorted(index, b, side="left"))
    lengths = np.minimum(index[u0 + 1 : u1 + 1], b) - np.maximum(index[u0:u1], a)
    return np.repeat(np.arange(u0, u1, dtype=np.int64), lengths)


def _take_rows(counts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``counts[rows]`` without a second copy of a big raster: rows move in place, one cycle at a time."""
    n = counts.shape[0]
    perm = np.r_[rows, np.setdiff1d(np.arange(n), rows)]  # row i of the result is row perm[i] of counts
    done = perm == np.arange(n)
    spare = np.empty_like(counts[0])
    for i in np.flatnonzero(~done):
        if done[i]:
            continue
        spare[:] = counts[i]
        j = i
        while perm[j] != i:
            counts[j] = counts[perm[j]]
            done[j] = True
            j = perm[j]
        counts[j] = spare
        done[j] = True
    return counts[: len(rows)]


def _rebin(
    session: Session, params: BinningConfig, stretches: np.ndarray, bin_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge native bins of a binned source (whole multiples only) within each segment and each stretch of
    the window (the native bins wholly inside it); each piece is a segment."""
    m = bins_per_frame(bin_s, session.bin_s)
    if m is None:
        raise NeuroRBMError(
            f"a {bin_s * 1e3:g} ms bin is not a whole multiple of the source's {session.bin_s * 1e3:g} ms "
            f"bins: use {session.bin_s * 1e3:g} ms (its native bins) or a multiple of it"
        )
    bounds = np.r_[session.segment_starts, session.counts.shape[1]]
    pieces, times, seg_starts = [], [], []
    for a, b in itertools.pairwise(bounds):
        t = session.frame_times[a:b]
        for start, stop in stretches:
            first = int(np.searchsorted(t, start, side="left"))
            end = int(np.searchsorted(t + session.bin_s, stop + 1e-9, side="right"))
            n_new = (end - first) // m
            if n_new < 1:
                continue
            lo = a + first
            block = session.counts[:, lo : lo + n_new * m].reshape(session.n_units, n_new, m).sum(axis=2)
            keep = slice(None, None, params.keep_every)
            seg_starts.append(sum(p.shape[1] for p in pieces))
            pieces.append(np.minimum(block[:, keep], 255).astype(np.uint8))
            times.append(session.frame_times[lo : lo + n_new * m : m][keep])
    if not pieces:
        return np.zeros((session.n_units, 0), np.uint8), np.zeros(0), np.zeros(1, np.int64)
    return np.concatenate(pieces, axis=1), np.concatenate(times), np.asarray(seg_starts, dtype=np.int64)


def bins_per_frame(bin_s: float, native_s: float) -> int | None:
    """How many native bins of ``native_s`` seconds make a bin of ``bin_s``; None if not a whole number."""
    factor = bin_s / native_s
    m = round(factor)
    return m if m >= 1 and abs(factor - m) <= 1e-6 else None


def _filter_units(
    session: Session, active: np.ndarray, rates: np.ndarray, params: BinningConfig
) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Indices of the units that pass every filter, and how many each filter dropped.

    ``active`` counts each unit's frames with a spike; ``rates`` are spikes in the kept frames per second of
    those frames.
    """
    keep = np.ones(session.n_units, dtype=bool)
    report: list[tuple[str, int]] = []

    def apply(name: str, passed: np.ndarray) -> None:
        report.append((name, int(np.count_nonzero(keep & ~passed))))
        keep[:] &= passed

    for rule in params.quality:
        if rule.op not in _OPS:
            raise NeuroRBMError(f"quality rule '{rule}': the comparison must be one of {', '.join(_OPS)}")
        if rule.metric not in session.metrics.columns:
            raise NeuroRBMError(
                f"the source has no quality metric '{rule.metric}' "
                f"(it has: {', '.join(map(str, session.metrics.columns)) or 'none'})"
            )
        values = session.metrics[rule.metric].to_numpy(dtype=float)
        apply(f"quality {rule}", _OPS[rule.op](values, rule.value))
    if params.areas:
        missing = sorted(set(params.areas) - set(session.areas))
        if missing:
            have = ", ".join(sorted(set(session.areas)))
            raise NeuroRBMError(f"no unit is in area {', '.join(missing)} (the session has: {have})")
        apply(f"areas in {','.join(params.areas)}", np.isin(session.areas, list(params.areas)))
    apply("no spike in window", active > 0)
    if params.min_rate_hz > 0:
        apply(f"rate < {params.min_rate_hz:g} Hz", rates >= params.min_rate_hz)
    if not keep.any():
        steps = "; ".join(f"{name}: -{n}" for name, n in report)
        raise NeuroRBMError(f"the filters leave no unit ({steps})")
    return np.flatnonzero(keep), report


def _unit_order(areas: np.ndarray, activity: np.ndarray) -> np.ndarray:
    """Order rows by area name (unassigned last), then by activity (active frames), most active first."""
    last = np.isin(np.char.lower(areas.astype(str)), LAST_AREAS)
    return np.lexsort((-activity, areas, last))
