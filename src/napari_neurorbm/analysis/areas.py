"""Couplings grouped by brain area (paper 001, eq. 15, Fig. 4d, Fig. 5): area matrix, per-area statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from napari_neurorbm.atomic import write_csv
from napari_neurorbm.configs import CouplingsConfig
from napari_neurorbm.errors import NeuroRBMError

MIN_UNITS = CouplingsConfig.min_units  # areas with fewer units are left out
STAT_COLUMNS = ["area", "n_units", "n_pairs", "mean", "std", "skewness", "n_positive", "n_negative",
                "ei_ratio"]


def area_groups(areas: np.ndarray, min_units: int = MIN_UNITS) -> list[tuple[str, np.ndarray]]:
    """(area, row indices) for every area with at least `min_units` units, in order of first appearance."""
    if min_units < 1:
        raise NeuroRBMError(f"the minimum number of units per area must be at least 1, got {min_units}")
    areas = np.asarray(areas).astype(str)
    names, first = np.unique(areas, return_index=True)
    groups = [(str(name), np.flatnonzero(areas == name)) for name in names[np.argsort(first)]]
    return [(name, rows) for name, rows in groups if len(rows) >= min_units]


def area_coupling_matrix(J: np.ndarray, areas: np.ndarray,
                         min_units: int = MIN_UNITS) -> tuple[np.ndarray, np.ndarray]:
    """Eq. (15): J_AB = Σ_{i∈A, j∈B, j≠i} J_ij / (n_A (n_B - δ_AB)) for the areas with ≥ `min_units` units.

    Returns (area names in row order, J_AB float64); a within-area entry of a one-unit area is NaN.
    """
    J = _check(J, areas)
    groups = area_groups(areas, min_units)
    member = np.zeros((len(J), len(groups)))
    for col, (_, rows) in enumerate(groups):
        member[rows, col] = 1.0
    off = J - np.diag(np.diag(J))
    sums = member.T @ off @ member
    n = member.sum(0)
    pairs = np.outer(n, n) - np.diag(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        J_area = np.where(pairs > 0, sums / pairs, np.nan)
    return np.array([name for name, _ in groups], dtype=str), J_area


def within_area_couplings(J: np.ndarray, areas: np.ndarray,
                          min_units: int = MIN_UNITS) -> dict[str, np.ndarray]:
    """The J_ij of the pairs i < j inside each area with ≥ `min_units` units (what Fig. 5a histograms)."""
    J = _check(J, areas)
    out = {}
    for name, rows in area_groups(areas, min_units):
        iu, ju = np.triu_indices(len(rows), 1)
        out[name] = J[rows[iu], rows[ju]]
    return out


def within_area_pairs(areas: np.ndarray, min_units: int = MIN_UNITS, max_pairs: int | None = None,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Pairs i < j inside each area with ≥ `min_units` units (at most `max_pairs`, drawn at random).

    For quantities computed per pair rather than as a matrix, such as R_ij (Fig. 5b).
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, rows in area_groups(areas, min_units):
        iu, ju = np.triu_indices(len(rows), 1)
        if max_pairs is not None and len(iu) > max_pairs:
            keep = np.sort(rng.choice(len(iu), size=max_pairs, replace=False))
            iu, ju = iu[keep], ju[keep]
        out[name] = np.column_stack([rows[iu], rows[ju]])
    return out


def skewness(x: np.ndarray) -> float:
    """Sample skewness m3 / m2^1.5 (Fisher-Pearson, no bias correction); NaN for < 2 values or equal ones."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return float("nan")
    d = x - x.mean()
    m2 = np.mean(d * d)
    return float(np.mean(d**3) / m2**1.5) if m2 > 0 else float("nan")


def area_coupling_stats(J: np.ndarray, areas: np.ndarray, min_units: int = MIN_UNITS) -> pd.DataFrame:
    """Per area (≥ `min_units` units): n_units, n_pairs, mean, std, skewness, n_positive, n_negative and the
    E/I ratio #positive / #negative of its within-area couplings (inf when none is negative)."""
    rows = []
    sizes = dict((name, len(r)) for name, r in area_groups(areas, min_units))
    for name, vals in within_area_couplings(J, areas, min_units).items():
        pos, neg = int((vals > 0).sum()), int((vals < 0).sum())
        rows.append({
            "area": name, "n_units": sizes[name], "n_pairs": len(vals),
            "mean": float(vals.mean()) if len(vals) else float("nan"),
            "std": float(vals.std()) if len(vals) else float("nan"),
            "skewness": skewness(vals), "n_positive": pos, "n_negative": neg,
            "ei_ratio": pos / neg if neg else (float("inf") if pos else float("nan")),
        })
    return pd.DataFrame(rows, columns=STAT_COLUMNS)


def area_table(J: np.ndarray, areas: np.ndarray, min_units: int = MIN_UNITS) -> pd.DataFrame:
    """One row per area: its within-area statistics, then its row of J_AB in columns named 'J[B]'."""
    names, J_area = area_coupling_matrix(J, areas, min_units)
    table = area_coupling_stats(J, areas, min_units).set_index("area")
    for col, name in enumerate(names):
        table[f"J[{name}]"] = J_area[:, col]
    return table


def write_area_csv(path: str | Path, J: np.ndarray, areas: np.ndarray, min_units: int = MIN_UNITS) -> Path:
    """Write area_table as CSV (first column 'area'); returns the path."""
    return write_table_csv(path, area_table(J, areas, min_units))


def write_table_csv(path: str | Path, table: pd.DataFrame) -> Path:
    """Write a table indexed by area as CSV (first column 'area'); returns the path."""
    return write_csv(path, table, "area table", index_label="area")


def _check(J: np.ndarray, areas: np.ndarray) -> np.ndarray:
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise NeuroRBMError(f"J must be a square matrix, got shape {J.shape}")
    if len(areas) != len(J):
        raise NeuroRBMError(f"{len(areas)} area labels for {len(J)} units")
    return J
