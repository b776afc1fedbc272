"""NWB files -> Session, read with h5py directly (pynwb is slow to open hour-long Allen files).

Units come from the units table (``spike_times`` + ``spike_times_index``); the brain area of a unit from
its ``peak_channel_id`` in the electrodes table (Allen layout), else a unit column that names the area,
else the unit's first electrode, else "unknown". Numeric per-unit columns become quality metrics; a
``waveform_duration`` column (ms, as in Allen's files) gives the units' spike widths for the E/I split.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import h5py
import numpy as np
import pandas as pd

from napari_neurorbm.data.celltypes import WIDTH_COLUMN
from napari_neurorbm.data.nwb_intervals import read_intervals
from napari_neurorbm.data.session import UNKNOWN_AREA, Session
from napari_neurorbm.errors import NeuroRBMError

AREA_COLUMNS = ("structure_acronym", "brain_area", "location", "area", "brain_region", "region")
ELECTRODES = "general/extracellular_ephys/electrodes"
_NOT_METRICS = {"id", "spike_times", "electrodes", "electrode_group", "obs_intervals", "waveform_mean"}


def load_nwb(path: str | Path) -> Session:
    """Read the units of an NWB file: ids, areas, numeric quality metrics, spike times and recording span."""
    path = Path(path)
    if not path.is_file():
        raise NeuroRBMError(f"{path}: no such file")
    return read_nwb(path, path.name, str(path))


def read_nwb(file: str | Path | BinaryIO, name: str, source: str) -> Session:
    """:func:`load_nwb` of a path or an open binary file (a remote file read by ranges) called ``name``;
    the Session is named after ``name`` without its extension, and says it came from ``source``."""
    stem = Path(name).stem
    try:
        with h5py.File(file, "r") as f:
            parts = _read(f, name)
    except NeuroRBMError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise NeuroRBMError(f"{name}: not a readable NWB file (truncated or corrupt? {why})") from None
    try:
        return Session(name=stem, source=source, **parts)
    except NeuroRBMError as exc:
        raise NeuroRBMError(f"{name}: {str(exc).removeprefix(stem + ': ')}") from None


def _read(f: h5py.File, name: str) -> dict:
    units = _units_group(f)
    if units is None:
        raise NeuroRBMError(f"{name}: the file has no units table (no sorted spikes to load)")
    if "spike_times" not in units:
        raise NeuroRBMError(f"{name}: the units table has no 'spike_times' column")
    ids = units["id"][()] if "id" in units else None
    times = units["spike_times"][()]
    if "spike_times_index" in units:
        index = np.r_[0, units["spike_times_index"][()]].astype(np.int64)
    else:  # a single unit may be stored without an index
        index = np.array([0, len(times)], dtype=np.int64)
    n = len(index) - 1
    if ids is None:
        ids = np.arange(n)
    if len(ids) != n:
        raise NeuroRBMError(f"{name}: the units table has {len(ids)} ids but {n} spike-time rows")
    if n == 0:
        raise NeuroRBMError(f"{name}: the units table is empty")
    if index[-1] != len(times):
        raise NeuroRBMError(f"{name}: the spike-time index does not match the spike times")
    if len(times) == 0:
        raise NeuroRBMError(f"{name}: none of the {n} units has a spike")
    start, stop = _span(units, times)
    return {
        "unit_ids": ids,
        "areas": _areas(f, units, n),
        "start_s": start,
        "stop_s": stop,
        "epochs": read_intervals(f, name),  # the interval tables: trials, stimulus presentations
        "spike_times": times,
        "spike_index": index,
        "metrics": _metrics(units, n),
        "waveform_ms": _widths(units, n),
    }


def _units_group(f: h5py.File) -> h5py.Group | None:
    """``/units`` where the file has one, else the first group typed as a Units table."""
    if isinstance(f.get("units"), h5py.Group):
        return f["units"]
    found: list[h5py.Group] = []

    def visit(_: str, obj: h5py.HLObject) -> None:
        if not found and isinstance(obj, h5py.Group) and _attr(obj, "neurodata_type") == "Units":
            found.append(obj)

    f.visititems(visit)
    return found[0] if found else None


def _attr(obj: h5py.HLObject, key: str) -> str:
    value = obj.attrs.get(key, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _span(units: h5py.Group, times: np.ndarray) -> tuple[float, float]:
    """Observation intervals of the units where the file has them, else first to last spike."""
    if "obs_intervals" in units:
        obs = np.asarray(units["obs_intervals"][()], dtype=np.float64).reshape(-1, 2)
        if obs.size and np.all(np.isfinite(obs)):
            return float(obs[:, 0].min()), float(obs[:, 1].max())
    return float(times.min()), float(times.max())  # NaN here is reported by Session's checks


def _strings(ds: h5py.Dataset) -> np.ndarray:
    """A 1-D column as str (variable-length strings, bytes or numbers)."""
    if ds.dtype.kind in "OSU":
        return np.asarray(ds.asstr()[()], dtype=str)
    return np.asarray(ds[()]).astype(str)


def _clean(areas: np.ndarray) -> np.ndarray:
    """Empty or missing names become "unknown"."""
    out = np.char.strip(areas.astype(str))
    missing = np.isin(np.char.lower(out), ["", "nan", "none", "null", "n/a"])
    out = out.astype(object)
    out[missing] = UNKNOWN_AREA
    return out.astype(str)


def _areas(f: h5py.File, units: h5py.Group, n: int) -> np.ndarray:
    unknown = np.full(n, UNKNOWN_AREA)
    electrodes = f.get(ELECTRODES)
    has_locations = isinstance(electrodes, h5py.Group) and "location" in electrodes and "id" in electrodes
    if has_locations and "peak_channel_id" in units:
        channel_ids = electrodes["id"][()]
        locations = _strings(electrodes["location"])
        order = np.argsort(channel_ids, kind="stable")
        peak = units["peak_channel_id"][()]
        pos = np.clip(np.searchsorted(channel_ids[order], peak), 0, len(order) - 1)
        found = channel_ids[order][pos] == peak
        return _clean(np.where(found, locations[order][pos], UNKNOWN_AREA))
    for col in AREA_COLUMNS:
        if col in units and isinstance(units[col], h5py.Dataset) and units[col].shape == (n,):
            return _clean(_strings(units[col]))
    if "electrodes" in units and "electrodes_index" in units:
        return _clean(_first_electrode_area(f, units, n))
    return unknown


def _first_electrode_area(f: h5py.File, units: h5py.Group, n: int) -> np.ndarray:
    """Area of each unit's first electrode through the units' DynamicTableRegion."""
    region = units["electrodes"]
    ref = region.attrs.get("table")
    table = f[ref] if ref is not None else f.get(ELECTRODES)
    if table is None or "location" not in table:
        return np.full(n, UNKNOWN_AREA)
    locations = _strings(table["location"])
    rows = region[()]
    ends = units["electrodes_index"][()].astype(np.int64)
    starts = np.r_[0, ends[:-1]]
    out = np.full(n, UNKNOWN_AREA, dtype=object)
    has = ends > starts
    first = rows[starts[has]]
    ok = (first >= 0) & (first < len(locations))
    out[np.flatnonzero(has)[ok]] = locations[first[ok]]
    return out.astype(str)


def _widths(units: h5py.Group, n: int) -> np.ndarray | None:
    """The units' ``waveform_duration`` column (ms), where the table has one as a number per unit."""
    column = units.get(WIDTH_COLUMN)
    if isinstance(column, h5py.Dataset) and column.shape == (n,) and column.dtype.kind in "iuf":
        return column[()].astype(np.float64)
    return None


def _metrics(units: h5py.Group, n: int) -> pd.DataFrame:
    """Numeric one-value-per-unit columns (quality metrics); ragged, id and reference columns are left out."""
    columns = {}
    for key, obj in units.items():
        if (
            key in _NOT_METRICS
            or key.endswith(("_index", "_id"))
            or f"{key}_index" in units
            or not isinstance(obj, h5py.Dataset)
            or obj.shape != (n,)
            or obj.dtype.kind not in "biuf"
            or _attr(obj, "neurodata_type") == "DynamicTableRegion"
        ):
            continue
        columns[key] = obj[()].astype(np.float64)
    return pd.DataFrame(columns, index=pd.RangeIndex(n))
