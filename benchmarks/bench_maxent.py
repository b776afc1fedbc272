"""The pairwise maximum-entropy baseline of a real recording, as a user runs it: `neurorbm maxent`.

Makes the raster of a Steinmetz recording (`neurorbm binarize FILE`, its native 10 ms bins) and a short RBM
to compare with (`neurorbm train --hidden 64 --minutes 1`), then times the whole
`neurorbm maxent RASTER --out pairwise.npz --rbm rbm.npz --json` in a fresh process (start-up, fit, AIS of
both models, writing) and reads its peak memory; reports the test log-likelihoods (independent / pairwise /
RBM) and the share of the RBM's gain. Goal: within 10 minutes on the 2-core CPU for the 1769-unit recording.
Updates `bench:maxent` in docs/performance.md.

    .venv/bin/python benchmarks/bench_maxent.py [--recording PATH --repeats 1 --device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import ROOT, update_docs

MARK = "bench:maxent"
RECORDING = ROOT.parent / "shared" / "data" / "real" / "steinmetz2019_forssmann_2017-11-01.npz"
NEURORBM = [sys.executable, "-m", "napari_neurorbm.cli"]


def timed(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak memory of the child in GiB, stdout) of a fresh `neurorbm` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([*NEURORBM, *argv], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"neurorbm {' '.join(argv)} failed:\n{done.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 2**20
    return seconds, peak, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recording", type=Path, default=RECORDING, help="a binned npz (default: forssmann)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs of neurorbm maxent (default 1)")
    ap.add_argument("--device", default="cpu", help="torch device: cpu or cuda (default cpu)")
    ap.add_argument("--no-docs", action="store_true", help="print the figures without updating the docs")
    args = ap.parse_args()
    if not args.recording.exists():
        sys.exit(f"{args.recording} is absent (see ../shared/data/real/README.md)")
    with tempfile.TemporaryDirectory() as tmp:
        raster, rbm, out = (str(Path(tmp) / name) for name in ("raster.npz", "rbm.npz", "pairwise.npz"))
        timed(["binarize", str(args.recording), "--out", raster])
        timed(["train", raster, "--hidden", "64", "--minutes", "1", "--device", args.device, "--out", rbm])
        runs = []
        for _ in range(args.repeats):
            load_before = os.getloadavg()[0]
            seconds, peak, stdout = timed(["maxent", raster, "--out", out, "--rbm", rbm, "--json",
                                           "--device", args.device])
            runs.append((seconds, peak, json.loads(stdout.strip().splitlines()[-1]), load_before,
                         os.getloadavg()[0]))
            print(f"neurorbm maxent: {seconds:.0f} s, {peak:.2f} GiB, load {load_before:.1f} -> "
                  f"{runs[-1][4]:.1f}", flush=True)
    text = report(args, runs)
    print(text)
    if not args.no_docs:
        update_docs(MARK, text, args.device)


def report(args: argparse.Namespace, runs: list) -> str:
    import torch

    ordered = sorted(runs, key=lambda r: r[0])
    seconds, peak, s, _, _ = ordered[len(ordered) // 2]  # the median run (the upper one of an even count)
    loads = ", ".join(f"{a:.1f} -> {b:.1f}" for *_, a, b in runs)
    tried = ", ".join(f"{l2} {v:.2f}" for l2, v in (s["l2_tried"] or {}).items())
    l2 = f"auto chose {s['l2']:g} in {s['l2_seconds']:.0f} s (-log PL per held-out frame: {tried})" \
        if s["l2_tried"] else f"{s['l2']:g}"
    return "\n".join([
        f"## Pairwise maximum-entropy baseline (`benchmarks/bench_maxent.py`, {args.recording.stem})",
        "",
        "`neurorbm maxent RASTER --out pairwise.npz --rbm rbm.npz --json` with the default settings, timed "
        f"as a user runs it (fresh process: start-up, fit, both AIS, writing); {s['units']} units "
        f"({s['constant_units']} never firing in the training frames, kept independent), "
        f"{s['test_frames']} test frames of 10 ms. Device `{args.device}`, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs, "
        f"torch {torch.__version__}; load average before -> after each run: {loads}. The RBM: "
        "`neurorbm train --hidden 64 --minutes 1` on the same raster.",
        "",
        "| stage | time |",
        "| --- | ---: |",
        f"| L2 penalty: {l2}; pseudolikelihood ({s['pl_iterations']} L-BFGS iterations) + moment matching "
        f"({s['updates']} updates) | {s['fit_seconds']:.0f} s |",
        f"| moments check ({s['moments_method']}) | {s.get('moments_seconds', 0):.0f} s |",
        f"| log Z of the pairwise model ({s['log_z_method']}) | {s['log_z_seconds']:.0f} s |",
        f"| the RBM's test LL (AIS) | {s.get('rbm_seconds', 0):.0f} s |",
        f"| whole command | **{seconds:.0f} s** median (all runs: {', '.join(f'{r[0]:.0f}' for r in runs)}), "
        f"peak memory {peak:.2f} GiB |",
        "",
        "| test log-likelihood (nats per frame) | |",
        "| --- | ---: |",
        f"| independent units | {s['independent_test_ll']:.3f} |",
        f"| pairwise (log Z {s['log_z']:.2f} +- {s['log_z_stderr']:.3f}) | {s['pairwise_test_ll']:.3f} |",
        f"| RBM, 64 hidden units, 1 minute | {s['rbm_test_ll']:.3f} |",
        f"| share of the RBM's gain the pairwise model captures | {s['share_of_rbm_gain']:.2f} |",
        f"| moments check: pair covariances, model on data | r {s['pair_covariance_r']:.3f}, slope "
        f"{s['pair_covariance_slope']:.2f} |",
        "",
        f"Goal: within 10 minutes on this CPU: {'met' if seconds <= 600 else 'not met'} by the median run "
        f"({seconds / 60:.1f} min); the slowest took {max(r[0] for r in runs) / 60:.1f} min. With other jobs "
        "on the two cores (load average above 2) torch's two threads slow down far more than twice.",
    ])


if __name__ == "__main__":
    main()
