"""Kilosort/phy output folder -> Session (spike_times.npy, spike_clusters.npy, params.py, cluster tables)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from napari_neurorbm.data.celltypes import WIDTH_COLUMN
from napari_neurorbm.data.session import UNKNOWN_AREA, Session
from napari_neurorbm.data.templates import cluster_widths
from napari_neurorbm.errors import NeuroRBMError

AREA_COLUMNS = ("brain_area", "area", "structure_acronym", "acronym", "location", "brain_region", "region")
ID_COLUMNS = ("cluster_id", "id")
LABEL_COLUMNS = ("group", "kslabel")
NOISE = "noise"


def load_phy(folder: str | Path, drop_noise: bool = True) -> Session:
    """Read a Kilosort/phy folder: one unit per cluster, spike times in seconds, labels and numeric columns
    of cluster_info.tsv as metrics, area from a column such as ``brain_area`` (else "unknown"), waveform
    width (ms) from a ``waveform_duration`` column of cluster_info.tsv, else from templates.npy.

    Clusters labelled ``noise`` are dropped unless ``drop_noise`` is False (a warning says how many).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NeuroRBMError(f"{folder}: no such folder")
    if not (folder / "spike_times.npy").is_file():
        raise NeuroRBMError(f"{folder.name}: not a Kilosort/phy folder (no spike_times.npy)")
    params = read_params(folder / "params.py")
    rate = _sample_rate(params, folder)
    samples = _read_vector(folder / "spike_times.npy")
    clusters = _read_clusters(folder)
    if len(clusters) != len(samples):
        raise NeuroRBMError(
            f"{folder.name}: spike_times.npy has {len(samples)} spikes "
            f"but the cluster file has {len(clusters)}"
        )
    if len(samples) == 0:
        raise NeuroRBMError(f"{folder.name}: spike_times.npy holds no spike")
    if not np.issubdtype(clusters.dtype, np.integer):
        raise NeuroRBMError(f"{folder.name}: cluster ids must be integers, got {clusters.dtype}")
    table = _cluster_table(folder, np.unique(clusters))
    if drop_noise:
        noise = table["label"].str.lower().eq(NOISE).to_numpy()
        if noise.all():
            raise NeuroRBMError(f"{folder.name}: all {len(table)} clusters are labelled noise")
        if noise.any():
            warnings.warn(f"{folder.name}: dropped {int(noise.sum())} clusters labelled noise", stacklevel=2)
            table = table[~noise].reset_index(drop=True)
    return _session(folder, table, samples, clusters, rate, params)


def read_params(path: Path) -> dict[str, Any]:
    """The literal assignments of a phy params.py, read without executing it."""
    if not path.is_file():
        raise NeuroRBMError(f"{path.parent.name}: no params.py (it gives the sample rate)")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
    except SyntaxError as exc:
        raise NeuroRBMError(f"{path.parent.name}: params.py is not readable (line {exc.lineno})") from None
    params: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                params[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
    return params


def _sample_rate(params: dict[str, Any], folder: Path) -> float:
    rate = params.get("sample_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not np.isfinite(rate) or rate <= 0:
        raise NeuroRBMError(f"{folder.name}: params.py has no positive sample_rate (got {rate!r})")
    return float(rate)


def _read_vector(path: Path) -> np.ndarray:
    """A 1-D (or n x 1) numeric npy array."""
    try:
        a = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        raise NeuroRBMError(f"{path.parent.name}: {path.name} is not a readable npy file ({exc})") from None
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.dtype.kind not in "iuf":
        raise NeuroRBMError(
            f"{path.parent.name}: {path.name} must be a numeric vector, got {a.dtype} {a.shape}"
        )
    return np.asarray(a)


def _read_clusters(folder: Path) -> np.ndarray:
    """Cluster of each spike: spike_clusters.npy (after curation), else the template of each spike."""
    for name in ("spike_clusters.npy", "spike_templates.npy"):
        if (folder / name).is_file():
            return _read_vector(folder / name)
    raise NeuroRBMError(f"{folder.name}: no spike_clusters.npy (nor spike_templates.npy)")


def _read_tsv(path: Path) -> pd.DataFrame | None:
    """A phy cluster table with its id column renamed ``cluster_id`` and lower-case column names."""
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise NeuroRBMError(f"{path.parent.name}: {path.name} is not a readable table ({exc})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    id_col = next((c for c in ID_COLUMNS if c in df.columns), None)
    if id_col is None:
        raise NeuroRBMError(f"{path.parent.name}: {path.name} has no cluster_id column")
    ids = pd.to_numeric(df[id_col], errors="coerce")
    if ids.isna().any() or ids.duplicated().any():
        raise NeuroRBMError(f"{path.parent.name}: {path.name} has missing or repeated cluster ids")
    return df.drop(columns=[id_col]).set_index(ids.astype(np.int64).rename("cluster_id"))


def _cluster_table(folder: Path, ids: np.ndarray) -> pd.DataFrame:
    """One row per cluster with spikes: ``label`` (curated group, else KSLabel, else 'unsorted'), ``area``,
    and the numeric columns of cluster_info.tsv."""
    info = _read_tsv(folder / "cluster_info.tsv")
    table = pd.DataFrame(index=pd.Index(ids, name="cluster_id"))
    label = pd.Series("unsorted", index=table.index, dtype=object)
    # lowest precedence first: Kilosort's label, then phy's group in cluster_info, then cluster_group.tsv
    sources = [
        (_read_tsv(folder / "cluster_KSLabel.tsv"), "kslabel"),
        (info, "kslabel"),
        (info, "group"),
        (_read_tsv(folder / "cluster_group.tsv"), "group"),
    ]
    for df, col in sources:
        if df is not None and col in df.columns:
            given = df[col].reindex(table.index)
            label = given.where(given.notna(), label)
    table["label"] = label.astype(str).str.strip()
    table["area"] = UNKNOWN_AREA
    if info is not None:
        area_col = next((c for c in AREA_COLUMNS if c in info.columns), None)
        if area_col is not None:
            area = info[area_col].reindex(table.index).fillna("").astype(str).str.strip()
            table["area"] = area.where(area != "", UNKNOWN_AREA)
        skip = set(LABEL_COLUMNS) | {area_col}
        for col in info.columns:
            if col not in skip and pd.api.types.is_numeric_dtype(info[col]):
                table[col] = info[col].reindex(table.index).astype(float)
    return table.reset_index()


def _session(
    folder: Path,
    table: pd.DataFrame,
    samples: np.ndarray,
    clusters: np.ndarray,
    rate: float,
    params: dict[str, Any],
) -> Session:
    """Group spikes by cluster (time order within each) and build the Session."""
    ids = table["cluster_id"].to_numpy(np.int64)
    keep = np.isin(clusters, ids)
    unit = np.searchsorted(ids, clusters[keep])
    samples = samples[keep]
    order = np.lexsort((samples, unit))
    times = samples[order].astype(np.float64) / rate
    last = float(times.max()) + 1.0 / rate
    return Session(
        name=folder.name,
        source=f"Kilosort/phy folder {folder}",
        unit_ids=ids,
        areas=table["area"].to_numpy(str),
        start_s=0.0,
        stop_s=max(last, _dat_duration(folder, params, rate)),
        spike_times=times,
        spike_index=np.r_[0, np.cumsum(np.bincount(unit, minlength=len(ids)))],
        metrics=table.drop(columns=["cluster_id", "area"]),
        waveform_ms=_widths(folder, table, clusters, rate),
    )


def _widths(folder: Path, table: pd.DataFrame, clusters: np.ndarray, rate: float) -> np.ndarray | None:
    """Each cluster's width (ms): cluster_info.tsv's ``waveform_duration``, else measured on its template."""
    given = table[WIDTH_COLUMN].to_numpy(np.float64) if WIDTH_COLUMN in table else None
    if given is not None and np.isfinite(given).all():
        return given
    measured = cluster_widths(folder, table["cluster_id"].to_numpy(np.int64), clusters, rate)
    if given is None or measured is None:
        return given if measured is None else measured
    return np.where(np.isfinite(given), given, measured)


def _dat_duration(folder: Path, params: dict[str, Any], rate: float) -> float:
    """Length (s) of the raw recording named in params.py when it is beside the folder, else 0."""
    dat = params.get("dat_path")
    dat = dat[0] if isinstance(dat, list | tuple) and dat else dat
    n_channels = params.get("n_channels_dat")
    if not isinstance(dat, str) or not isinstance(n_channels, int) or n_channels <= 0:
        return 0.0
    path = Path(dat) if Path(dat).is_absolute() else folder / dat
    try:
        itemsize = np.dtype(params.get("dtype", "int16")).itemsize
        return path.stat().st_size / (itemsize * n_channels * rate)
    except (OSError, TypeError):
        return 0.0
