"""The "binned npz" layout: already-binned counts (units x frames) with areas, bin width and segments."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError


def read_binned_npz(path: str | Path) -> dict[str, Any]:
    """Read and check a binned npz; optional keys get their defaults (unit_ids = row index)."""
    path = Path(path)
    if not path.is_file():
        raise NeuroRBMError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            f = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise NeuroRBMError(f"{path.name}: not a readable npz file ({exc.__class__.__name__})") from None
    if "counts" not in f:
        raise NeuroRBMError(f"{path.name}: no 'counts' array (is this a binned npz?)")
    counts = f["counts"]
    if counts.ndim != 2 or counts.size == 0:
        raise NeuroRBMError(f"{path.name}: 'counts' must be a non-empty units x frames array")
    if not np.issubdtype(counts.dtype, np.integer) and not np.issubdtype(counts.dtype, np.bool_):
        if not np.all(np.isfinite(counts)) or counts.min() < 0:
            raise NeuroRBMError(f"{path.name}: 'counts' holds NaN or negative values")
    elif counts.min() < 0:
        raise NeuroRBMError(f"{path.name}: 'counts' holds negative values")
    n_units, n_frames = counts.shape
    if "bin_s" not in f:
        raise NeuroRBMError(f"{path.name}: no 'bin_s' (bin width in seconds)")
    bin_s = float(f["bin_s"])
    if not np.isfinite(bin_s) or bin_s <= 0:
        raise NeuroRBMError(f"{path.name}: bin width must be positive, got {bin_s}")
    out = {
        "counts": counts.astype(np.uint16) if counts.dtype.kind in "fb" else counts,
        "bin_s": bin_s,
        "areas": np.asarray(f.get("areas", np.full(n_units, "unknown")), dtype=str),
        "unit_ids": np.asarray(f.get("unit_ids", np.arange(n_units))),
        "segment_starts": np.asarray(f.get("segment_starts", [0]), dtype=np.int64),
        "frame_times": np.asarray(f.get("frame_times", np.arange(n_frames) * bin_s), dtype=np.float64),
        "source": str(f.get("source", path.stem)),
    }
    for key, want in (("areas", n_units), ("unit_ids", n_units), ("frame_times", n_frames)):
        if len(out[key]) != want:
            raise NeuroRBMError(f"{path.name}: '{key}' has {len(out[key])} entries, expected {want}")
    for key in ("train_frames", "test_frames"):
        if key in f:
            idx = np.asarray(f[key], dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n_frames):
                raise NeuroRBMError(f"{path.name}: '{key}' points outside the frames")
            out[key] = idx
    return out


def load_binned_session(path: str | Path) -> Session:
    """A binned npz as a pre-binned Session, to be re-binned and filtered like any other source."""
    f = read_binned_npz(path)
    return Session(
        name=Path(path).stem,
        source=f["source"],
        unit_ids=f["unit_ids"],
        areas=f["areas"],
        start_s=float(f["frame_times"][0]),
        stop_s=float(f["frame_times"][-1] + f["bin_s"]),
        counts=f["counts"],
        bin_s=f["bin_s"],
        segment_starts=f["segment_starts"],
        frame_times=f["frame_times"],
    )
