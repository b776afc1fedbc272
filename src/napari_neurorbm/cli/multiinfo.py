"""`neurorbm multiinfo`: how much of small groups' multi-information pairwise correlations explain (I2/IN)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.multiinfo import MultiInfo, iter_multi_information
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import GenerateConfig, MultiInfoConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError

HELP = "multi-information ratio I2/IN over random groups of units (and an RBM's, with --model)"
MODEL_FRAMES = 20_000  # generated frames whose hidden states sample the RBM's equilibrium


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "For random groups of units: S1 (independent units), S2 (the pairwise maximum-entropy model, exact), "
        "SN (the data, extrapolated to infinite data), and I2/IN = (S1 - S2) / (S1 - SN) (Schneidman et al. "
        "2006; paper 004). With --model, also the share of the RBM's marginal over each group. "
        "See docs/analyses.md."))
    p.add_argument("raster", metavar="RASTER.npz", help="a raster written by `neurorbm binarize`")
    p.add_argument("--model", metavar="MODEL.npz", help="an RBM trained on this raster")
    add_results_options(p, "GROUPS.csv", "CSV: each group's units and entropies", out_required=False)
    add_config_options(p, MultiInfoConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, MultiInfoConfig())
    out = out_path(args.out) if args.out else None
    raster = read_raster(args.raster)
    model = _model_samples(args.model, raster.n_units, cfg.seed) if args.model else None
    job = iter_multi_information(raster.frames("all"), cfg.group_size, cfg.groups, cfg.seed, model)
    info = run_shown(job)
    if out is not None:
        _write(out, info)
    s = info.summary()
    text = (f"I2/IN = {s['i2_over_in']:.3f} (sd {s['i2_over_in_sd']:.3f}) over {s['groups']} groups of "
            f"{s['group_size']}" + (f"; RBM {s['model_over_in']:.3f}" if model is not None else ""))
    print_results(args, s, text)
    return 0


def _model_samples(path: str, n_units: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W, b, hidden states) of the RBM: hidden states drawn given frames generated from it."""
    import torch

    from napari_neurorbm.analysis.generation import iter_generate
    from napari_neurorbm.rbm.io import load_model
    from napari_neurorbm.rbm.sampling import sample_hidden

    model = load_model(path)
    if model.rbm.n_visible != n_units:
        raise NeuroRBMError(f"{path} has {model.rbm.n_visible} visible units, the raster {n_units}")
    gen = GenerateConfig()
    run = run_shown(iter_generate(model.rbm, MODEL_FRAMES, gen.tau, gen.chains, "random", seed=seed))
    W, b, _ = model.rbm.numpy()
    hidden = sample_hidden(model.rbm, torch.as_tensor(run.frames), torch.Generator().manual_seed(seed))
    return W, b, hidden.cpu().double().numpy()


def _write(out, info: MultiInfo) -> None:
    table = pd.DataFrame({"units": [",".join(map(str, g)) for g in info.groups], "S1": info.s1, "S2": info.s2,
                          "SN": info.sn, "i2_over_in": info.i2_over_in})
    if info.s_model is not None:
        table["S_model"], table["model_over_in"] = info.s_model, info.model_over_in
    table.to_csv(out, index=False)
