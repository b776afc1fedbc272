"""The "binned npz" layout: already-binned counts (units x frames) with areas, bin width and segments.

The counts come as ``counts`` (any non-negative numbers: files from elsewhere, and rasters written before the
packed layout) or, in the files that NeuroRBM writes, as ``counts_bits``: the 0/1 raster bit-packed along
frames (``np.packbits(axis=1)``) with ``n_frames``, in a zip at zlib level 1, which is as small as
``np.savez_compressed`` of the bytes but many times faster to write; numpy alone reads it back with
``np.unpackbits(z["counts_bits"], axis=1, count=int(z["n_frames"]))``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from napari_neurorbm.atomic import write_atomically
from napari_neurorbm.data.epochs import epochs_from_arrays
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError

COUNT_KEYS = frozenset({"counts", "counts_bits"})  # a binned npz holds one of these
ZLIB_LEVEL = 1  # of the files written here: higher levels shrink a bit-packed raster little, at 5x the time


def write_binned_npz(path: Path, binary: np.ndarray, **arrays: np.ndarray) -> None:
    """Write a binned npz whose counts are the 0/1 raster ``binary`` (units x frames; any non-zero is 1),
    bit-packed along frames, beside the other ``arrays``; np.load opens it like any npz. Atomic: a stopped
    write leaves the previous file whole."""
    packed = {"counts_bits": np.packbits(binary, axis=1), "n_frames": np.int64(binary.shape[1])}

    def write(fh: BinaryIO) -> None:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=ZLIB_LEVEL) as z:
            for name, value in {**packed, **arrays}.items():
                with z.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value))

    write_atomically(path, write, "raster file")


def read_binned_npz(path: str | Path) -> dict[str, Any]:
    """Read and check a binned npz; optional keys get their defaults (unit_ids = row index); the per-unit
    ``waveform_ms`` and ``classes`` (E/I) are returned only when the file has them."""
    path = Path(path)
    if not path.is_file():
        raise NeuroRBMError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            f = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise NeuroRBMError(f"{path.name}: not a readable npz file ({exc.__class__.__name__})") from None
    if "counts" not in f and "counts_bits" in f:
        f["counts"] = _unpack_counts(f, path.name)
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
    if "waveform_ms" in f:  # optional, per unit: spike widths (ms) and E/I classes
        if f["waveform_ms"].dtype.kind not in "iuf":
            raise NeuroRBMError(f"{path.name}: 'waveform_ms' must hold numbers (ms)")
        out["waveform_ms"] = f["waveform_ms"].astype(np.float64).reshape(-1)
    if "classes" in f:
        out["classes"] = np.asarray(f["classes"], dtype=str).reshape(-1)
    for key, want in (("areas", n_units), ("unit_ids", n_units), ("frame_times", n_frames),
                      ("waveform_ms", n_units), ("classes", n_units)):
        if key in out and len(out[key]) != want:
            raise NeuroRBMError(f"{path.name}: '{key}' has {len(out[key])} entries, expected {want}")
    for key in ("train_frames", "test_frames"):
        if key in f:
            idx = np.asarray(f[key], dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n_frames):
                raise NeuroRBMError(f"{path.name}: '{key}' points outside the frames")
            out[key] = idx
    out["epochs"] = epochs_from_arrays(f, path.name)  # the optional epoch_* arrays (docs/data.md), or None
    return out


def _unpack_counts(f: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The 0/1 counts (uint8) of a file in the packed layout, after checking that its two arrays agree."""
    bits, n_frames = f["counts_bits"], f.get("n_frames")
    if bits.ndim != 2 or bits.dtype != np.uint8 or n_frames is None or n_frames.ndim != 0:
        raise NeuroRBMError(f"{name}: 'counts_bits' must be a 2-D uint8 array beside a scalar 'n_frames'")
    n, row_bytes = int(n_frames), bits.shape[1]
    if not 8 * row_bytes - 8 < n <= 8 * row_bytes:
        raise NeuroRBMError(f"{name}: n_frames = {n} does not fit 'counts_bits' rows of {row_bytes} bytes")
    return np.unpackbits(bits, axis=1, count=n)


def load_binned_session(path: str | Path) -> Session:
    """A binned npz as a pre-binned Session, to be re-binned and filtered like any other source."""
    f = read_binned_npz(path)
    return Session(
        name=Path(path).stem,
        source=f["source"],
        epochs=f["epochs"],
        unit_ids=f["unit_ids"],
        areas=f["areas"],
        start_s=float(f["frame_times"][0]),
        stop_s=float(f["frame_times"][-1] + f["bin_s"]),
        counts=f["counts"],
        bin_s=f["bin_s"],
        segment_starts=f["segment_starts"],
        frame_times=f["frame_times"],
        waveform_ms=f.get("waveform_ms"),
    )
