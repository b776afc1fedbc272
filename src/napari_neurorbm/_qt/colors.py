"""One brain-area -> colour mapping for every strip, plot and matrix, the E/I class colours, and one colour
per kind of activity or model (recording, generated, independent, pairwise ...) for every plot that compares
them (numpy only, no Qt)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Distinct colours that read well on napari's dark canvas; unassigned units are grey.
PALETTE = (
    "#4e9bf5", "#f58231", "#3cb44b", "#e6194b", "#ffe119", "#42d4f4", "#f032e6", "#bfef45",
    "#b77cf2", "#fabed4", "#469990", "#c68642", "#aaffc3", "#dcbeff", "#d45f5f", "#b5b53c",
    "#ffd8b1", "#7f7fff", "#fffac8", "#2f8f5f",
)
UNASSIGNED = ("unknown", "root", "")
# What the statistics dock and the Analyses dock compare, on napari's dark background (RGB 0-255): the
# recording light, the RBM (its generated activity) green, independent neurons grey, the pairwise model
# orange.
SERIES_COLORS = {
    "recording": (235, 235, 235), "test": (240, 95, 95), "generated": (80, 205, 120),
    "independent": (140, 140, 160), "pairwise": (250, 170, 60), "time_shuffled": (90, 160, 250),
}
UNASSIGNED_COLOR = "#7f7f7f"


def area_colors(areas: Iterable[str]) -> dict[str, np.ndarray]:
    """RGBA (float, 0-1) per area name: palette order follows the sorted names, unassigned areas grey.

    Pass all areas of the session's raster so that every widget gets the same colours.
    """
    names = sorted({str(a) for a in areas})
    assigned = [a for a in names if a.lower() not in UNASSIGNED]
    out = {a: _rgba(PALETTE[i % len(PALETTE)]) for i, a in enumerate(assigned)}
    out.update({a: _rgba(UNASSIGNED_COLOR) for a in names if a.lower() in UNASSIGNED})
    return out


def _rgba(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)] + [1.0])


# Putative excitatory units (most units) light and neutral, inhibitory ones a strong red that stands out among
# them; unknown ones dark grey. Unlike the area colours, so that the two strips side by side do not blur.
CLASS_COLORS = {"E": "#d5dbe0", "I": "#ff2e63", "unknown": "#4a4a4a"}


def class_colors() -> dict[str, np.ndarray]:
    """RGBA (float, 0-1) per E/I class ("E", "I", "unknown")."""
    return {name: _rgba(colour) for name, colour in CLASS_COLORS.items()}
