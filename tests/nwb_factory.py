"""Small NWB files written with pynwb, in the Allen Visual Behavior Neuropixels layout or a generic one, with
interval tables (a trials table, Allen's <stimulus>_presentations) where asked."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.epoch import TimeIntervals

CHANNEL_ID0 = 1000  # Allen channel ids are large numbers, not row indices


def write_nwb(
    path: str | Path,
    spike_times: list[np.ndarray],
    areas: list[str] | None,
    *,
    allen_layout: bool = True,
    metrics: dict[str, list[float]] | None = None,
    unit_ids=None,
    area_column: str | None = None,
    acquisition_bytes: int = 0,
    intervals: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write one unit per entry of ``spike_times`` and return the path.

    ``allen_layout``: area via ``peak_channel_id`` -> electrodes ``id``/``location`` (one channel per unit,
    ids from 1000); otherwise via the units' ``electrodes`` region. ``area_column`` writes the areas as a
    units column of that name instead (no electrodes). An empty area leaves that unit without a channel;
    ``areas=None`` writes no area information at all. ``acquisition_bytes`` adds an uncompressed acquisition
    series of that many zero bytes (the bulk of a real file, which the plugin never reads). ``intervals``:
    interval tables by name, each a DataFrame with start_time, stop_time and other columns (``trials`` is
    written as the file's trials table; see :func:`allen_intervals`).
    """
    path = Path(path)
    n = len(spike_times)
    ids = list(range(n)) if unit_ids is None else [int(i) for i in unit_ids]
    nwb = NWBFile(
        session_description="test session",
        identifier=path.stem,
        session_start_time=datetime(2021, 1, 1, tzinfo=timezone.utc),
    )
    if acquisition_bytes:
        zeros = np.zeros(acquisition_bytes, dtype=np.uint8)
        nwb.add_acquisition(TimeSeries(name="raw", data=zeros, unit="a.u.", rate=30_000.0))
    per_unit: list[dict] = [{} for _ in range(n)]
    if areas is not None and area_column is None:
        device = nwb.create_device("probeA")
        group = nwb.create_electrode_group("probeA", description="test probe", location="", device=device)
        rows = {}
        for i, area in enumerate(areas):
            if area:  # an empty area leaves the unit's channel out of the electrodes table
                rows[i] = len(rows)
                nwb.add_electrode(id=CHANNEL_ID0 + i, location=area, group=group)
        if allen_layout:
            nwb.add_unit_column("peak_channel_id", "id of the channel with the largest waveform")
        for i in range(n):
            link = [rows[i]] if i in rows else []
            per_unit[i] = {"peak_channel_id": CHANNEL_ID0 + i} if allen_layout else {"electrodes": link}
    elif areas is not None:
        nwb.add_unit_column(area_column, "brain area of the unit")
        for i in range(n):
            per_unit[i] = {area_column: areas[i]}
    for name, values in (metrics or {}).items():
        nwb.add_unit_column(name, f"quality metric {name}")
        for i in range(n):
            per_unit[i][name] = values[i]
    for i in range(n):
        nwb.add_unit(spike_times=np.asarray(spike_times[i], dtype=np.float64), id=ids[i], **per_unit[i])
    for name, table in (intervals or {}).items():
        _add_intervals(nwb, name, table)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _add_intervals(nwb: NWBFile, name: str, table: pd.DataFrame) -> None:
    """One interval table, row by row as pynwb wants it (values as given: no check of their order)."""
    extra = [c for c in table.columns if c not in ("start_time", "stop_time")]
    if name == "trials":
        for column in extra:
            nwb.add_trial_column(column, f"trial column {column}")
        add = nwb.add_trial
    else:
        intervals = TimeIntervals(name=name, description=f"presentations of {name}")
        for column in extra:
            intervals.add_column(column, f"column {column}")
        nwb.add_time_intervals(intervals)
        add = intervals.add_interval
    for row in table.itertuples(index=False):
        values = row._asdict()
        add(**{k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()})


IMAGES = "Natural_Images_Lum_Matched_set_ophys_G_2019"


def allen_intervals(duration_s: float = 120.0) -> dict[str, pd.DataFrame]:
    """Interval tables as in a VBN session, scaled to ``duration_s``: the images (block 0, active, 40 % of the
    time; replayed passively as block 3 in the last 40 %), spontaneous activity (block 1), full-field flashes
    (block 2); flashes of 0.25 s every 0.75 s, an image change every 8th flash, every 10th flash omitted;
    and a trials table over block 0 (one trial per 8 flashes; go where the image changed, rewarded every
    other)."""
    d = duration_s
    images, trials = [], []
    for block, (a, b) in ((0, (0.0, 0.4 * d)), (3, (0.6 * d, d))):
        onsets = np.arange(a, b - 0.25, 0.75)
        for k, t in enumerate(onsets):
            change = k % 8 == 0 and k > 0
            omitted = k % 10 == 5
            image = "omitted" if omitted else f"im{(k // 8) % 3:03d}"
            images.append((t, t + 0.25, block, IMAGES, image, change, omitted, block == 0))
        if block == 0:
            for j, t in enumerate(onsets[::8]):
                go = j > 0
                reward = t + 0.4 if go and j % 2 == 0 else np.nan
                trials.append((t, min(t + 6.0, b), go, t if go else np.nan, reward))
    columns = ["start_time", "stop_time", "stimulus_block", "stimulus_name", "image_name", "is_change",
               "omitted", "active"]
    flashes = np.arange(0.5 * d, 0.6 * d - 0.25, 2.0)
    return {
        f"{IMAGES}_presentations": pd.DataFrame(images, columns=columns),
        "spontaneous_presentations": pd.DataFrame(
            {"start_time": [0.4 * d], "stop_time": [0.5 * d], "stimulus_block": [1],
             "stimulus_name": ["spontaneous"]}),
        "flash_250ms_presentations": pd.DataFrame(
            {"start_time": flashes, "stop_time": flashes + 0.25, "stimulus_block": 2,
             "stimulus_name": "flash_250ms"}),
        "trials": pd.DataFrame(trials,
                               columns=["start_time", "stop_time", "go", "change_time", "reward_time"]),
    }
