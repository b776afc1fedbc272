"""Screen-space sizes of canvas text and thinning of labels so that none overlaps another (no Qt, no napari).

napari draws Points text at a fixed size in screen pixels whatever the zoom, so whether two labels collide
depends on the zoom: these helpers decide which labels to show (and how far to shorten a title) for a
given number of screen pixels per world unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHAR_PX = 0.9  # width of a character, in font sizes (generous: most characters are narrower)
LINE_PX = 1.6  # height of a line of text, in font sizes
ELLIPSIS = "…"


def text_width(text: str, size: float) -> float:
    """Screen pixels a line of ``text`` at font ``size`` takes at most (an ellipsis counts twice)."""
    return (len(text) + text.count(ELLIPSIS)) * CHAR_PX * size


def thin(centres: Sequence[float], weights: Sequence[float], spacing: float) -> np.ndarray:
    """Which labels to show: the heaviest first, each kept only if it is at least ``spacing`` from every kept
    one (positions and spacing in screen pixels along the axis the labels are stacked on)."""
    centres = np.asarray(centres, dtype=float)
    keep = np.zeros(len(centres), dtype=bool)
    for i in np.argsort(-np.asarray(weights, dtype=float), kind="stable"):
        if not keep.any() or np.min(np.abs(centres[keep] - centres[i])) >= spacing:
            keep[i] = True
    return keep


def fit_text(text: str, room_px: float, size: float) -> str:
    """``text`` shortened (with an ellipsis) to fit ``room_px`` screen pixels; empty when not even 3
    characters fit."""
    if text_width(text, size) <= room_px:
        return text
    n = int(room_px // (CHAR_PX * size)) - 2
    return text[:n] + ELLIPSIS if n >= 3 else ""


def blank_unkept(features, keep: np.ndarray, column: str = "area"):
    """A copy of a Points layer's features whose ``label`` column holds ``column`` where ``keep``, else ''
    (napari writes every point's text, shown or not, so a thinned label is an empty string)."""
    out = features.copy()
    out["label"] = np.where(keep, out[column].astype(str), "")
    return out
