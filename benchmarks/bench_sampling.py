"""Gibbs sampling at the paper's scale, beside the `rbms` package (PyPI rbms==0.5.0) on the same model.

One random model (2000 visible, 128 hidden, sparse activity like recorded neurons) is written to a temp npz;
each side then runs in fresh processes with the same number of torch threads, the two sides taking turns
(several rounds, best time kept, so that a burst of load elsewhere on a shared machine hits both):
(1) block Gibbs sweeps per second for 2000 chains; (2) the time to generate 10 000 frames at tau = 5 (one
frame kept every 5 sweeps, frames copied to the host as uint8) with 10 and with 2000 chains. Ours is
``rbm.sampling.gibbs`` and ``analysis.generation.iter_generate``; the peer is ``BBRBM.sample_state`` in a
plain loop, run with ``.bench-venv/bin/python`` when that venv has rbms. Updates ``bench:sampling`` in
docs/performance.md.

    .venv/bin/python benchmarks/bench_sampling.py [--device auto --repeats 3 --threads N --no-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

from _shared import PEER_PYTHON, device_name, peer_available, run_code, update_docs
from napari_neurorbm.rbm.sampling import SPARSE_MAX

MARK = "bench:sampling"

COMMON = """
import json, sys, time
import numpy as np, torch
PATH, DEVICE, THREADS, REPEATS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
SWEEPS, FRAMES, TAU = (int(x) for x in sys.argv[5:8])
CHAIN_COUNTS = json.loads(sys.argv[8])
torch.set_num_threads(THREADS)
P = np.load(PATH)
dev = torch.device(DEVICE)

def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()

def best(fn):
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        sync(); t0 = time.perf_counter(); fn(); sync()
        times.append(time.perf_counter() - t0)
    return min(times)
"""

OURS = COMMON + """
from napari_neurorbm.analysis.generation import iter_generate
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.sampling import gibbs
rbm = RBM.from_numpy(P["W"], P["b"], P["c"], device=dev)
gen = torch.Generator(device=dev).manual_seed(0)
v = (torch.rand(2000, rbm.n_visible, generator=gen, device=dev) < 0.5).float()
out = {"sweep_s": best(lambda: gibbs(rbm, v, SWEEPS, gen)) / SWEEPS, "frames_s": {}}
for c in CHAIN_COUNTS:
    out["frames_s"][c] = best(lambda c=c: drain(iter_generate(rbm, FRAMES, tau=TAU, chains=c, init="random")))
print(json.dumps(out))
"""

PEER = COMMON + """
from rbms.bernoulli_bernoulli.classes import BBRBM
rbm = BBRBM(*(torch.as_tensor(P[k], device=dev) for k in ("W", "b", "c")))
torch.manual_seed(0)
chains = rbm.init_chains(2000)
out = {"sweep_s": best(lambda: rbm.sample_state(chains, SWEEPS)) / SWEEPS, "frames_s": {}}

def generate(c):
    state = rbm.init_chains(c)
    kept = []
    for _ in range(-(-FRAMES // c)):
        state = rbm.sample_state(state, TAU)
        kept.append(state["visible"].to(torch.uint8))
    return torch.stack(kept).cpu().numpy()

for c in CHAIN_COUNTS:
    out["frames_s"][c] = best(lambda c=c: generate(c))
print(json.dumps(out))
"""


def write_model(path: Path, n_visible: int, n_hidden: int, seed: int = 0) -> None:
    """Random weights of a trained model's size and spread; biases for ~5% activity per unit and frame."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 0.1, (n_visible, n_hidden)).astype(np.float32)
    b = rng.normal(-3.0, 1.0, n_visible).astype(np.float32)
    c = rng.normal(-1.0, 0.5, n_hidden).astype(np.float32)
    np.savez(path, W=W, b=b, c=c)


def best_of(runs: list[dict]) -> dict:
    """The smallest time of each measurement over several processes."""
    return {"sweep_s": min(r["sweep_s"] for r in runs),
            "frames_s": {c: min(r["frames_s"][c] for r in runs) for c in runs[0]["frames_s"]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visible", type=int, default=2000, help="visible units (default 2000)")
    ap.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    ap.add_argument("--sweeps", type=int, default=20, help="sweeps per timed sweep run (default 20)")
    ap.add_argument("--frames", type=int, default=10_000, help="frames to generate (default 10000)")
    ap.add_argument("--tau", type=int, default=5, help="sweeps between kept frames (default 5)")
    ap.add_argument("--chains", default="10,2000", help="chain counts to generate with (default 10,2000)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per process and round (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per side, taking turns (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all CPUs)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    ap.add_argument("--no-docs", action="store_true", help="print the figures without updating the docs")
    args = ap.parse_args()
    dev, gpu = device_name(args.device)
    counts = [int(c) for c in args.chains.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        write_model(path, args.visible, args.hidden)
        argv = [str(path), dev, str(args.threads), str(args.repeats), str(args.sweeps), str(args.frames),
                str(args.tau), json.dumps(counts)]
        load_before = os.getloadavg()
        has_peer = peer_available("rbms.bernoulli_bernoulli.classes")
        ours_runs, peer_runs = [], []
        for _ in range(args.rounds):
            ours_runs.append(run_code(sys.executable, OURS, argv))
            if has_peer:
                peer_runs.append(run_code(PEER_PYTHON, PEER, argv))
        ours = best_of(ours_runs)
        peer = best_of(peer_runs) if has_peer else None
        load_after = os.getloadavg()
    where = f"{platform.machine()}, {os.cpu_count()} CPUs, {args.threads} torch threads" + (
        f", GPU {gpu}" if gpu else "")
    peer_cell = (lambda x: f"{x:.3g}") if peer else (lambda x: "n/a")
    rows = [f"| Gibbs sweeps per second, 2000 chains | {1 / ours['sweep_s']:.3g} | "
            f"{peer_cell(1 / peer['sweep_s']) if peer else 'n/a'} |"]
    for c in counts:
        o = ours["frames_s"][str(c)]
        p = peer["frames_s"][str(c)] if peer else None
        rows.append(f"| {args.frames} frames at tau={args.tau}, {c} chains (s) | {o:.3g} | "
                    f"{peer_cell(p) if peer else 'n/a'} |")
    peer_note = ("`rbms` 0.5.0 (`BBRBM.sample_state`, frames kept by a plain loop) from `.bench-venv`"
                 if peer else "`rbms` not measured: `.bench-venv` with rbms==0.5.0 is missing here")
    text = f"""
## Gibbs sampling and generation in time (`benchmarks/bench_sampling.py`)

Model {args.visible} visible x {args.hidden} hidden (random, ~5% activity). Device {dev}; {where}.
Best of {args.rounds} processes per side (taking turns) x {args.repeats} runs after a warm-up; load average
{load_before[0]:.2f} before / {load_after[0]:.2f} after. Peer: {peer_note}.
A sweep is v -> h -> v; generation keeps one frame every tau sweeps and returns uint8 frames on the host.
The peer does two dense matrix products per sweep and calls `torch.bernoulli`. Ours draws with
`rbm.sampling.Bernoulli` (on a CPU 16-bit uniforms from numpy's SFC64, on a GPU `torch.rand`) into
preallocated buffers, and on a CPU, when at most {100 * SPARSE_MAX:.0f} % of the visible states are 1,
computes v W + c as the sum of the W rows of each chain's active units (`embedding_bag`) instead of a dense
product. With 10 chains a sweep is tiny and per-operation overhead dominates. On a shared 2-core machine a
busy neighbour can slow a 2-thread run several-fold, hence the turns.

| measurement | napari-neurorbm | rbms 0.5.0 |
| --- | ---: | ---: |
{chr(10).join(rows)}
"""
    print(text)
    if not args.no_docs:
        update_docs(MARK, text, dev)


if __name__ == "__main__":
    main()
