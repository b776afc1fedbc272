"""Time to first raster for a remote NWB session: streamed (only the units' bytes) against downloaded whole.

Writes an NWB file in the Allen layout whose bulk is an acquisition series (as raw data, LFP and video are in
a real Visual Behavior Neuropixels file), serves it from a local HTTP server on 127.0.0.1 that honours Range
and counts the bytes it sends (tests/local_http.py), then times, as a user runs them (fresh processes, from
start to exit), alternating:

(a) streamed, empty cache: ``neurorbm binarize URL --out X.npz``;
(b) streamed again: the same command, its blocks now in the cache;
(c) downloaded whole first: the package's resumable download of the file (a fresh process), then
    ``neurorbm binarize FILE --out X.npz``.

Median of ``--repeats`` runs each; updates the ``bench:remote`` section of docs/performance.md. Over a real
network (tens of MB/s) the download's share grows with the file; over loopback both sides get the fastest
link.

    .venv/bin/python benchmarks/bench_remote.py [--units 400 --seconds 1200 --rate-hz 5 --bulk-mb 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _shared import ROOT, update_docs
from bench_binarize import load_note, neurorbm_command, run_command

sys.path.insert(0, str(ROOT / "tests"))
from local_http import FileServer
from nwb_factory import write_nwb

MARK = "bench:remote"
AREAS = ("VISp", "VISl", "LGd", "LP", "CA1", "CA3", "DG", "APN")
DOWNLOAD = (
    "import sys\nfrom napari_neurorbm.data.download import iter_download\n"
    "from napari_neurorbm.progress import drain\ndrain(iter_download(sys.argv[1], sys.argv[2]))\n"
)


def write_file(path: Path, units: int, seconds: float, rate_hz: float, bulk_bytes: int) -> int:
    """The session (Poisson spike trains, one area per unit) with ``bulk_bytes`` of raw data; its spikes."""
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, seconds, rng.poisson(rate_hz * seconds))) for _ in range(units)]
    areas = [AREAS[i % len(AREAS)] for i in range(units)]
    snr = list(rng.lognormal(1.0, 0.3, units))
    write_nwb(path, trains, areas, metrics={"snr": snr}, acquisition_bytes=bulk_bytes)
    return sum(len(t) for t in trains)


def timed(argv: list[str], server: FileServer) -> dict:
    """One command as a user runs it, and the bytes the server sent meanwhile."""
    before = server.behaviour.sent
    run = run_command(argv)
    return {**run, "bytes": server.behaviour.sent - before}


def measure(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "srv").mkdir()
        path = tmp / "srv" / "ecephys_session_1.nwb"
        t0 = time.perf_counter()
        spikes = write_file(path, args.units, args.seconds, args.rate_hz, int(args.bulk_mb * 1e6))
        write_s = time.perf_counter() - t0
        out = str(tmp / "raster.npz")
        binarize = [neurorbm_command(), "binarize"]
        runs: dict[str, list[dict]] = {"cold": [], "warm": [], "download": [], "local": []}
        loads = [os.getloadavg()[0]]
        with FileServer(tmp / "srv") as server:
            url = f"{server.url}/{path.name}"
            for r in range(args.repeats):
                os.environ["NEURORBM_CACHE_DIR"] = str(tmp / f"cache{r}")  # an empty cache per repeat
                runs["cold"].append(timed([*binarize, url, "--out", out], server))
                runs["warm"].append(timed([*binarize, url, "--out", out], server))
                local = tmp / "downloaded.nwb"
                runs["download"].append(timed([sys.executable, "-c", DOWNLOAD, url, str(local)], server))
                runs["local"].append(timed([*binarize, str(local), "--out", out], server))
                local.unlink()
        loads.append(os.getloadavg()[0])
        return {"size": path.stat().st_size, "spikes": spikes, "write_s": write_s, "loads": loads, **runs}


def median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def section(args: argparse.Namespace, f: dict) -> str:
    whole = [d["seconds"] + b["seconds"] for d, b in zip(f["download"], f["local"], strict=True)]
    cold, warm, full = median(f["cold"]), median(f["warm"]), statistics.median(whole)
    share = {k: median(f[k], "bytes") / f["size"] for k in ("cold", "warm")}
    listed = {k: ", ".join(f"{r['seconds']:.2f}" for r in f[k]) for k in ("cold", "warm")}
    return f"""
## Streaming a remote NWB session (`benchmarks/bench_remote.py`)

Time to first raster, as a user runs it (`neurorbm binarize ... --out X.npz`, a fresh process each, from its
start to its exit), for an NWB file in the Allen layout of {f["size"] / 1e6:.0f} MB: {args.units} units,
{args.seconds:g} s, {f["spikes"]:,} spikes, and {args.bulk_mb:g} MB of raw data that the plugin never reads.
It is served by a local HTTP server on 127.0.0.1 (loopback: the fastest link there is, which flatters the
whole download). Median of {args.repeats} runs each, alternating. Machine: {platform.machine()},
{os.cpu_count()} CPUs, shared with other jobs: load average {f["loads"][0]:.2f} before /
{f["loads"][1]:.2f} after. Writing the file took {f["write_s"]:.0f} s.
{load_note(tuple(f["loads"]))}
| | time to first raster (s) | bytes read from the server | share of the file |
| --- | ---: | ---: | ---: |
| (a) streamed, empty cache | {cold:.2f} | {median(f["cold"], "bytes") / 1e6:.2f} MB | {share["cold"]:.2%} |
| (b) streamed again (blocks in the cache) | {warm:.2f} | {median(f["warm"], "bytes"):,.0f} B \
| {share["warm"]:.2%} |
| (c) downloaded whole, then binarized | {full:.2f} | {f["size"] / 1e6:.0f} MB | 100 % |

Of (c), the download took {median(f["download"]):.2f} s and binarizing the local file
{median(f["local"]):.2f} s.
(a)/(c) = {cold / full:.2f}. All timings (s): (a) {listed["cold"]}; (b) {listed["warm"]}; (c)
{", ".join(f"{t:.2f}" for t in whole)}. Over a real network the download's time grows with the whole file
(a 2.5 GB VBN file at 50 MB/s: about 50 s) while the streamed read grows with the units' bytes only.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=400, help="number of units (default 400)")
    ap.add_argument("--seconds", type=float, default=1200.0, help="recording length in s (default 1200)")
    ap.add_argument("--rate-hz", type=float, default=5.0, help="mean firing rate (default 5 Hz)")
    ap.add_argument("--bulk-mb", type=float, default=1000.0, help="raw data in the file, MB (default 1000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each side (default 3)")
    ap.add_argument("--no-docs", action="store_true", help="print the figures without updating the docs")
    args = ap.parse_args()
    text = section(args, measure(args))
    print(text)
    if not args.no_docs:
        update_docs(MARK, text)


if __name__ == "__main__":
    main()
