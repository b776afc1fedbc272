"""What the Generate and Clamp docks share: the line that says which model they run, and the rasters they
make from a model's frames (shown beside the recording by the layout owner, :mod:`.layout`; their jobs run
on :mod:`.jobs`)."""

from __future__ import annotations

import numpy as np

from napari_neurorbm._qt.raster_layers import frame_spacing
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile


def describe_model(model: ModelFile | None) -> str:
    """The model a dock would run, in a line (or how to get one)."""
    if model is None:
        return "No model yet: train one or open a model file."
    return f"Model: {model.rbm.n_visible} visible × {model.rbm.n_hidden} hidden units."

# ---------------------------------------------------------------- model rasters


def held_out_raster(raster: Raster) -> Raster:
    """The raster's held-out test frames, one after another, at the recording's frame spacing."""
    cols = np.asarray(raster.test_frames)
    if cols.size == 0:
        raise NeuroRBMError("the raster has no test frames to compare with (binarize with a test fraction)")
    n = cols.size
    return Raster(
        counts=np.ascontiguousarray(raster.counts[:, cols]), bin_s=raster.bin_s, areas=raster.areas,
        unit_ids=raster.unit_ids, segment_starts=np.zeros(1, np.int64),
        frame_times=np.arange(n) * frame_spacing(raster), train_frames=np.zeros(0, np.int64),
        test_frames=np.arange(n), name=f"{raster.name} test frames", classes=raster.classes,
        waveform_ms=raster.waveform_ms,
    )


def model_raster(frames: np.ndarray, segment_starts: np.ndarray, like: Raster, name: str) -> Raster:
    """Model-made 0/1 frames (frames x units) as a Raster in ``like``'s rows, a frame per column of ``like``.

    Every frame is in the 'train' split; chains are the segments.
    """
    n = len(frames)
    return Raster(
        counts=np.ascontiguousarray(np.asarray(frames, dtype=np.uint8).T), bin_s=like.bin_s,
        areas=like.areas, unit_ids=like.unit_ids, segment_starts=np.asarray(segment_starts, np.int64),
        frame_times=np.arange(n) * frame_spacing(like), train_frames=np.arange(n),
        test_frames=np.zeros(0, np.int64), name=name, classes=like.classes, waveform_ms=like.waveform_ms,
    )


