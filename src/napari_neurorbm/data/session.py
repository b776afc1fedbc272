"""A recorded session: units, their brain areas and metrics, and their spike times (or native bins)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from napari_neurorbm.data.celltypes import check_widths
from napari_neurorbm.data.epochs import Epochs
from napari_neurorbm.errors import NeuroRBMError

UNKNOWN_AREA = "unknown"


@dataclass
class Session:
    """Units of one recording.

    Spike times are stored flat and ragged, as in NWB: unit ``u`` owns
    ``spike_times[spike_index[u]:spike_index[u + 1]]`` (seconds, sorted).
    A pre-binned source (binned npz) has ``counts`` (units x frames) and ``bin_s`` instead.
    ``waveform_ms``: each unit's spike waveform width (trough to peak, ms; NaN where the source has none),
    which classes units as putative E or I (:mod:`.celltypes`); None when the source has no width at all.
    """

    name: str
    source: str
    unit_ids: np.ndarray
    areas: np.ndarray
    start_s: float
    stop_s: float
    spike_times: np.ndarray | None = None
    spike_index: np.ndarray | None = None
    counts: np.ndarray | None = None
    bin_s: float | None = None
    segment_starts: np.ndarray | None = None
    frame_times: np.ndarray | None = None
    epochs: Epochs | None = None  # intervals (trials, stimuli) and events (.epochs) where the source has them
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    waveform_ms: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.unit_ids = np.asarray(self.unit_ids)
        self.areas = np.asarray(self.areas, dtype=str)
        n = len(self.unit_ids)
        if n == 0:
            raise NeuroRBMError(f"{self.name}: the source has no units")
        if len(self.areas) != n:
            raise NeuroRBMError(f"{self.name}: {len(self.areas)} areas for {n} units")
        if (self.spike_times is None) == (self.counts is None):
            raise NeuroRBMError(f"{self.name}: a session needs spike times or binned counts (exactly one)")
        if self.spike_times is not None:
            self._check_spikes(n)
        else:
            self._check_counts(n)
        # events outside a recording of spikes are noted and left out; a binned file's frames may be a
        # window of a longer recording, whose epochs it keeps whole
        if self.epochs is not None and not self.is_binned:
            self.epochs = self.epochs.within(self.start_s, self.stop_s, self.name)
        if not len(self.metrics):
            self.metrics = pd.DataFrame(index=pd.RangeIndex(n))
        if len(self.metrics) != n:
            raise NeuroRBMError(f"{self.name}: quality metrics have {len(self.metrics)} rows for {n} units")
        self.metrics = self.metrics.reset_index(drop=True)
        try:
            self.waveform_ms = check_widths(self.waveform_ms, n)
        except ValueError as exc:
            raise NeuroRBMError(f"{self.name}: {exc}") from None

    def _check_spikes(self, n: int) -> None:
        self.spike_times = np.asarray(self.spike_times, dtype=np.float64)
        self.spike_index = np.asarray(self.spike_index, dtype=np.int64)
        if self.spike_index.shape != (n + 1,) or self.spike_index[0] != 0 or np.any(
            np.diff(self.spike_index) < 0
        ) or self.spike_index[-1] != len(self.spike_times):
            raise NeuroRBMError(f"{self.name}: the spike-time index does not match the spike times")
        if not np.all(np.isfinite(self.spike_times)):
            bad = int(np.count_nonzero(~np.isfinite(self.spike_times)))
            raise NeuroRBMError(f"{self.name}: {bad} spike times are NaN or infinite")
        if len(self.spike_times) and self.spike_times.min() < 0:
            raise NeuroRBMError(f"{self.name}: spike times must not be negative")
        if not self.stop_s > self.start_s:
            raise NeuroRBMError(f"{self.name}: the recording span [{self.start_s}, {self.stop_s}] s is empty")
        self._check_sorted()

    def _check_sorted(self) -> None:
        """Spike times must rise within each unit; a drop inside a unit means a corrupt source."""
        drops = np.flatnonzero(np.diff(self.spike_times) < 0) + 1
        inside = drops[~np.isin(drops, self.spike_index)]
        if inside.size:
            unit = int(np.searchsorted(self.spike_index, inside[0], side="right") - 1)
            raise NeuroRBMError(
                f"{self.name}: spike times of unit {self.unit_ids[unit]} are not sorted (corrupt source?)"
            )

    def _check_counts(self, n: int) -> None:
        counts = np.asarray(self.counts)
        if counts.ndim != 2 or counts.shape[0] != n:
            raise NeuroRBMError(f"{self.name}: counts must be units x frames, got shape {counts.shape}")
        if counts.shape[1] == 0:
            raise NeuroRBMError(f"{self.name}: the binned counts have no frames")
        if not np.issubdtype(counts.dtype, np.integer):
            if not np.all(np.isfinite(counts)) or np.any(counts < 0):
                raise NeuroRBMError(f"{self.name}: counts hold NaN or negative values")
            counts = counts.astype(np.uint16)
        elif counts.min() < 0:
            raise NeuroRBMError(f"{self.name}: counts hold negative values")
        self.counts = counts
        if self.bin_s is None or not np.isfinite(self.bin_s) or self.bin_s <= 0:
            raise NeuroRBMError(f"{self.name}: the binned source needs a positive bin width")
        self.bin_s = float(self.bin_s)
        seg = np.asarray([0] if self.segment_starts is None else self.segment_starts, dtype=np.int64)
        if len(seg) == 0 or seg[0] != 0 or np.any(np.diff(seg) <= 0) or seg[-1] >= counts.shape[1]:
            raise NeuroRBMError(f"{self.name}: segment_starts must rise from 0 within the frames")
        self.segment_starts = seg
        if self.frame_times is None:
            self.frame_times = self.start_s + np.arange(counts.shape[1]) * self.bin_s
        self.frame_times = times = np.asarray(self.frame_times, dtype=np.float64)
        if times.shape != (counts.shape[1],):
            raise NeuroRBMError(f"{self.name}: {times.size} frame times for {counts.shape[1]} frames")

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def is_binned(self) -> bool:
        return self.counts is not None

    def spikes_of(self, unit: int) -> np.ndarray:
        """Spike times (s) of the unit at row ``unit``."""
        return self.spike_times[self.spike_index[unit] : self.spike_index[unit + 1]]

    def spike_counts(self) -> np.ndarray:
        """Total number of spikes of each unit."""
        if self.is_binned:
            return self.counts.sum(axis=1, dtype=np.int64)
        return np.diff(self.spike_index)

    def area_table(self) -> pd.DataFrame:
        """Units per area, largest first."""
        s = pd.Series(self.areas).value_counts()
        return s.rename_axis("area").reset_index(name="units")
