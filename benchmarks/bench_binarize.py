"""Binarizing an hour-long NWB session against a plain numpy/h5py script, in the same run.

Writes a 1500-unit, one-hour, 30-million-spike NWB file in the Allen layout (h5py directly, to a temp dir),
then times, each in a fresh subprocess and alternating: (a) a plain script that reads all spike times and bins
them, (b) ``binarize(load_nwb(path))``; and reads the peak memory (ru_maxrss) of each.
Requirement: (b) <= 2 x (a) and (b) < 2 GB. Updates the ``bench:binarize`` section of docs/performance.md.

    .venv/bin/python benchmarks/bench_binarize.py [--units 1500 --seconds 3600 --spikes 30e6 --repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from _shared import update_docs

BIN_S = 0.020
MARK = "bench:binarize"
AREAS = ("VISp", "VISl", "VISal", "VISrl", "VISam", "VISpm", "LGd", "LP", "CA1", "CA3", "DG", "APN")

BASELINE = """
import h5py, numpy as np
with h5py.File(PATH, "r") as f:
    t = f["units/spike_times"][()]
    index = np.r_[0, f["units/spike_times_index"][()]]
start = t.min()
n_frames = int((t.max() - start) / BIN_S)
frames = ((t - start) / BIN_S).astype(np.int64)
counts = np.zeros((len(index) - 1, n_frames), dtype=np.uint8)
for u in range(len(index) - 1):
    f = frames[index[u] : index[u + 1]]
    counts[u] = np.minimum(np.bincount(f[f < n_frames], minlength=n_frames), 255)
shape = counts.shape
"""

OURS = """
from napari_neurorbm.data.binning import binarize
from napari_neurorbm.data.nwb import load_nwb
raster = binarize(load_nwb(PATH))
shape = raster.counts.shape
"""

RUNNER = """
import json, resource, sys, time
PATH, BIN_S = sys.argv[1], float(sys.argv[2])
{imports}
t0 = time.perf_counter()
exec(compile({body!r}, "bench", "exec"))
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": dt, "peak_bytes": rss, "shape": list(shape)}}))
"""


def write_session(path: Path, n_units: int, seconds: float, n_spikes: int, seed: int = 0) -> int:
    """An Allen-layout NWB: units (spike times, index, ids, peak channels, metrics) and electrodes."""
    rng = np.random.default_rng(seed)
    rates = rng.lognormal(0.0, 1.0, n_units)
    per_unit = np.floor(rates / rates.sum() * n_spikes).astype(np.int64)
    per_unit[: n_spikes - per_unit.sum()] += 1
    channels = rng.choice(np.arange(3 * n_units), n_units, replace=False) + 10_000
    with h5py.File(path, "w") as f:
        f.attrs.update({"namespace": "core", "neurodata_type": "NWBFile", "nwb_version": "2.6.0"})
        units = f.create_group("units")
        units.attrs.update({"namespace": "core", "neurodata_type": "Units"})
        times = units.create_dataset("spike_times", (n_spikes,), dtype=np.float64)
        pos = 0
        for n in per_unit:
            times[pos : pos + n] = np.sort(rng.uniform(0.0, seconds, n))
            pos += n
        units["spike_times_index"] = np.cumsum(per_unit).astype(np.uint64)
        units["id"] = np.arange(n_units, dtype=np.int64) + 950_000_000
        units["peak_channel_id"] = channels
        for name, values in {
            "firing_rate": per_unit / seconds,
            "isi_violations": rng.exponential(0.2, n_units),
            "amplitude_cutoff": rng.uniform(0, 0.5, n_units),
            "presence_ratio": rng.uniform(0.8, 1.0, n_units),
            "snr": rng.lognormal(1.0, 0.3, n_units),
        }.items():
            units[name] = values
        units.create_dataset(
            "quality", data=np.array(["good"] * n_units, dtype=object), dtype=h5py.string_dtype()
        )
        columns = ["spike_times", "peak_channel_id", "firing_rate", "isi_violations", "amplitude_cutoff"]
        units.attrs["colnames"] = [*columns, "presence_ratio", "snr", "quality"]
        ele = f.create_group("general/extracellular_ephys/electrodes")
        ele.attrs.update({"namespace": "core", "neurodata_type": "ElectrodesTable", "colnames": ["location"]})
        ele["id"] = np.arange(3 * n_units, dtype=np.int64) + 10_000
        ele.create_dataset(
            "location", data=rng.choice(AREAS, 3 * n_units).astype(object), dtype=h5py.string_dtype()
        )
    return int(per_unit.sum())


def run(body: str, imports: str, path: Path) -> dict:
    """One timed run in a fresh interpreter (imports outside the timed part)."""
    code = RUNNER.format(imports=imports, body=body)
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(BIN_S)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=1500, help="number of units (default 1500)")
    ap.add_argument("--seconds", type=float, default=3600.0, help="recording length in s (default 3600)")
    ap.add_argument("--spikes", type=float, default=30e6, help="total number of spikes (default 30e6)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each side (default 3)")
    ap.add_argument("--no-docs", action="store_true", help="print the figures without updating the docs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.nwb"
        t0 = time.perf_counter()
        n_spikes = write_session(path, args.units, args.seconds, int(args.spikes))
        write_s = time.perf_counter() - t0
        load_before = os.getloadavg()
        base, ours = [], []
        run(BASELINE, "", path)  # warm the page cache for both sides
        for _ in range(args.repeats):
            base.append(run(BASELINE, "import h5py, numpy", path))
            ours.append(run(OURS, "import napari_neurorbm.data.binning, napari_neurorbm.data.nwb", path))
        load_after = os.getloadavg()
        size_mb = path.stat().st_size / 1e6
    b = min(r["seconds"] for r in base)
    o = min(r["seconds"] for r in ours)
    mem_b = max(r["peak_bytes"] for r in base) / 2**30
    mem_o = max(r["peak_bytes"] for r in ours) / 2**30
    ok = o <= 2 * b and mem_o < 2.0
    text = f"""
## Binarizing an NWB session (`benchmarks/bench_binarize.py`)

{args.units} units, {args.seconds:g} s, {n_spikes:,} spikes ({size_mb:.0f} MB NWB in the Allen layout),
20 ms bins -> a {ours[0]["shape"][0]} x {ours[0]["shape"][1]} raster. Best of {args.repeats} runs each, each
run in a fresh process, imports not timed, file in the page cache. Machine: {platform.machine()},
{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before / {load_after[0]:.2f} after.

| | time (s) | peak memory (GiB) |
| --- | ---: | ---: |
| (a) plain numpy/h5py: read all spike times, bin per unit | {b:.2f} | {mem_b:.2f} |
| (b) `binarize(load_nwb(path))`: checks, bins, filters, orders, splits | {o:.2f} | {mem_o:.2f} |

Ratio (b)/(a) = {o / b:.2f} (requirement <= 2); peak memory of (b) {mem_o:.2f} GiB (requirement < 2 GB):
**{"met" if ok else "NOT met"}**. All timings (s): (a) {", ".join(f"{r['seconds']:.2f}" for r in base)};
(b) {", ".join(f"{r['seconds']:.2f}" for r in ours)}. Writing the test file took {write_s:.0f} s.

How (b) keeps up although it does more (validates the spike times, filters, orders the units by area and
activity, splits train/test): the spike times come in one h5py read; all units are binned together,
2^18 spikes at a time so that the temporaries stay in cache, from the sorted flat (unit, frame) keys and
their run lengths, with no per-unit Python loop; frame edges are compared exactly (no float64 copies of
all 30 M spikes); the rows are put in the neuron order in place instead of copying the raster.
On a shared machine the timings of both sides vary with the load; rerun when it is quiet.
"""
    print(text)
    if not args.no_docs:
        update_docs(MARK, text)


if __name__ == "__main__":
    main()
