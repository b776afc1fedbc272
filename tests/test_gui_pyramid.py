"""Multiscale raster levels: exact pooled values, and no spike lost by napari's level choice and sampling.

The sampling check replays what napari does when it draws a multiscale image in 2D (level choice by
``compute_multiscale_level_and_corners``, the same as the viewer calls, then one nearest-texel lookup per
screen pixel) over many zooms and pans, without a screen.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from napari.layers.utils.layer_utils import compute_multiscale_level_and_corners

from napari_neurorbm._qt.pyramid import (
    COARSEST,
    FLOOR,
    busy_fraction,
    density_pool,
    display_values,
    level_factors,
    max_pool,
    raster_levels,
)


def brute_max(a: np.ndarray, fr: int, ft: int) -> np.ndarray:
    """Block maxima by a plain double loop (the oracle)."""
    n, m = -(-a.shape[0] // fr), -(-a.shape[1] // ft)
    blocks = [[a[i * fr : (i + 1) * fr, j * ft : (j + 1) * ft].max() for j in range(m)] for i in range(n)]
    return np.array(blocks)


def grow(a: np.ndarray, k: int) -> np.ndarray:
    """Max over a (2k+1) x (2k+1) neighbourhood: an upper bound for any widening by k texels."""
    p = np.pad(a, k)
    shifts = range(2 * k + 1)
    return np.max([p[i : i + a.shape[0], j : j + a.shape[1]] for i in shifts for j in shifts], axis=0)


@pytest.mark.parametrize(
    ("shape", "fr", "ft"), [((7, 13), 2, 4), ((8, 16), 1, 8), ((5, 3), 4, 4), ((1, 9), 8, 1)]
)
def test_max_pool_matches_blockwise_max_including_short_blocks(shape, fr, ft) -> None:
    a = np.random.default_rng(1).integers(0, 6, shape).astype(np.uint8)
    np.testing.assert_array_equal(max_pool(a, fr, ft), brute_max(a, fr, ft))


def test_density_codes_are_ceil_of_the_active_fraction_and_never_zero_for_a_spike() -> None:
    a = np.zeros((6, 40), np.uint8)
    a[0, 3] = 4  # one active cell in a block of 2 x 8
    a[2:4, 8:16] = 1  # a full block
    q = density_pool(a, 2, 8, raw=True)
    assert q[0, 0] == int(np.ceil(255 / 16)) and q[1, 1] == 255 and q[2].sum() == 0
    again = density_pool(q, 3, 5)  # pooling codes again keeps "any spike" > 0
    assert again[0, 0] > 0


def test_levels_pool_the_finer_axis_first_and_end_small() -> None:
    plan = level_factors((2000, 180_000), aspect=32.0)
    assert plan[0] == (1, 2) and all(b[1] == 2 * a[1] for a, b in itertools.pairwise(plan))
    assert max(-(-2000 // plan[-1][0]), -(-180_000 // plan[-1][1])) <= COARSEST
    assert level_factors((50, 100), aspect=1.0) == []


def test_level_values_are_the_pooled_raster_widened_by_a_texel_or_two() -> None:
    rng = np.random.default_rng(2)
    counts = ((rng.random((256, 4096)) < 0.002) * rng.integers(1, 4, (256, 4096))).astype(np.uint8)
    c_levels, b_levels = raster_levels(counts, aspect=4.0)
    assert c_levels[0] is counts
    np.testing.assert_array_equal(b_levels[0][:, :], np.minimum(counts, 1))
    for level in range(2, len(c_levels), 2):
        f = (256 // c_levels[level].shape[0], 4096 // c_levels[level].shape[1])
        pooled = counts.reshape(256 // f[0], f[0], 4096 // f[1], f[1]).max(axis=(1, 3))
        got = np.asarray(c_levels[level])
        assert np.all(got >= pooled) and np.all(got <= grow(pooled, 2))  # widening only adds, and little
        np.testing.assert_array_equal(c_levels[level][3:9, 5:40], got[3:9, 5:40])  # on-demand slices agree
        shown = np.asarray(b_levels[level])
        assert shown.dtype == np.float32 and np.all((shown == 0) | (shown >= FLOOR - 1e-6))
        np.testing.assert_array_equal(shown > 0, got > 0)
    tiny = counts[:5, :7]
    np.testing.assert_array_equal(brute_max(tiny, 2, 3), max_pool(tiny, 2, 3))


def test_a_dense_recording_zoomed_out_keeps_its_units_apart() -> None:
    """Units active in 0.5-7 % of 20 ms bins (the retina's spread) over 60 000 frames: on the coarsest level
    each unit's row is a grey of its own, from dark to white, not one grey band for all."""
    rng = np.random.default_rng(4)
    rates = np.geomspace(0.005, 0.07, 20)
    counts = (rng.random((20, 60_000)) < rates[:, None]).astype(np.uint8)
    assert busy_fraction(counts) == pytest.approx(rates.max(), rel=0.05)
    _, b_levels = raster_levels(counts, aspect=2048.0)
    shown = np.asarray(b_levels[-1])
    assert shown.shape[0] == 20 and shown.shape[1] <= 128
    row = np.median(shown, axis=1)
    assert np.all(np.diff(row) >= -0.02) and row[0] < 0.6 and row[-1] > 0.95  # rank kept, dark to white
    assert row[-1] - row[0] > 0.3  # (a fixed scale gave 0.54 to 0.64)
    assert np.all((shown == 0) | (shown > FLOOR)) and np.mean(shown[:, :-1] > 0) > 0.95


def test_display_values_reach_white_at_the_busy_fraction() -> None:
    q = np.array([0, 1, 13, 26, 255], np.uint8)  # codes of 0, 1/255, ~5 %, ~10 %, 100 % active
    shown = display_values(q, busy=0.1)
    assert shown[0] == 0 and FLOOR < shown[1] < shown[2] < shown[3] == shown[4] == 1.0
    np.testing.assert_allclose(shown[2], FLOOR + (1 - FLOOR) * np.sqrt(13 / 25.5), rtol=1e-6)
    assert busy_fraction(np.zeros((3, 10), np.uint8)) == pytest.approx(1 / 255)  # never a zero scale


def render(levels, shape, dy: float, dx: float, canvas: tuple[int, int], zoom: float, center) -> np.ndarray:
    """What napari puts on a canvas (h, w) px: its level choice, then one nearest texel per pixel."""
    h, w = canvas
    world_corners = np.array([[center[0] - h / 2 / zoom, center[1] - w / 2 / zoom],
                              [center[0] + h / 2 / zoom, center[1] + w / 2 / zoom]])
    data_corners = world_corners / [dy, dx]
    bbox = np.stack([np.floor(data_corners[0]), np.ceil(data_corners[1])]).astype(int)
    factors = np.array([np.divide(shape, lv.shape) for lv in levels])
    level, _ = compute_multiscale_level_and_corners(bbox, (h, w), factors)
    data = levels[level]
    rows = (world_corners[0, 0] + (np.arange(h) + 0.5) / zoom) / dy / factors[level][0]
    cols = (world_corners[0, 1] + (np.arange(w) + 0.5) / zoom) / dx / factors[level][1]
    r, c = np.floor(rows).astype(int), np.floor(cols).astype(int)
    ok_r, ok_c = (r >= 0) & (r < data.shape[0]), (c >= 0) & (c < data.shape[1])
    out = np.zeros((h, w), np.float32)
    if ok_r.any() and ok_c.any():
        (r0, c0), (r1, c1) = (r[ok_r].min(), c[ok_c].min()), (r[ok_r].max() + 1, c[ok_c].max() + 1)
        tile = np.asarray(data[r0:r1, c0:c1], dtype=np.float32)  # the part napari fetches for the view
        out[np.ix_(ok_r, ok_c)] = tile[np.ix_(r[ok_r] - r0, c[ok_c] - c0)]
    return out


@pytest.mark.parametrize(
    ("shape", "dy", "dx"),
    [
        ((400, 60_000), 0.32, 0.02),  # long raster, rows 16 frames tall
        ((1769, 9960), 0.04, 0.01),  # Steinmetz-like
        ((50, 30_000), 40.96, 0.02),  # few units, very long
        ((300, 2000), 1.0, 0.02),  # a ratio that is no power of two
        ((3000, 900), 0.01, 0.03),  # rows finer than frames
    ],
)
def test_a_single_spike_is_drawn_at_every_zoom_and_pan(shape, dy, dx) -> None:
    """Zoom from the whole raster down to near one texel per pixel; the lone spike always gets a pixel."""
    rng = np.random.default_rng(3)
    canvas = (400, 640)
    fit = min(canvas[0] / (shape[0] * dy), canvas[1] / (shape[1] * dx))
    for trial in range(3):
        counts = np.zeros(shape, np.uint8)
        spike = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
        counts[spike] = 1
        c_levels, b_levels = raster_levels(counts, aspect=dy / dx)
        for zoom in fit * np.geomspace(1, 1 / (fit * min(dy, dx)), 8):
            here = np.array([(spike[0] + 0.5) * dy, (spike[1] + 0.5) * dx])
            center = here + rng.uniform(-0.4, 0.4, 2) * np.array(canvas) / zoom
            for levels in (c_levels, b_levels):
                img = render(levels, shape, dy, dx, canvas, zoom, center)
                assert img.max() > 0, f"spike {spike} lost at zoom {zoom:.3g} (trial {trial})"


def test_without_pooled_levels_napari_sampling_would_drop_the_spike() -> None:
    """The check above is not trivial: a plain single-level raster loses most lone spikes at full view."""
    shape, dy, dx, canvas = (400, 60_000), 0.32, 0.02, (400, 640)
    fit = min(canvas[0] / (shape[0] * dy), canvas[1] / (shape[1] * dx))
    center = np.array(shape) * [dy, dx] / 2
    lost = 0
    for col in range(0, 60_000, 1999):
        counts = np.zeros(shape, np.uint8)
        counts[123, col] = 1
        lost += render([counts], shape, dy, dx, canvas, fit, center).max() == 0
    assert lost > 15  # of 31 positions
