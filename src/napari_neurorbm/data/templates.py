"""Spike waveform widths of Kilosort/phy clusters, from the sorter's templates (templates.npy).

A template is the mean waveform of a cluster's spikes (templates x samples x channels). Kilosort stores them
in whitened space; ``whitening_mat_inv.npy`` (channels x channels), where present, turns them back into
voltages before they are measured. A cluster's width is the trough-to-peak duration (ms) on the channel of
largest peak-to-peak amplitude of its template: from the trough (minimum) to the highest sample after it, as
the Allen pipeline measures ``waveform_duration``. A cluster's template is the one most of its spikes came
from (``spike_templates.npy``; after merges a cluster holds spikes of several templates); without that file
a cluster id is its template's index. Sparse templates (with ``template_ind.npy``) are measured as stored.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def trough_to_peak_ms(waveforms: np.ndarray, rate: float) -> np.ndarray:
    """Trough-to-peak duration (ms) of each waveform (n x samples x channels) on its largest channel; NaN for
    a flat waveform or one whose trough is its last sample."""
    w = np.asarray(waveforms, dtype=np.float64)
    amplitude = w.max(axis=1) - w.min(axis=1)
    n, samples = w.shape[:2]
    best = w[np.arange(n), :, amplitude.argmax(axis=1)]
    trough = best.argmin(axis=1)
    after = np.where(np.arange(samples) >= trough[:, None], best, -np.inf)
    peak = after.argmax(axis=1)
    out = (peak - trough) / rate * 1e3
    out[(amplitude.max(axis=1) == 0) | (peak == trough)] = np.nan
    return out


def cluster_widths(folder: Path, cluster_ids: np.ndarray, spike_clusters: np.ndarray,
                   rate: float) -> np.ndarray | None:
    """Width (ms) of each cluster of ``cluster_ids`` from the folder's templates (NaN where a cluster has no
    template); None without a usable templates.npy (a warning says why when the file is there)."""
    templates = _templates(folder)
    if templates is None:
        return None
    widths = trough_to_peak_ms(templates, rate)
    which = _cluster_templates(folder, np.asarray(cluster_ids), spike_clusters, len(templates))
    out = np.full(len(which), np.nan)
    out[which >= 0] = widths[which[which >= 0]]
    return out


def _templates(folder: Path) -> np.ndarray | None:
    """templates.npy, unwhitened when the folder has the inverse whitening matrix."""
    path = folder / "templates.npy"
    if not path.is_file():
        return None
    try:
        templates = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        warnings.warn(f"{folder.name}: templates.npy is not readable ({exc}): no waveform widths",
                      stacklevel=4)
        return None
    if templates.ndim != 3 or templates.dtype.kind not in "iuf" or 0 in templates.shape:
        warnings.warn(f"{folder.name}: templates.npy is not templates x samples x channels "
                      f"({templates.dtype} {templates.shape}): no waveform widths", stacklevel=4)
        return None
    templates = np.asarray(templates, dtype=np.float32)
    inverse = folder / "whitening_mat_inv.npy"
    if inverse.is_file() and not (folder / "template_ind.npy").is_file():
        matrix = np.load(inverse, allow_pickle=False)
        if matrix.shape == (templates.shape[2],) * 2:
            templates = templates @ matrix.astype(np.float32)
    return templates


def _cluster_templates(folder: Path, ids: np.ndarray, spike_clusters: np.ndarray,
                       n_templates: int) -> np.ndarray:
    """Template index of each cluster (-1 where none): the most frequent template among its spikes."""
    path = folder / "spike_templates.npy"
    spike_templates = np.load(path, allow_pickle=False).reshape(-1) if path.is_file() else None
    if spike_templates is None or len(spike_templates) != len(spike_clusters):
        return np.where((ids >= 0) & (ids < n_templates), ids, -1).astype(np.int64)
    row = np.searchsorted(ids, spike_clusters)
    row = np.minimum(row, len(ids) - 1)
    kept = (ids[row] == spike_clusters) & (spike_templates >= 0) & (spike_templates < n_templates)
    keys, counts = np.unique(row[kept].astype(np.int64) * n_templates + spike_templates[kept],
                             return_counts=True)
    out = np.full(len(ids), -1, dtype=np.int64)
    if not keys.size:
        return out
    cluster, template = np.divmod(keys, n_templates)
    order = np.lexsort((-counts, cluster))  # each cluster's most frequent template first
    first = order[np.r_[True, cluster[order][1:] != cluster[order][:-1]]]
    out[cluster[first]] = template[first]
    return out
