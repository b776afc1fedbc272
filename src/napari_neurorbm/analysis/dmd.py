"""Dynamic mode decomposition of activity in time (seed 002): the best linear map from one frame to the next.

The frames are reduced to their top-k principal components, and exact DMD (Tu et al. 2014) fits
y(t + 1) ~ A y(t) by least squares through the SVD of the earlier frames. Symmetric (reciprocal)
connectivity gives real eigenvalues; rotation-like dynamics give complex pairs. Pairs of frames never
straddle a gap between the recording's segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_neurorbm.errors import NeuroRBMError

REAL_TOL = 1e-3  # an eigenvalue is "real" when its imaginary part is below this (per frame)


@dataclass(frozen=True)
class DMD:
    """Eigenvalues of the fitted one-frame map (complex, by decreasing modulus) in the space of the top-k
    PCs, and the share of them whose imaginary part is negligible."""

    eigenvalues: np.ndarray
    k: int

    @property
    def real_fraction(self) -> float:
        return float(np.mean(np.abs(self.eigenvalues.imag) < REAL_TOL)) if len(self.eigenvalues) else np.nan


def dmd_eigenvalues(x0: np.ndarray, x1: np.ndarray, rank: int | None = None) -> np.ndarray:
    """Eigenvalues of the least-squares A with x1 ~ x0 A^T (rows: pairs of consecutive states), by exact
    DMD: the SVD of x0 truncated to ``rank`` (default full), A projected on its right singular vectors."""
    if x0.shape != x1.shape or x0.ndim != 2 or len(x0) < x0.shape[1]:
        raise NeuroRBMError(f"DMD needs as many state pairs as dimensions, got {x0.shape} and {x1.shape}")
    u, s, vt = np.linalg.svd(x0, full_matrices=False)
    r = len(s) if rank is None else min(rank, len(s))
    keep = s[:r] > s[0] * 1e-10
    u, s, vt = u[:, :r][:, keep], s[:r][keep], vt[:r][keep]
    a_tilde = vt @ x1.T @ u / s  # = V^T X1^T U S^-1 in column-state notation
    ev = np.linalg.eigvals(a_tilde)
    return ev[np.argsort(-np.abs(ev), kind="stable")]


def consecutive_pairs(n_frames: int, segment_starts: np.ndarray | None = None) -> np.ndarray:
    """Frames t whose successor t + 1 lies in the same segment."""
    t = np.arange(n_frames - 1)
    if segment_starts is None or len(segment_starts) == 0:
        return t
    return t[~np.isin(t + 1, np.asarray(segment_starts))]


def top_pcs(x: np.ndarray, k: int) -> np.ndarray:
    """The top-k principal axes (units x k, by decreasing variance) of centred frames x units: eigenvectors of
    the units' scatter matrix, a few times faster than the SVD of all the frames when frames outnumber units
    (the top axes only: the matrix squares the small singular values, not the large ones)."""
    if len(x) <= x.shape[1]:
        return np.linalg.svd(x, full_matrices=False)[2][:k].T
    _, vectors = np.linalg.eigh(x.T @ x)
    return vectors[:, ::-1][:, :k]


def dmd_of(x: np.ndarray, k: int = 20, segment_starts: np.ndarray | None = None) -> DMD:
    """DMD of frames x units activity in the space of its top-k PCs (centred on the mean frame)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or k < 1:
        raise NeuroRBMError(f"DMD needs frames x units activity and k >= 1, got shape {x.shape} and k = {k}")
    x = x - x.mean(axis=0)
    k = min(k, x.shape[1])
    y = x @ top_pcs(x, k)
    t = consecutive_pairs(len(x), segment_starts)
    if len(t) < k:
        raise NeuroRBMError(f"DMD of {k} PCs needs at least {k} consecutive frame pairs, got {len(t)}")
    return DMD(dmd_eigenvalues(y[t], y[t + 1]), k)
