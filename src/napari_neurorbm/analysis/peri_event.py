"""Population activity around events (peri-event): the number of active units per frame, K(t), aligned to
each event's frame, averaged over the events with its spread across them.

An event at time t is aligned to the raster frame that holds it (:func:`~napari_neurorbm.data.raster.
time_columns`); lag l is the frame l frame spacings later. A lag that leaves the event's segment (a gap of the
restricted window, the recording's ends) counts for that event as missing, so every value at a lag is over
the events that have it. Events in no kept frame are not used.

A model's generated frames are not aligned to anything (an RBM sees no stimulus): its counterpart is the
stationary mean and spread of K over its frames (:func:`stationary`), the activity the model gives at any
time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_neurorbm.data.raster import Raster, frame_spacing, time_columns

PRE_S, POST_S = 0.5, 1.0  # the window around each event, seconds before and after it


@dataclass
class PeriEvent:
    """K around the events of one kind: at each lag, its mean and standard deviation across the events."""

    kind: str
    lags_s: np.ndarray  # time of each lag from the event's frame (s)
    mean: np.ndarray  # mean active units at each lag (NaN where no event has that lag)
    sd: np.ndarray  # their standard deviation across events (population SD)
    n_events: int  # events in kept frames, the ones averaged


def population_activity(raster: Raster) -> np.ndarray:
    """K: the number of active units in each frame."""
    return np.count_nonzero(raster.counts, axis=0)


def peri_event(raster: Raster, times: np.ndarray, kind: str = "", pre_s: float = PRE_S,
               post_s: float = POST_S) -> PeriEvent:
    """K of ``raster`` around the events at ``times`` (s), from ``pre_s`` before to ``post_s`` after."""
    spacing = frame_spacing(raster)
    lags = np.arange(-round(pre_s / spacing), round(post_s / spacing) + 1)
    cols = time_columns(raster, np.asarray(times, dtype=np.float64))
    f0 = np.floor(cols[np.isfinite(cols)]).astype(np.int64)
    seg = np.searchsorted(raster.segment_starts, f0, side="right") - 1
    ends = np.r_[raster.segment_starts[1:], raster.n_frames]
    frames = f0[:, None] + lags[None, :]
    valid = (frames >= raster.segment_starts[seg][:, None]) & (frames < ends[seg][:, None])
    k = population_activity(raster).astype(np.float64)
    values = np.where(valid, k[np.clip(frames, 0, raster.n_frames - 1)], 0.0)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = values.sum(axis=0) / n
        sd = np.sqrt((np.where(valid, values - mean, 0.0) ** 2).sum(axis=0) / n)
    return PeriEvent(kind, lags * spacing, mean, sd, len(f0))


def stationary(raster: Raster) -> tuple[float, float]:
    """Mean and standard deviation of K over all the frames of ``raster`` (e.g. a model's generated run)."""
    k = population_activity(raster)
    return float(k.mean()), float(k.std())
