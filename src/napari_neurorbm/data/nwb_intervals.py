"""The interval tables of an NWB file (``/intervals/*``: ``trials``, ``epochs``, Allen's
``<stimulus>_presentations``) as :class:`~napari_neurorbm.data.epochs.Epochs`, read with h5py (also from a
streamed file: only these tables' columns travel).

Every one-value column of a table is kept (ragged columns, references and ids are not); an interval's label
is its image or stimulus (presentations), ``trial <id>`` (trials), else its tags (NWB's ``epochs``). Events:

- Allen's presentations (a table with ``stimulus_name`` or named ``*_presentations``): ``change`` at each
  presentation with ``is_change`` (labelled with its image), ``omitted`` at each one with ``omitted``;
- ``trials``: ``trial start`` at each trial's start, and one kind per numeric time column of the trials
  (``change_time``, ``reward_time``, ``response_time``, ...: a column named ``*_time`` or ``*_times``; NaN,
  as in a trial without a reward, is no event).
"""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

from napari_neurorbm.data.epochs import KIND, LABEL, NO_BLOCK, PRESENTATIONS, START, STOP, TABLE, TIME, Epochs
from napari_neurorbm.errors import NeuroRBMError

TRIALS = "trials"
_SKIP = {"id", "start_time", "stop_time", "tags", "timeseries"}
_FLAG_EVENTS = {"is_change": "change", "omitted": "omitted"}


def read_intervals(f: h5py.File, name: str) -> Epochs | None:
    """The file's interval tables as Epochs (None when it has none); a one-line error, prefixed by the file's
    ``name``, for a table with NaN times or intervals that end before they start."""
    group = f.get("intervals")
    if not isinstance(group, h5py.Group):
        return None
    intervals, events = [], []
    for key, table in group.items():
        if isinstance(table, h5py.Group) and "start_time" in table and "stop_time" in table:
            rows, found = _table(table, key)
            intervals.append(rows)
            events += found
    if not intervals:
        return None
    order = np.argsort([rows[START].min() if len(rows) else np.inf for rows in intervals], kind="stable")
    intervals = [intervals[i] for i in order]  # tables in the order they begin
    try:
        no_events = pd.DataFrame(columns=[TIME, KIND, LABEL])
        return Epochs(pd.concat(intervals, ignore_index=True),
                      pd.concat(events, ignore_index=True) if events else no_events)
    except NeuroRBMError as exc:
        raise NeuroRBMError(f"{name}: {exc}") from None


def _table(table: h5py.Group, key: str) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """One interval table's rows (sorted by start) and the events they hold."""
    start = np.asarray(table["start_time"][()], dtype=np.float64).reshape(-1)
    n = len(start)
    stop = np.asarray(table["stop_time"][()], dtype=np.float64).reshape(-1)
    if stop.shape != (n,):
        raise NeuroRBMError(f"interval table '{key}': {stop.size} stop times for {n} start times")
    columns = {c: _values(ds) for c, ds in table.items() if _plain(table, c, n)}
    ids = np.asarray(table["id"][()]) if "id" in table else np.arange(n)
    rows = pd.DataFrame({START: start, STOP: stop, TABLE: key, **columns})
    presentations = key.endswith(PRESENTATIONS) or "stimulus_name" in columns
    if "stimulus_block" in columns:
        rows["block"] = pd.to_numeric(pd.Series(columns["stimulus_block"]), errors="coerce").fillna(NO_BLOCK)
    rows[LABEL] = _labels(rows, key, ids, presentations, _tags(table, n))
    rows = rows.iloc[np.argsort(start, kind="stable")].reset_index(drop=True)
    return rows, _events(rows, key, presentations)


def _plain(table: h5py.Group, column: str, n: int) -> bool:
    """A one-value-per-row column of numbers, flags or text (not ragged, not a reference, not an id)."""
    ds = table[column]
    return (
        column not in _SKIP
        and not column.endswith("_index")
        and f"{column}_index" not in table
        and isinstance(ds, h5py.Dataset)
        and ds.shape == (n,)
        and (ds.dtype.kind in "biuf" or h5py.check_string_dtype(ds.dtype) is not None)
    )


def _values(ds: h5py.Dataset) -> np.ndarray:
    return np.asarray(ds.asstr()[()], dtype=object) if ds.dtype.kind in "OSU" else ds[()]


def _tags(table: h5py.Group, n: int) -> list[str] | None:
    """Each row's tags (NWB's ragged text column, as in the ``epochs`` table) joined by commas; None without
    them."""
    if "tags" not in table or "tags_index" not in table:
        return None
    if h5py.check_string_dtype(table["tags"].dtype) is None:
        return None
    words = table["tags"].asstr()[()]
    ends = np.asarray(table["tags_index"][()], dtype=np.int64)
    if ends.shape != (n,):
        return None
    return [", ".join(words[a:b]) for a, b in zip(np.r_[0, ends[:-1]], ends, strict=True)]


def _labels(rows: pd.DataFrame, key: str, ids: np.ndarray, presentations: bool,
            tags: list[str] | None) -> np.ndarray:
    """What each interval shows: its image (else its stimulus) for a presentation, ``trial <id>`` for a trial,
    its tags (else the table's name) otherwise."""
    if key == TRIALS:
        return np.array([f"trial {i}" for i in ids], dtype=object)
    label = pd.Series(key.removesuffix(PRESENTATIONS), index=rows.index, dtype=object)
    if tags is not None and not presentations:
        named = pd.Series(tags, index=rows.index)
        label = label.where(named == "", named)
    for column in ("stimulus_name", "image_name") if presentations else ():
        if column in rows:
            text = rows[column].astype(object)
            named = text.notna() & ~text.astype(str).str.lower().isin(["", "nan", "none", "n/a"])
            label = label.where(~named, text)
    return label.astype(str).to_numpy()


def _events(rows: pd.DataFrame, key: str, presentations: bool) -> list[pd.DataFrame]:
    """The events one table holds (module docstring)."""
    found = []
    if presentations:
        for column, kind in _FLAG_EVENTS.items():
            if column in rows:
                hit = rows[column].fillna(False).astype(bool).to_numpy()
                label = rows[LABEL] if kind == "change" else kind
                found.append(pd.DataFrame({TIME: rows[START], KIND: kind, LABEL: label})[hit])
    if key == TRIALS:
        found.append(pd.DataFrame({TIME: rows[START], KIND: "trial start", LABEL: rows[LABEL]}))
        for column in rows.columns:
            if column.endswith(("_time", "_times")) and rows[column].dtype.kind == "f":
                found.append(pd.DataFrame({TIME: rows[column], KIND: column, LABEL: rows[LABEL]}))
    return found
