"""``neurorbm loglik``: log Z of a model file (an RBM or a pairwise model) and the mean log-likelihood per
frame of a raster's frames."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from napari_neurorbm.analysis import ising
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.analysis.multiinfo import Pairwise
from napari_neurorbm.analysis.pairwise_file import is_pairwise, load_pairwise
from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, load_model
from napari_neurorbm.rbm.model import RBM, base_biases, pick_device
from napari_neurorbm.rbm.partition import iter_log_z_ais, iter_log_z_ptt, log_z_exact, loglik

METHODS = ("exact", "ais", "ptt")
RBM_AIS = (1000, 5000)  # default chains and inverse temperatures for an RBM


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="log partition function of a model and the log-likelihood of a raster's frames",
        description=(
            "Compute log Z of the model stored in a model file, exactly (enumerating a layer of at most 20 "
            "units), by annealed importance sampling from the W = 0 model (ais), or by parallel trajectory "
            "tempering along the file's training checkpoints (ptt), and the mean log-likelihood per frame "
            "-mean F(v) - log Z of the raster's frames, in nats. A pairwise model file (neurorbm maxent) "
            "takes exact (at most 20 units) or ais (from independent units at the frames' means)."
        ),
    )
    p.add_argument("model", metavar="MODEL.npz",
                   help="a model file written by neurorbm train or neurorbm maxent")
    p.add_argument("raster", metavar="RASTER.npz", help="binned raster with the model's units as rows")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="ais",
        help="exact, ais or ptt (default ais; exact needs a layer of <= 20 units, ptt checkpoints)",
    )
    p.add_argument(
        "--frames",
        choices=("all", "train", "test"),
        default="all",
        help="which of the raster's frames to average over (default all)",
    )
    p.add_argument(
        "--chains",
        type=int,
        metavar="N",
        help=f"AIS / PTT chains (default {RBM_AIS[0]}, for a pairwise model {MaxEntConfig.ais_chains}; PTT "
        "memory is models x N x units floats)",
    )
    p.add_argument(
        "--betas",
        type=int,
        metavar="N",
        help=f"AIS inverse temperatures from 0 to 1 (default {RBM_AIS[1]}, for a pairwise model "
        f"{MaxEntConfig.ais_betas}, one Gibbs sweep each)",
    )
    p.add_argument(
        "--sweeps",
        type=int,
        default=200,
        metavar="N",
        help="PTT sweeps of all replicas, the first fifth discarded (default 200)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the sampling (default 0)")
    p.add_argument(
        "--device",
        default="auto",
        metavar="DEV",
        help="auto (a GPU when there is one), cpu, cuda or mps (default auto)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(run=run)


def ptt_path(model: ModelFile) -> list[RBM]:
    """The checkpoints up to the selected model, then the selected model itself."""
    if not model.checkpoints:
        raise NeuroRBMError("this model file has no checkpoints, which PTT needs; use --method ais or exact")
    sel = model.metadata.get("selected_update")
    before = [m for u, m in sorted(model.checkpoints, key=lambda uc: uc[0]) if sel is None or u < sel]
    return [*before, model.rbm]


def run(args: argparse.Namespace) -> int:
    pairwise = is_pairwise(args.model)
    args.chains = args.chains or (MaxEntConfig.ais_chains if pairwise else RBM_AIS[0])
    args.betas = args.betas or (MaxEntConfig.ais_betas if pairwise else RBM_AIS[1])
    if args.chains < 2 or args.betas < 2 or args.sweeps < 2:
        raise NeuroRBMError("--chains, --betas and --sweeps must be at least 2")
    model = load_pairwise(args.model) if pairwise else load_model(args.model)
    raster = read_raster(args.raster)
    check_same_units(model, raster, Path(args.raster).name)
    frames = raster.frames(args.frames)
    if len(frames) == 0:
        raise NeuroRBMError(f"the raster has no {args.frames} frames")
    log_z, ll = _pairwise(model.model, frames, args) if pairwise else _rbm(model, frames, args)
    result = {
        "log_z": log_z,
        "loglik": ll,
        "method": args.method,
        "frames": args.frames,
        "n_frames": len(frames),
        "model": str(args.model),
        "raster": str(args.raster),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"log Z    {log_z:.4f} ({args.method})")
        print(f"loglik   {ll:.4f} nats per frame, mean over {len(frames)} {args.frames} frames")
    return 0


def _rbm(model: ModelFile, frames: np.ndarray, args: argparse.Namespace) -> tuple[float, float]:
    dev = pick_device(args.device)
    rbm = model.rbm.to(dev)
    if args.method == "exact":
        log_z = log_z_exact(rbm)
    elif args.method == "ais":
        base = base_biases(rbm.b.new_tensor(frames.mean(0)))
        log_z = run_shown(iter_log_z_ais(rbm, args.chains, args.betas, base, args.seed))
    else:
        path = [m.to(dev) for m in ptt_path(model)]
        log_z = run_shown(iter_log_z_ptt(path, args.chains, args.sweeps, args.seed))
    return log_z, loglik(rbm, frames, log_z)


def _pairwise(model: Pairwise, frames: np.ndarray, args: argparse.Namespace) -> tuple[float, float]:
    if args.method == "ptt":
        raise NeuroRBMError("PTT runs along an RBM's training checkpoints; for a pairwise model use exact or "
                            "ais")
    if args.method == "exact":
        log_z = ising.log_z_exact(model).value
    else:
        job = ising.iter_log_z_ais(model, frames.mean(0), args.chains, args.betas, args.seed,
                                   pick_device(args.device))
        log_z = run_shown(job).value
    return log_z, ising.loglik(model, frames, log_z)
