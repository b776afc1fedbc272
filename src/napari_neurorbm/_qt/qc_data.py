"""The numbers behind the QC panel, computed from a raster and its session (numpy only, no Qt)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.peri_event import PeriEvent, peri_event
from napari_neurorbm.configs import BinningConfig
from napari_neurorbm.data.binning import binarize
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

QC_WIDTHS_MS = (5.0, 10.0, 20.0, 50.0, 100.0)


@dataclass
class QCData:
    """Firing rates per area, active units per frame, mean activity per bin width, filter removals, activity
    around events."""

    rates_hz: dict[str, np.ndarray]
    active_per_frame: np.ndarray
    widths_ms: np.ndarray
    mean_activity: np.ndarray  # P(unit active in a bin) at each width (NaN where it cannot be computed)
    bin_ms: float
    filter_report: list[tuple[str, int]]
    n_units: int
    n_source_units: int
    merged_fraction: float  # spikes that shared a bin with another spike of their unit
    peri_events: dict[str, PeriEvent] = field(default_factory=dict)  # K around each kind of event


def qc_summary(raster: Raster, session: Session | None = None, widths_ms=QC_WIDTHS_MS) -> QCData:
    """QC numbers for ``raster``; the bin-width curve needs the session it came from."""
    counts = raster.counts
    spikes = counts.sum(axis=1, dtype=np.int64)
    duration = raster.n_frames * raster.bin_s
    rates = spikes / duration
    by_area = {str(a): rates[raster.areas == a] for a in pd.unique(raster.areas)}
    active = np.count_nonzero(counts, axis=0)
    total = int(spikes.sum())
    merged = 1.0 - np.count_nonzero(counts) / total if total else 0.0
    widths = np.asarray(widths_ms, dtype=float)
    curve = np.full(len(widths), np.nan) if session is None else activity_by_width(raster, session, widths)
    return QCData(
        rates_hz=by_area,
        active_per_frame=active,
        widths_ms=widths,
        mean_activity=curve,
        bin_ms=raster.bin_s * 1e3,
        filter_report=list(raster.filter_report),
        n_units=raster.n_units,
        n_source_units=session.n_units if session is not None else raster.n_units,
        merged_fraction=float(merged),
        peri_events=peri_events(raster),
    )


def peri_events(raster: Raster) -> dict[str, PeriEvent]:
    """Population activity around each kind of event of the raster's epochs (none without epochs)."""
    epochs = raster.epochs
    if epochs is None:
        return {}
    return {kind: peri_event(raster, epochs.event_times(kind), kind) for kind in epochs.kinds()}


def qc_job(raster: Raster, session: Session | None = None) -> Generator[Progress, None, QCData]:
    """:func:`qc_summary` as a job for the QC dock's runner (one busy stage)."""
    yield Progress("quality control", 0, 0, "firing rates, active units and bin widths")
    return qc_summary(raster, session)


def activity_by_width(raster: Raster, session: Session, widths_ms: np.ndarray) -> np.ndarray:
    """Mean P(active) of the raster's units over its time window, re-binned at each width."""
    rows = pd.Index(session.unit_ids).get_indexer(raster.unit_ids)
    if np.any(rows < 0):
        return np.full(len(widths_ms), np.nan)
    start = float(raster.frame_times[0])
    stop = float(raster.frame_times[-1] + raster.bin_s)
    if session.is_binned:
        own = np.count_nonzero(raster.counts) / raster.counts.size  # its own width needs no re-binning
        same = np.isclose(widths_ms, raster.bin_s * 1e3)
        return np.array(
            [
                own if s else _binned_activity(session, raster, w, start, stop)
                for w, s in zip(widths_ms, same, strict=True)
            ]
        )
    return _spike_activity(session, rows, np.asarray(widths_ms) / 1e3, start, stop)


def _spike_activity(session: Session, rows: np.ndarray, widths_s: np.ndarray, start: float, stop: float):
    """Distinct bins with a spike, per width, counted from the sorted spike times of each unit."""
    n_bins = np.floor((stop - start) / widths_s + 1e-9)
    active = np.zeros(len(widths_s))
    for r in rows:
        t = session.spikes_of(int(r))
        t = t[np.searchsorted(t, start) : np.searchsorted(t, stop)]
        if t.size == 0:
            continue
        for k, w in enumerate(widths_s):
            f = np.minimum(((t - start) / w).astype(np.int64), int(n_bins[k]) - 1)
            f = f[f >= 0]
            active[k] += np.count_nonzero(np.diff(f)) + (f.size > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = active / (len(rows) * n_bins)
    out[n_bins < 1] = np.nan
    return out


def _binned_activity(session: Session, raster: Raster, width_ms: float, start: float, stop: float) -> float:
    """Re-bin a binned session (whole multiples of its bins only) and average the raster's units."""
    params = BinningConfig(bin_ms=width_ms, start_s=start, stop_s=stop, test_fraction=0.0)
    try:
        other = binarize(session, params)
    except NeuroRBMError:
        return float("nan")
    keep = np.isin(other.unit_ids, raster.unit_ids)
    if not keep.any():
        return float("nan")
    return float(np.count_nonzero(other.counts[keep]) / (keep.sum() * other.n_frames))
