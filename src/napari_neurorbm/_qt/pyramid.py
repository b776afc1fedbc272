"""Multiscale levels of a raster in which no spike is ever lost on screen (numpy only, no Qt).

napari draws a multiscale image from the coarsest level that still has more texels in view than the
canvas has pixels along every axis it needs to reduce, and samples that texture nearest-neighbour, up
to two texels per screen pixel along an axis: a lone spike could fall between samples. So every level
but the first is pooled so that a block holding any spike is nonzero (for counts, the block's maximum;
for the binary raster, a grey level that is at least ``FLOOR`` and brightens with the fraction of
active bins, reaching white at the fraction of the raster's busiest unit, so that dense and sparse stretches
differ even in a dense recording zoomed far out) and is widened by one texel along each axis that can be
sampled that sparsely. Level 1 is level 0 widened, at full resolution, so that level 0 is
only drawn when every texel has its own pixel.

The finer axis (more texels per world unit) is halved at every level and the other follows at the rate
that keeps the two steps alike. When the ratio of texel sizes is not a power of two the steps can differ
by up to two, and the other axis is widened by three texels instead. Levels are lazy views that compute
only the part napari asks for; a pooled copy is kept every ``2**BASE_EVERY`` levels, so no view reads
more than that many source texels per texel.
"""

from __future__ import annotations

import math

import numpy as np

COARSEST = 128  # the coarsest level has at most this many texels along each axis
BASE_EVERY = 3  # keep a pooled copy every 2**3 = 8x along the finer axis
FLOOR = 0.35  # binary levels: a block with any spike shows brighter than this (of 1)
FULL = 255  # density copies store ceil(255 * fraction of active bins) as uint8
_SAMPLE = 4_000_000  # cells of the raster read to find the busiest unit's share of active bins
_CHUNK = 1 << 24  # cells pooled at once from the raw raster (bounds temporary memory)


class PooledLevel:
    """A pooled, widened view of a 2D base array, computed only for the slice napari asks for.

    ``mode`` "max": uint8 maxima of counts. "binary": float32 display values of the binary raster, from
    a base that is either the raw counts (``raw``) or a density copy (see :func:`density_pool`), white from
    the active fraction ``busy`` up (see :func:`display_values`).
    """

    def __init__(self, base, pool, widen, full_shape, factors, mode: str, raw: bool,
                 busy: float = 1.0) -> None:
        self._base, self._pool, self._widen = base, pool, widen
        self._mode, self._raw, self._busy = mode, raw, busy
        self.shape = tuple(-(-n // f) for n, f in zip(full_shape, factors, strict=True))
        self.dtype = np.dtype(np.uint8 if mode == "max" else np.float32)
        self.ndim = 2
        self.size = int(np.prod(self.shape))

    def __getitem__(self, key):
        spans, picks = _normalize(key, self.shape)
        return self._compute(spans)[picks]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:, :]
        return out if dtype is None else out.astype(dtype)

    def _compute(self, spans: list[tuple[int, int]]) -> np.ndarray:
        """Rows [a0, a1) x columns [b0, b1) of this level."""
        lo = [(w - 1) // 2 for w in self._widen]
        want = [(a - low, b + w - 1 - low) for (a, b), low, w in zip(spans, lo, self._widen, strict=True)]
        got = [(max(p0, 0), min(p1, n)) for (p0, p1), n in zip(want, self.shape, strict=True)]
        src = tuple(
            slice(g0 * f, min(g1 * f, n))
            for (g0, g1), f, n in zip(got, self._pool, self._base.shape, strict=True)
        )
        block = self._base[src]
        if self._mode == "max":
            pooled = max_pool(block, *self._pool)
        else:
            pooled = density_pool(block, *self._pool, raw=self._raw)
        pad = [(g0 - p0, p1 - g1) for (p0, p1), (g0, g1) in zip(want, got, strict=True)]
        if any(any(p) for p in pad):
            pooled = np.pad(pooled, pad)
        for axis, w in enumerate(self._widen):
            pooled = _sliding_max(pooled, w, axis)
        return pooled if self._mode == "max" else display_values(pooled, self._busy)


def raster_levels(counts: np.ndarray, aspect: float) -> tuple[list, list]:
    """Count levels (uint8 maxima) and binary levels (float32 display values) of a units x frames raster.

    ``aspect`` is the world height of a row over the world width of a frame. A raster small enough to
    show whole gets one level of each (the counts themselves and their 0/1 binarization).
    """
    plan = level_factors(counts.shape, aspect)
    if not plan:
        return [counts], [np.minimum(counts, 1).astype(np.float32)]
    shape = counts.shape
    base_at = list(range(BASE_EVERY - 1, len(plan) - 1, BASE_EVERY))
    max_bases, density_bases = [((1, 1), counts)], [((1, 1), counts)]
    for i in base_at:
        (pr, pt), prev_max = max_bases[-1]
        prev_density = density_bases[-1][1]
        fr, ft = plan[i][0] // pr, plan[i][1] // pt
        max_bases.append((plan[i], max_pool(prev_max, fr, ft)))
        density_bases.append((plan[i], density_pool(prev_density, fr, ft, raw=prev_density is counts)))
    out = []
    busy = busy_fraction(counts)
    for mode, bases in (("max", max_bases), ("binary", density_bases)):
        first = counts if mode == "max" else PooledLevel(counts, (1, 1), (1, 1), shape, (1, 1), mode, True)
        levels = [first, PooledLevel(counts, (1, 1), widening(aspect, (1, 1)), shape, (1, 1), mode, True)]
        for f in plan:
            (br, bt), base = next(b for b in reversed(bases) if f[0] % b[0][0] == 0 and f[1] % b[0][1] == 0)
            pool = (f[0] // br, f[1] // bt)
            levels.append(PooledLevel(base, pool, widening(aspect, f), shape, f, mode, base is counts, busy))
        out.append(levels)
    return out[0], out[1]


def level_factors(shape: tuple[int, int], aspect: float) -> list[tuple[int, int]]:
    """(row, frame) pooling factors of levels 2, 3, ... (levels 0 and 1 are full resolution)."""
    if all(n <= COARSEST for n in shape):
        return []
    fine_rows = aspect < 1.0  # rows have more texels per world unit than frames
    ratio = 1.0 / aspect if fine_rows else aspect
    out = []
    for e in range(1, 64):
        fine = 2**e
        coarse = max(1, 2 ** math.floor(math.log2(fine / ratio) + 1e-9)) if fine >= ratio else 1
        f = (fine, coarse) if fine_rows else (coarse, fine)
        out.append(f)
        if all(-(-n // k) <= COARSEST for n, k in zip(shape, f, strict=True)):
            break
    return out


def widening(aspect: float, factors: tuple[int, int]) -> tuple[int, int]:
    """Texels each spike spans at a level, per axis, so that a sparse nearest-neighbour sampling hits it."""
    fine_rows = aspect < 1.0
    ratio = 1.0 / aspect if fine_rows else aspect
    fine = factors[0] if fine_rows else factors[1]
    exact = abs(2 ** round(math.log2(ratio)) - ratio) < 1e-6 * ratio
    if 2 * fine <= ratio:  # the coarse axis still has at most one texel per pixel
        coarse_w = 1
    else:
        coarse_w = 2 if exact else 4
    return (2, coarse_w) if fine_rows else (coarse_w, 2)


def max_pool(a: np.ndarray, fr: int, ft: int) -> np.ndarray:
    """Max over fr x ft blocks (the last block along an axis may be short); strided passes, no reshape."""
    return _reduce_axis(_reduce_axis(a, ft, 1, np.maximum), fr, 0, np.maximum)


def density_pool(a: np.ndarray, fr: int, ft: int, raw: bool = False) -> np.ndarray:
    """ceil(255 x mean) over fr x ft blocks of a density copy, or of the counts' 0/1 binarization (raw)."""
    if raw and a.size > _CHUNK and a.shape[1] > ft:
        step = max(ft, _CHUNK // max(a.shape[0], 1) // ft * ft)
        parts = [density_pool(a[:, j : j + step], fr, ft, raw) for j in range(0, a.shape[1], step)]
        return np.concatenate(parts, axis=1)
    top = fr * ft * (1 if raw else FULL)
    acc = np.uint8 if top <= 255 else np.uint16 if top <= 65535 else np.uint32
    x = (a != 0).view(np.uint8).astype(acc, copy=False) if raw else a.astype(acc)
    total = _reduce_axis(_reduce_axis(x, ft, 1, np.add), fr, 0, np.add).astype(np.uint32)
    scale = FULL if raw else 1
    n = fr * ft
    return ((total * scale + (n - 1)) // n).astype(np.uint8)


def busy_fraction(counts: np.ndarray) -> float:
    """The share of active bins of the raster's busiest unit (from evenly spaced frames), at least one density
    code step: pooled blocks this active show white."""
    step = max(1, counts.size // _SAMPLE)
    active = (counts[:, ::step] != 0).mean(axis=1).max() if counts.size else 0.0
    return float(np.clip(active, 1 / FULL, 1.0))


def display_values(q: np.ndarray, busy: float = 1.0) -> np.ndarray:
    """Density code -> brightness in [0, 1]: 0 stays 0, anything else is above FLOOR and grows as the square
    root of the active fraction, white from ``busy`` up (a fixed scale would paint a dense recording zoomed
    far out in one grey: the retina's cells, active in 1-7 % of their bins, all came out 0.54-0.63)."""
    fraction = np.minimum(q.astype(np.float32) / (FULL * busy), 1)
    return np.where(q > 0, FLOOR + (1 - FLOOR) * np.sqrt(fraction), 0).astype(np.float32)


def _reduce_axis(a: np.ndarray, f: int, axis: int, op) -> np.ndarray:
    """op-reduce consecutive groups of f entries along ``axis`` (the last group may be short)."""
    if f == 1:
        return np.array(a)
    take = [slice(None)] * 2
    take[axis] = slice(0, None, f)
    out = np.array(a[tuple(take)])
    for k in range(1, f):
        take[axis] = slice(k, None, f)
        part = a[tuple(take)]
        head = [slice(None)] * 2
        head[axis] = slice(0, part.shape[axis])
        op(out[tuple(head)], part, out=out[tuple(head)])
    return out


def _sliding_max(a: np.ndarray, w: int, axis: int) -> np.ndarray:
    """out[j] = max(a[j : j + w]) along ``axis`` (a has w - 1 extra entries there)."""
    if w == 1:
        return a
    n = a.shape[axis] - (w - 1)
    take = [slice(None)] * 2
    take[axis] = slice(0, n)
    out = np.array(a[tuple(take)])
    for k in range(1, w):
        take[axis] = slice(k, k + n)
        np.maximum(out, a[tuple(take)], out=out)
    return out


def _normalize(key, shape: tuple[int, int]) -> tuple[list[tuple[int, int]], tuple]:
    """A napari index (ints, slices, Ellipsis) -> contiguous spans per axis and the picks within them."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (2 - len(key) + 1) + key[i + 1 :]
    key = key + (slice(None),) * (2 - len(key))
    spans, picks = [], []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step < 0:
                raise IndexError("negative steps are not supported")
            stop = max(start, stop)
            spans.append((start, stop))
            picks.append(slice(0, stop - start, step))
        else:
            i = int(k) + n if int(k) < 0 else int(k)
            if not 0 <= i < n:
                raise IndexError(f"index {k} is out of bounds for size {n}")
            spans.append((i, i + 1))
            picks.append(0)
    return spans, tuple(picks)
