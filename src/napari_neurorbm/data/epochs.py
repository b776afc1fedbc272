"""Epochs (time intervals: trials, stimulus presentations and blocks) and events (times with a label) of a
session, and the choice of the time window by them.

:class:`Epochs` holds two tables, in seconds on the recording's clock:

- ``intervals``: one row per interval, with ``start_s``, ``stop_s``, ``table`` (the interval table it came
  from, e.g. ``trials`` or Allen's ``spontaneous_presentations``), ``block`` (Allen's stimulus block, -1
  where there is none), ``label`` (the image or stimulus shown, ``trial <id>`` for a trial) and every other
  one-value column of its table (``is_change``, ``omitted``, ``go``, ``stimulus_block``...; numbers and flags
  as float, NaN where a table lacks the column; text as str, "" where it does);
- ``events``: one row per event, with ``time_s``, ``kind`` (``change``, ``omitted``, ``trial start``, a
  trials time column such as ``reward_time``) and ``label``.

A window restricted by epochs (:func:`restrict`) is a list of stretches: a run of selected intervals that
follow each other in one stimulus block spans from the first one's start to the last one's stop (so a block
is one stretch, gray screen between flashes included, not one per flash); an interval without a block (a
trial) is a stretch of its own; stretches that overlap or touch are merged.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from napari_neurorbm.errors import NeuroRBMError

START, STOP, TABLE, BLOCK, LABEL = "start_s", "stop_s", "table", "block", "label"
TIME, KIND = "time_s", "kind"
CORE = (START, STOP, TABLE, BLOCK, LABEL)
NO_BLOCK = -1
PRESENTATIONS = "_presentations"  # Allen's stimulus tables are <stimulus>_presentations
ARRAY_PREFIX = "epoch_"  # of the binned npz arrays (docs/data.md)
COLUMN_PREFIX = "epoch_col_"
EVENT_PREFIX = "epoch_event_"
SHOWN_VALUES = 8  # values of a column listed in a message
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass
class Epochs:
    """The intervals and events of a session (see the module docstring); checked when made."""

    intervals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(CORE)))
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[TIME, KIND, LABEL]))

    def __post_init__(self) -> None:
        self.intervals = _checked_intervals(self.intervals)
        events = self.events.reset_index(drop=True)
        times = pd.to_numeric(events[TIME], errors="coerce").to_numpy(np.float64)
        kinds = events[KIND].astype(str).to_numpy()
        order = np.lexsort((times, pd.factorize(kinds)[0]))  # kinds in order of appearance, each in time
        order = order[np.isfinite(times[order])]  # NaN: no such event (e.g. no reward in that trial)
        self.events = pd.DataFrame({TIME: times[order], KIND: kinds[order],
                                    LABEL: events[LABEL].astype(str).to_numpy()[order]})

    def __len__(self) -> int:
        return len(self.intervals) + len(self.events)

    @property
    def columns(self) -> list[str]:
        """The columns an interval can be chosen by (``--epoch-column``): all but its start and stop."""
        return [c for c in self.intervals.columns if c not in (START, STOP)]

    def kinds(self) -> list[str]:
        """The kinds of events, in order of first appearance in the tables."""
        return list(pd.unique(self.events[KIND]))

    def event_times(self, kind: str) -> np.ndarray:
        """Sorted times (s) of the events of ``kind``."""
        return self.events.loc[self.events[KIND] == kind, TIME].to_numpy(np.float64)

    def names(self) -> list[str]:
        """What ``--epoch`` takes: the tables, the stimulus names of Allen's presentations, and the blocks."""
        tables = list(pd.unique(self.intervals[TABLE]))
        short = {t.removesuffix(PRESENTATIONS) for t in tables}
        stimuli = []
        if "stimulus_name" in self.intervals:
            stimuli = [s for s in pd.unique(self.intervals["stimulus_name"]) if s and s not in short]
        blocks = sorted({int(b) for b in self.intervals[BLOCK] if b != NO_BLOCK})
        return [*tables, *stimuli, *(f"block {b}" for b in blocks)]

    def describe(self) -> str:
        """'143 intervals: trials 7, ... (blocks 0, 1, 2); 43 events: change 14, ...' (what --epoch and the
        peri-event plot can use)."""
        tables = ", ".join(f"{t} {n}" for t, n in self.intervals[TABLE].value_counts(sort=False).items())
        blocks = sorted({int(b) for b in self.intervals[BLOCK] if b != NO_BLOCK})
        in_blocks = f" (blocks {', '.join(map(str, blocks))})" if blocks else ""
        kinds = ", ".join(f"{k} {n}" for k, n in self.events[KIND].value_counts(sort=False).items())
        return (f"{len(self.intervals)} intervals: {tables or 'none'}{in_blocks}; {len(self.events)} events: "
                f"{kinds or 'none'}")

    def select(self, name: str | None = None, column: str | None = None,
               value: str | None = None) -> np.ndarray:
        """Rows of ``intervals`` named by ``name`` (:meth:`names`; a presentations table also by its name
        without ``_presentations``) whose ``column`` holds ``value`` (numbers and flags compared as numbers,
        ``true``/``false`` as 1/0); a one-line NeuroRBMError when nothing matches."""
        keep = np.ones(len(self.intervals), dtype=bool)
        if name is not None:
            keep &= self._named(name)
        if column is not None:
            keep &= self._valued(column, value)
        if not keep.any():
            raise NeuroRBMError(f"no interval is both in epoch '{name}' and has {column} = {value}")
        return keep

    def stretches(self, rows: np.ndarray) -> np.ndarray:
        """(start, stop) of each stretch of the selected ``rows`` (a mask), sorted and merged (module
        docstring)."""
        idx = np.flatnonzero(rows)
        if not idx.size:
            return np.zeros((0, 2))
        table = self.intervals[TABLE].to_numpy()[idx]
        block = self.intervals[BLOCK].to_numpy()[idx]
        first = np.flatnonzero(np.r_[True, (np.diff(idx) != 1) | (table[1:] != table[:-1])
                                     | (block[1:] != block[:-1]) | (block[1:] == NO_BLOCK)])
        starts = np.minimum.reduceat(self.intervals[START].to_numpy()[idx], first)
        stops = np.maximum.reduceat(self.intervals[STOP].to_numpy()[idx], first)
        return merge_spans(np.column_stack([starts, stops]))

    def within(self, start: float, stop: float, name: str) -> Epochs:
        """These epochs without the events outside the recording [start, stop], with a warning saying how
        many were left out (stimulus tables often run past the sorted spikes; an event there has nothing to
        show or to align to)."""
        t = self.events[TIME].to_numpy()
        outside = (t < start) | (t > stop)
        if not outside.any():
            return self
        first = self.events[outside].iloc[0]
        warnings.warn(
            f"{name}: {int(outside.sum())} of {len(t)} events lie outside the recording "
            f"({start:g}-{stop:g} s) and are left out (the first: {first[KIND]} at {first[TIME]:g} s)",
            stacklevel=3,
        )
        return Epochs(self.intervals, self.events[~outside])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The ``epoch_*`` arrays of a binned npz (docs/data.md)."""
        iv, ev = self.intervals, self.events
        out = {
            f"{ARRAY_PREFIX}{START}": iv[START].to_numpy(np.float64),
            f"{ARRAY_PREFIX}{STOP}": iv[STOP].to_numpy(np.float64),
            f"{ARRAY_PREFIX}{TABLE}": iv[TABLE].to_numpy(str),
            f"{ARRAY_PREFIX}{BLOCK}": iv[BLOCK].to_numpy(np.int64),
            f"{ARRAY_PREFIX}{LABEL}": iv[LABEL].to_numpy(str),
            f"{EVENT_PREFIX}{TIME}": ev[TIME].to_numpy(np.float64),
            f"{EVENT_PREFIX}{KIND}": ev[KIND].to_numpy(str),
            f"{EVENT_PREFIX}{LABEL}": ev[LABEL].to_numpy(str),
        }
        for c in iv.columns.difference(CORE, sort=False):
            out[f"{COLUMN_PREFIX}{c}"] = iv[c].to_numpy(np.float64 if iv[c].dtype.kind == "f" else str)
        return out

    def _named(self, name: str) -> np.ndarray:
        iv = self.intervals
        table = iv[TABLE].to_numpy(str)
        hit = (table == name) | (table == name + PRESENTATIONS)
        if "stimulus_name" in iv:
            hit |= iv["stimulus_name"].to_numpy(str) == name
        block = name.removeprefix("block").strip()
        if name.startswith("block") and block.lstrip("-").isdigit():
            hit |= iv[BLOCK].to_numpy() == int(block)
        if not hit.any():
            raise NeuroRBMError(f"no epoch '{name}' (the session has: {', '.join(self.names()) or 'none'})")
        return hit

    def _valued(self, column: str, value: str | None) -> np.ndarray:
        if column not in self.columns:
            have = ", ".join(self.columns)
            raise NeuroRBMError(f"no interval table has a column '{column}' (they have: {have})")
        if value is None:
            raise NeuroRBMError(f"the epoch column '{column}' needs an epoch value to keep (e.g. True, 5)")
        values = self.intervals[column]
        hit = _equal(values, value)
        if not hit.any():
            held = [_shown(v) for v in pd.unique(values) if _shown(v) != ""]
            more = ", ..." if len(held) > SHOWN_VALUES else ""
            raise NeuroRBMError(f"no interval has {column} = {value} ({column} holds: "
                                f"{', '.join(held[:SHOWN_VALUES])}{more})")
        return hit


def restrict(epochs: Epochs | None, start: float, stop: float, name: str | None = None,
             column: str | None = None, value: str | None = None, source: str = "the session") -> np.ndarray:
    """The stretches (k x 2, seconds, sorted) of the window [start, stop] that the epochs chosen by ``name``
    and/or ``column`` = ``value`` cover; the whole window when none is chosen."""
    if name is None and column is None:
        if value is not None:
            raise NeuroRBMError(f"an epoch value ('{value}') needs an epoch column to look it up in")
        return np.array([[start, stop]], dtype=np.float64)
    if epochs is None or not len(epochs.intervals):
        raise NeuroRBMError(f"{source} has no epochs (no interval table such as trials) to choose a "
                            "window by")
    spans = epochs.stretches(epochs.select(name, column, value))
    spans = np.column_stack([np.maximum(spans[:, 0], start), np.minimum(spans[:, 1], stop)])
    spans = spans[spans[:, 1] > spans[:, 0]]
    if not len(spans):
        chosen = " and ".join(p for p in (name and f"epoch '{name}'", column and f"{column} = {value}") if p)
        raise NeuroRBMError(f"{chosen} lies outside the time window ({start:g}-{stop:g} s)")
    return spans


def merge_spans(spans: np.ndarray) -> np.ndarray:
    """(start, stop) rows sorted by start, those that overlap or touch merged into one."""
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    out: list[list[float]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def epochs_from_arrays(f: dict[str, np.ndarray], name: str) -> Epochs | None:
    """The Epochs of a binned npz's ``epoch_*`` arrays (None when it has none); a one-line error when their
    lengths disagree."""
    key = f"{ARRAY_PREFIX}{START}"
    if key not in f:
        return None
    n, m = len(f[key]), len(f.get(f"{EVENT_PREFIX}{TIME}", ()))
    want = {f"{ARRAY_PREFIX}{c}": n for c in CORE} | {f"{EVENT_PREFIX}{c}": m for c in (TIME, KIND, LABEL)}
    want |= {k: n for k in f if k.startswith(COLUMN_PREFIX)}
    for k, length in want.items():
        if k not in f or np.asarray(f[k]).shape != (length,):
            raise NeuroRBMError(f"{name}: '{k}' must be an array of {length} entries beside '{key}'")
    intervals = {c: f[f"{ARRAY_PREFIX}{c}"] for c in CORE}
    intervals |= {k.removeprefix(COLUMN_PREFIX): f[k] for k in f if k.startswith(COLUMN_PREFIX)}
    events = {c: f[f"{EVENT_PREFIX}{c}"] for c in (TIME, KIND, LABEL)}
    try:
        return Epochs(pd.DataFrame(intervals), pd.DataFrame(events))
    except NeuroRBMError as exc:
        raise NeuroRBMError(f"{name}: {exc}") from None


def _checked_intervals(iv: pd.DataFrame) -> pd.DataFrame:
    """Intervals with their core columns typed, other columns as float or str, each checked for NaN and
    ends before starts (a one-line NeuroRBMError naming the table and the interval)."""
    iv = iv.reset_index(drop=True)
    missing = [c for c in (START, STOP, TABLE) if c not in iv]
    if missing:
        raise NeuroRBMError(f"intervals need the columns {', '.join(missing)}")
    out = pd.DataFrame({
        START: pd.to_numeric(iv[START], errors="coerce").to_numpy(np.float64),
        STOP: pd.to_numeric(iv[STOP], errors="coerce").to_numpy(np.float64),
        TABLE: iv[TABLE].astype(str).to_numpy(),
        BLOCK: _numbers(iv.get(BLOCK, pd.Series(NO_BLOCK, index=iv.index)), NO_BLOCK).astype(np.int64),
        LABEL: _texts(iv.get(LABEL, iv[TABLE])),
    })
    for c in iv.columns.difference(CORE, sort=False):
        out[c] = _column(iv[c])
    for table, rows in out.groupby(TABLE, sort=False):
        start, stop = rows[START].to_numpy(), rows[STOP].to_numpy()
        nan = ~(np.isfinite(start) & np.isfinite(stop))
        if nan.any():
            raise NeuroRBMError(f"interval table '{table}': {int(nan.sum())} of {len(rows)} intervals have "
                                f"NaN or infinite start or stop times (the first: interval "
                                f"{int(np.argmax(nan))})")
        bad = stop < start
        if bad.any():
            i = int(np.argmax(bad))
            raise NeuroRBMError(f"interval table '{table}': {int(bad.sum())} intervals end before they start "
                                f"(the first: interval {i}, {start[i]:g} s to {stop[i]:g} s)")
    return out


def _column(values: pd.Series) -> np.ndarray:
    """A table's column as float (numbers and flags; NaN for missing) or as str ("" for missing)."""
    if values.dtype.kind in "biuf":
        return values.to_numpy(np.float64)
    present = values.dropna()
    if all(isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)) for v in present):
        return _numbers(values, np.nan)
    return _texts(values)


def _numbers(values, missing: float) -> np.ndarray:
    out = pd.to_numeric(pd.Series(values).astype(object).map(_number), errors="coerce").to_numpy(np.float64)
    return np.where(np.isnan(out), missing, out)


def _number(v):
    return float(v) if isinstance(v, (bool, np.bool_)) else v


def _texts(values) -> np.ndarray:
    s = pd.Series(values).astype(object)
    return s.where(s.notna(), "").astype(str).to_numpy()


def _equal(values: pd.Series, text: str) -> np.ndarray:
    """Rows of ``values`` equal to ``text``: as numbers (flags as 0/1) in a numeric column, else as text."""
    if values.dtype.kind != "f":
        return values.to_numpy(str) == text
    word = text.strip().lower()
    if word in _TRUE or word in _FALSE:
        return values.to_numpy() == float(word in _TRUE)
    try:
        return values.to_numpy() == float(word)
    except ValueError:
        return np.zeros(len(values), dtype=bool)


def _shown(v) -> str:
    """A column value as a message shows it: 1.0 as 1, NaN as nothing."""
    if isinstance(v, float):
        return "" if np.isnan(v) else f"{v:g}"
    return str(v)
