"""SpikeInterface outputs -> Session: a saved sorting folder (``sorting.save(folder=...)``, binary or zarr) or
a SortingAnalyzer folder (``create_sorting_analyzer(..., format="binary_folder" or "zarr", folder=...)``).

spikeinterface is an optional dependency (``pip install napari-neurorbm[spikeinterface]``), imported only
when such a folder is opened. What the Session gets:

- spike times: the sorting's spike samples divided by its sampling frequency (seconds from the start of the
  recording); a sorting without a sampling frequency is an error. One segment only.
- unit ids: the sorting's.
- brain areas: the first unit property of :data:`AREA_PROPERTIES` that holds text, else "unknown".
- quality metrics: the numeric one-value-per-unit properties of the sorting, and the columns of the
  analyzer's ``quality_metrics`` extension.
- waveform width: the metric ``waveform_duration_ms``, the trough-to-peak duration (ms) of each unit's
  template, from the analyzer's ``template_metrics`` extension (``peak_to_trough_duration``), else computed
  in memory from its ``templates`` extension (the folder is not written); absent without templates.
- span: from 0 to the end of the recording (the analyzer's number of samples), else to the last spike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from napari_neurorbm.data.session import UNKNOWN_AREA, Session
from napari_neurorbm.errors import NeuroRBMError

AREA_PROPERTIES = ("brain_area", "brain_region", "structure_acronym", "area", "region", "location")
WIDTH_METRIC = "waveform_duration_ms"
WIDTH_COLUMNS = ("peak_to_trough_duration", "peak_to_valley")  # seconds; the second is the older name
INSTALL = "pip install 'napari-neurorbm[spikeinterface]'"


def is_spikeinterface_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a saved SpikeInterface object (without importing spikeinterface)."""
    if (folder / "spikeinterface_info.json").is_file() or (folder / "si_folder.json").is_file():
        return True
    attrs = _json(folder / ".zattrs")
    return "spikeinterface_info" in attrs or "zarr_class_info" in attrs


def load_spikeinterface(folder: str | Path) -> Session:
    """The units of a SpikeInterface sorting or SortingAnalyzer folder (see the module's docstring)."""
    folder = Path(folder).expanduser()
    si = _import()
    _check_declared_rate(folder)
    try:
        loaded = si.load(folder, load_extensions=False)
    except Exception as exc:  # spikeinterface raises many kinds of errors for an unreadable folder
        if "sampling_frequency" in str(exc):
            raise _no_rate(folder) from None
        unreadable = f"{folder.name}: not a readable SpikeInterface folder ({_first_line(exc)})"
        raise NeuroRBMError(unreadable) from None
    analyzer = loaded if isinstance(loaded, si.SortingAnalyzer) else None
    sorting = loaded.sorting if analyzer is not None else loaded
    if not isinstance(sorting, si.BaseSorting):
        kind = type(loaded).__name__
        raise NeuroRBMError(f"{folder.name}: holds a SpikeInterface {kind}, not a sorting or an analyzer")
    rate = _rate(sorting, folder)
    times, index = _spike_trains(sorting, rate, folder)
    metrics = pd.concat([_property_metrics(sorting), _analyzer_metrics(analyzer, sorting.unit_ids)], axis=1)
    last = float(times.max()) if len(times) else 0.0
    stop = analyzer.get_num_samples(0) / rate if analyzer is not None else last
    try:
        return Session(
            name=folder.name,
            source=str(folder),
            unit_ids=np.asarray(sorting.unit_ids),
            areas=_areas(sorting),
            start_s=0.0,
            stop_s=max(stop, last),
            spike_times=times,
            spike_index=index,
            metrics=metrics.reset_index(drop=True),
        )
    except NeuroRBMError as exc:
        raise NeuroRBMError(f"{folder.name}: {str(exc).removeprefix(folder.name + ': ')}") from None


def _import() -> Any:
    try:
        import spikeinterface.core as si
    except ImportError:
        raise NeuroRBMError(f"reading a SpikeInterface folder needs spikeinterface: {INSTALL}") from None
    return si


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _no_rate(folder: Path) -> NeuroRBMError:
    return NeuroRBMError(
        f"{folder.name}: the sorting has no sampling frequency, so its spike times (in samples) cannot be "
        "put in seconds"
    )


def _check_declared_rate(folder: Path) -> None:
    """A sorting whose files declare no positive sampling frequency cannot be loaded: say so before
    spikeinterface fails on it with a TypeError or KeyError."""
    for info in (folder / "numpysorting_info.json", folder / "sorting" / "numpysorting_info.json"):
        if info.is_file() and not _positive(_json(info).get("sampling_frequency")):
            raise _no_rate(folder)
    attrs = _json(folder / ".zattrs")
    if "zarr_class_info" in attrs and not _positive(attrs.get("sampling_frequency")):
        raise _no_rate(folder)


def _positive(value: object) -> bool:
    try:
        return bool(np.isfinite(float(value)) and float(value) > 0)
    except (TypeError, ValueError):
        return False


def _rate(sorting: Any, folder: Path) -> float:
    rate = sorting.get_sampling_frequency()
    if not _positive(rate):
        raise _no_rate(folder)
    return float(rate)


def _spike_trains(sorting: Any, rate: float, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Flat spike times (s) grouped by unit, sorted within each, and the ragged index."""
    if sorting.get_num_segments() != 1:
        raise NeuroRBMError(
            f"{folder.name}: the sorting has {sorting.get_num_segments()} segments; only one-segment "
            "sortings are read (split it with sorting.select_segments)"
        )
    spikes = sorting.to_spike_vector()
    order = np.argsort(spikes["unit_index"], kind="stable")  # the vector is sorted by sample already
    times = spikes["sample_index"][order].astype(np.float64) / rate
    counts = np.bincount(spikes["unit_index"], minlength=len(sorting.unit_ids))
    return times, np.r_[0, np.cumsum(counts)].astype(np.int64)


def _areas(sorting: Any) -> np.ndarray:
    keys = sorting.get_property_keys()
    for key in AREA_PROPERTIES:
        values = np.asarray(sorting.get_property(key)) if key in keys else None
        if values is not None and values.ndim == 1 and values.dtype.kind in "OSU":
            names = np.char.strip(values.astype(str))
            missing = np.isin(np.char.lower(names), ["", "nan", "none", "null", "n/a"])
            return np.where(missing, UNKNOWN_AREA, names)
    return np.full(len(sorting.unit_ids), UNKNOWN_AREA)


def _property_metrics(sorting: Any) -> pd.DataFrame:
    """Numeric one-value-per-unit properties (ids and positions left out)."""
    columns = {}
    for key in sorting.get_property_keys():
        values = np.asarray(sorting.get_property(key))
        if values.ndim == 1 and values.dtype.kind in "biuf" and not key.endswith("_id"):
            columns[key] = values.astype(np.float64)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(sorting.unit_ids)))


def _analyzer_metrics(analyzer: Any, unit_ids: np.ndarray) -> pd.DataFrame:
    """The quality_metrics extension's numeric columns and the waveform width, one row per unit."""
    out = pd.DataFrame(index=pd.RangeIndex(len(unit_ids)))
    if analyzer is None:
        return out
    if analyzer.has_extension("quality_metrics"):
        table = analyzer.get_extension("quality_metrics").get_data().reindex(unit_ids)
        for name in table.columns:
            values = pd.to_numeric(table[name], errors="coerce")
            if values.notna().any():
                out[name] = values.to_numpy(np.float64)
    widths = _widths_s(analyzer)
    if widths is not None:
        out[WIDTH_METRIC] = widths.reindex(unit_ids).to_numpy(np.float64) * 1e3
    return out


def _widths_s(analyzer: Any) -> pd.Series | None:
    """Trough-to-peak duration (s) per unit id: the saved template_metrics, else computed from the
    templates without saving; None without templates."""
    if analyzer.has_extension("template_metrics"):
        table = analyzer.get_extension("template_metrics").get_data()
        column = next((c for c in WIDTH_COLUMNS if c in table.columns), None)
        if column is not None:
            return table[column]
    if not analyzer.has_extension("templates"):
        return None
    analyzer.get_extension("templates")  # loaded from the folder, for the computation below
    metrics = analyzer.compute("template_metrics", metric_names=[WIDTH_COLUMNS[0]], save=False)
    return metrics.get_data()[WIDTH_COLUMNS[0]]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__
