"""Small NWB files written with pynwb, in the Allen Visual Behavior Neuropixels layout or a generic one."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pynwb import NWBHDF5IO, NWBFile, TimeSeries

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
) -> Path:
    """Write one unit per entry of ``spike_times`` and return the path.

    ``allen_layout``: area via ``peak_channel_id`` -> electrodes ``id``/``location`` (one channel per unit,
    ids from 1000); otherwise via the units' ``electrodes`` region. ``area_column`` writes the areas as a
    units column of that name instead (no electrodes). An empty area leaves that unit without a channel;
    ``areas=None`` writes no area information at all. ``acquisition_bytes`` adds an uncompressed acquisition
    series of that many zero bytes (the bulk of a real file, which the plugin never reads).
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
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path
