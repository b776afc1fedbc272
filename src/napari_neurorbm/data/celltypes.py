"""Putative excitatory / inhibitory classes of units from the width of their spike waveform.

The width is the trough-to-peak duration of the unit's mean waveform on its largest channel (ms), as the
Allen units table's ``waveform_duration``. Narrow-spiking units (below a threshold, 0.4 ms by default) are
putative fast-spiking inhibitory interneurons, "I"; the others putative excitatory (mostly pyramidal) cells,
"E" (Barthó et al. 2004, J Neurophysiol 92:600; Siegle et al. 2021, Nature 592:86). A unit without a
waveform width is "unknown". The split is putative: some inhibitory cells spike broadly, and the threshold
depends on the probe and the filtering.
"""

from __future__ import annotations

import warnings

import numpy as np

EXCITATORY, INHIBITORY, UNCLASSIFIED = "E", "I", "unknown"
CLASSES = (EXCITATORY, INHIBITORY, UNCLASSIFIED)
CLASS_DTYPE = "<U7"  # room for every class name, so that an array of "E" and "I" can take "unknown"
WIDTH_COLUMN = "waveform_duration"  # the column of a units table that holds the width, in ms
NAMED = 10  # units named at most in the note on units without a width


def check_widths(widths: np.ndarray | None, n_units: int) -> np.ndarray | None:
    """Widths (ms) as float64, one per unit; NaN where a unit has none (non-finite or non-positive values
    mean none); None when no unit has one."""
    if widths is None:
        return None
    w = np.asarray(widths, dtype=np.float64).reshape(-1)
    if w.shape != (n_units,):
        raise ValueError(f"{w.size} waveform widths for {n_units} units")
    w = np.where(np.isfinite(w) & (w > 0), w, np.nan)
    return w if np.isfinite(w).any() else None


def classify(widths: np.ndarray | None, threshold_ms: float, n_units: int) -> np.ndarray:
    """Class of each unit: "I" where the width is below ``threshold_ms``, "E" at or above it, "unknown"
    without a width (every unit when ``widths`` is None)."""
    out = np.full(n_units, UNCLASSIFIED, dtype=CLASS_DTYPE)
    if widths is not None:
        w = np.asarray(widths, dtype=np.float64)
        known = np.isfinite(w)
        out[known] = np.where(w[known] < threshold_ms, INHIBITORY, EXCITATORY)
    return out


def note_unclassified(classes: np.ndarray, unit_ids: np.ndarray) -> None:
    """One warning naming the units left unknown, when others have a class (a source without any waveform
    width gets no note: nothing was classified)."""
    unknown = np.flatnonzero(classes == UNCLASSIFIED)
    if not unknown.size or unknown.size == len(classes):
        return
    ids = ", ".join(str(u) for u in np.asarray(unit_ids)[unknown[:NAMED]])
    more = f" and {unknown.size - NAMED} more" if unknown.size > NAMED else ""
    warnings.warn(f"E/I: {unknown.size} of {len(classes)} units have no waveform width, their class is "
                  f"unknown (unit ids {ids}{more}); the others are classified", stacklevel=3)


def class_counts(classes: np.ndarray | None) -> dict[str, int]:
    """Units per class: {"E": ..., "I": ..., "unknown": ...}."""
    c = np.asarray([] if classes is None else classes, dtype=str)
    return {name: int(np.count_nonzero(c == name)) for name in CLASSES}


def describe_classes(classes: np.ndarray | None) -> str:
    """'E 120, I 30, unknown 5' (zero counts left out), or '' when no unit has a class."""
    counts = class_counts(classes)
    if not counts[EXCITATORY] and not counts[INHIBITORY]:
        return ""
    return ", ".join(f"{name} {n}" for name, n in counts.items() if n)
