"""Effective couplings J_ij summarised by the putative classes of the pair: E-E, E-I and I-I.

Seed 004 (its Ising fits of human cortex) found E-E and I-I couplings mostly positive and E-I couplings
mixed. Here the same summary of an RBM's effective couplings (:mod:`.couplings`): per pair type, the number
of pairs, the mean J_ij, its spread and the share of positive couplings, and histograms on shared bins.
Units of unknown class are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from napari_neurorbm.data.celltypes import EXCITATORY, INHIBITORY, describe_classes
from napari_neurorbm.errors import NeuroRBMError

PAIR_TYPES = {"E-E": (EXCITATORY, EXCITATORY), "E-I": (EXCITATORY, INHIBITORY),
              "I-I": (INHIBITORY, INHIBITORY)}
HIST_BINS = 41
HIST_QUANTILE = 99.5  # histograms reach out to this percentile of |J|: a few strong pairs do not squeeze them


@dataclass(frozen=True)
class ClassCouplings:
    """The J_ij (each pair i < j once) of every pair type, in PAIR_TYPES order."""

    values: dict[str, np.ndarray]

    def table(self) -> pd.DataFrame:
        """One row per pair type: number of pairs, mean J, its standard deviation and the share of positive
        J (NaN without a pair)."""
        return pd.DataFrame([{"pairs": name, **stats} for name, stats in self.summary().items()])

    def summary(self) -> dict[str, dict]:
        """JSON-ready: {"E-E": {"n": ..., "mean": ..., "sd": ..., "positive": ...}, ...} (None: no pair)."""
        return {name: {"n": int(v.size), "mean": float(v.mean()) if v.size else None,
                       "sd": float(v.std()) if v.size else None,
                       "positive": float(np.mean(v > 0)) if v.size else None}
                for name, v in self.values.items()}

    def histograms(self, bins: int = HIST_BINS, q: float = HIST_QUANTILE
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Bin edges symmetric about 0, out to the ``q``-th percentile of |J| over all pairs (the few beyond
        fall in the end bins), and each pair type's density over them."""
        pooled = np.abs(np.concatenate(list(self.values.values())))
        lim = float(np.percentile(pooled, q)) if pooled.size else 0.0
        lim = lim if lim > 0 else float(pooled.max(initial=0.0)) or 1.0
        edges = np.linspace(-lim, lim, bins + 1)
        return edges, {name: np.histogram(np.clip(v, -lim, lim), bins=edges, density=True)[0] if v.size
                       else np.zeros(bins) for name, v in self.values.items()}

    def text(self) -> str:
        """A few lines for a terminal: one per pair type."""
        lines = ["couplings by putative class (spike waveform width):"]
        for name, row in self.summary().items():
            lines.append(f"  {name}  no pair" if not row["n"] else
                         f"  {name}  {row['n']} pairs  mean J {row['mean']:+.3g}  sd {row['sd']:.3g}  "
                         f"positive {row['positive']:.1%}")
        return "\n".join(lines)


def class_couplings(J: np.ndarray, classes: np.ndarray) -> ClassCouplings:
    """Split the upper triangle of the symmetric ``J`` (units x units) by the classes of each pair's units."""
    J = np.asarray(J)
    classes = np.asarray(classes, dtype=str)
    if J.ndim != 2 or J.shape != (len(classes), len(classes)):
        raise NeuroRBMError(f"couplings of shape {J.shape} do not fit {len(classes)} unit classes")
    if not describe_classes(classes):
        raise NeuroRBMError("no unit has an E/I class (the source gives no spike waveform width)")
    i, j = np.triu_indices(len(classes), k=1)
    a, b = classes[i], classes[j]
    values = {}
    for name, (x, y) in PAIR_TYPES.items():
        pick = ((a == x) & (b == y)) | ((a == y) & (b == x))
        values[name] = J[i[pick], j[pick]].astype(np.float64)
    return ClassCouplings(values)
