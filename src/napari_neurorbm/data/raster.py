"""A binned raster (units x frames) with its unit order, areas, E/I classes, segments and train/test split."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_neurorbm.data.celltypes import CLASS_DTYPE, CLASSES, UNCLASSIFIED
from napari_neurorbm.data.epochs import Epochs
from napari_neurorbm.errors import NeuroRBMError


@dataclass
class Raster:
    """Spike counts per bin (uint8, units x frames); rows are in the one neuron order used everywhere.

    ``classes``: each unit's putative class, "E", "I" or "unknown" (:mod:`.celltypes`; all unknown when not
    given), and ``waveform_ms`` the spike width it came from (NaN where unknown).
    """

    counts: np.ndarray
    bin_s: float
    areas: np.ndarray
    unit_ids: np.ndarray
    segment_starts: np.ndarray
    frame_times: np.ndarray
    train_frames: np.ndarray
    test_frames: np.ndarray
    epochs: Epochs | None = None  # the session's intervals and events (s on its clock), where it has them
    name: str = "raster"
    filter_report: list[tuple[str, int]] = field(default_factory=list)
    classes: np.ndarray | None = None
    waveform_ms: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.counts.shape[0]
        classes = np.asarray(np.full(n, UNCLASSIFIED) if self.classes is None else self.classes, dtype=str)
        if not np.isin(classes, CLASSES).all():
            raise NeuroRBMError(f"{self.name}: unit classes must be {', '.join(CLASSES)}")
        self.classes = classes.astype(CLASS_DTYPE)
        self.waveform_ms = (np.full(n, np.nan) if self.waveform_ms is None
                            else np.asarray(self.waveform_ms, dtype=np.float64))
        if self.classes.shape != (n,) or self.waveform_ms.shape != (n,):
            raise NeuroRBMError(f"{self.name}: {len(self.classes)} classes and {len(self.waveform_ms)} "
                                f"waveform widths for {n} units")

    @property
    def n_units(self) -> int:
        return self.counts.shape[0]

    @property
    def n_frames(self) -> int:
        return self.counts.shape[1]

    @property
    def binary(self) -> np.ndarray:
        """0/1 uint8 raster: a frame is 1 where the unit spiked at least once."""
        return np.minimum(self.counts, 1).astype(np.uint8, copy=False)

    def frames(self, which: str = "all") -> np.ndarray:
        """Binary frames (frames x units, float32) of the 'train', 'test' or 'all' split."""
        cols = {"train": self.train_frames, "test": self.test_frames}.get(which)
        b = self.binary if cols is None else self.binary[:, cols]
        return np.ascontiguousarray(b.T, dtype=np.float32)

    def area_blocks(self) -> list[tuple[str, int, int]]:
        """Contiguous runs of one area along the rows: (area, first row, end row)."""
        a = self.areas
        cuts = np.flatnonzero(a[1:] != a[:-1]) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, len(a)]
        return [(str(a[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]

    def take(self, rows: np.ndarray, name: str | None = None) -> Raster:
        """The raster of the units at ``rows`` (in that order): same frames, segments, epochs and split."""
        rows = np.asarray(rows, dtype=np.int64)
        return Raster(
            counts=self.counts[rows], bin_s=self.bin_s, areas=self.areas[rows], unit_ids=self.unit_ids[rows],
            segment_starts=self.segment_starts, frame_times=self.frame_times, train_frames=self.train_frames,
            test_frames=self.test_frames, epochs=self.epochs, name=name or self.name,
            classes=self.classes[rows], waveform_ms=self.waveform_ms[rows],
        )

    def rates_hz(self) -> np.ndarray:
        """Probability of a spike per bin divided by the bin width, per unit."""
        return self.binary.mean(axis=1) / self.bin_s

    def save(self, path: str | Path) -> Path:
        """Write the raster as a binned npz (the 0/1 raster bit-packed, see data/binned.py), with unit ids,
        E/I classes, waveform widths and the split so that a reload is exact; ".npz" is added to a name
        without it. Returns the file's path."""
        from napari_neurorbm.data.binned import write_binned_npz

        path = Path(path)
        path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
        write_binned_npz(
            path,
            self.counts,
            bin_s=np.float64(self.bin_s),
            areas=self.areas.astype(str),
            segment_starts=self.segment_starts.astype(np.int64),
            frame_times=self.frame_times.astype(np.float64),
            unit_ids=np.asarray(self.unit_ids),
            **({} if self.epochs is None else self.epochs.to_arrays()),
            train_frames=self.train_frames.astype(np.int64),
            test_frames=self.test_frames.astype(np.int64),
            source=np.str_(self.name),
            classes=self.classes.astype(str),
            waveform_ms=self.waveform_ms.astype(np.float64),
        )
        return path


def frame_spacing(raster: Raster) -> float:
    """Seconds between consecutive kept frames (bin width times keep-every), from the frame times."""
    steps = np.delete(np.diff(raster.frame_times), raster.segment_starts[1:] - 1)
    steps = steps[steps > 0]
    if not steps.size:
        return float(raster.bin_s)
    spacing = float(np.median(steps))
    k = round(spacing / raster.bin_s)  # a whole number of bins, up to the clock's rounding
    return k * float(raster.bin_s) if k >= 1 and abs(spacing - k * raster.bin_s) < 1e-6 * spacing else spacing


def time_columns(raster: Raster, times: np.ndarray, *, edge: str | None = None) -> np.ndarray:
    """Where each time (s) falls along the raster's frames: frame f spans [f, f + 1) from its time to one
    frame spacing later, so that frame_times[f] is at f. A time in no kept frame (before the first, after the
    last, between segments) is NaN, or with ``edge`` the nearest frame edge after it ("next": where a stretch
    that starts there begins) or before it ("previous": where one that stops there ends). Frame times must
    rise."""
    ft = raster.frame_times
    t = np.asarray(times, dtype=np.float64)
    if not len(ft) or np.any(np.diff(ft) <= 0):
        return np.full(t.shape, np.nan)
    f = np.searchsorted(ft, t, side="right") - 1
    at = np.clip(f, 0, len(ft) - 1)
    u = (t - ft[at]) / frame_spacing(raster)
    out = np.where((f >= 0) & (u < 1), at + u, np.nan)
    if edge is not None:
        side = {"next": "left", "previous": "right"}[edge]
        out = np.where(np.isnan(out), np.searchsorted(ft, t, side=side).astype(np.float64), out)
    return out


def split_frames(n_frames: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded shuffle of frame indices into sorted (train, test) index arrays."""
    if not 0.0 <= test_fraction < 1.0:
        raise NeuroRBMError(f"test fraction must be in [0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(n_frames)
    n_test = round(test_fraction * n_frames)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def read_raster(path: str | Path, test_fraction: float = 0.3, seed: int = 0) -> Raster:
    """Load a binned npz as it is (rows and frames untouched); the split comes from the file if it has one."""
    from napari_neurorbm.data.binned import read_binned_npz

    f = read_binned_npz(path)
    counts = f["counts"]  # uint8 as written by Raster.save: no copy
    n = counts.shape[1]
    if "train_frames" in f and "test_frames" in f:
        train, test = f["train_frames"], f["test_frames"]
    else:
        train, test = split_frames(n, test_fraction, seed)
    return Raster(
        counts=counts if counts.dtype == np.uint8 else np.minimum(counts, 255).astype(np.uint8),
        bin_s=f["bin_s"],
        areas=f["areas"],
        unit_ids=f["unit_ids"],
        segment_starts=f["segment_starts"],
        frame_times=f["frame_times"],
        epochs=f["epochs"],
        train_frames=train,
        test_frames=test,
        name=Path(path).stem,
        classes=f.get("classes"),
        waveform_ms=f.get("waveform_ms"),
    )
