"""The two halves of a raster's training frames, for replicate runs of one configuration (``--halves``).

The recording is cut into ``HALF_BLOCKS`` blocks of equal length in time; half 0 takes the training frames
of the even blocks, half 1 those of the odd ones. Contiguous blocks, not interleaved frames: neighbouring
frames are strongly correlated, so two halves made of alternate frames would hold almost the same data and
their models would agree more than independent recordings allow. Alternating several long blocks, rather
than cutting the recording in two, puts the early and the late recording (slow drifts, behavioural state)
into both halves. The test frames are the raster's own test frames, the same for both halves.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError

HALF_BLOCKS = 10  # blocks of the recording in time, alternately given to the two halves


def half_frames(train_frames: np.ndarray, n_frames: int, half: int) -> np.ndarray:
    """The training frames (indices into the recording's ``n_frames`` frames) of half 0 or 1."""
    if half not in (0, 1):
        raise NeuroRBMError(f"a half of the training frames is 0 or 1, got {half}")
    frames = np.asarray(train_frames, dtype=np.int64)
    block = frames * HALF_BLOCKS // max(n_frames, 1)
    return frames[block % 2 == half]


def raster_half(raster: Raster, half: int | None) -> Raster:
    """``raster`` learning from one half of its training frames (``None``: all of them), same test frames."""
    if half is None:
        return raster
    train = half_frames(raster.train_frames, raster.n_frames, half)
    if len(train) == 0:
        raise NeuroRBMError(f"{raster.name}: half {half} of the training frames is empty")
    return dataclasses.replace(raster, train_frames=train)
