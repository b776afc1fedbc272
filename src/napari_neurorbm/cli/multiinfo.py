"""`neurorbm multiinfo`: how much of small groups' multi-information pairwise correlations explain (I2/IN)."""

from __future__ import annotations

import argparse

from napari_neurorbm.analysis.suite import iter_multiinfo, multiinfo_table
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import MultiInfoConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.rbm.io import load_model

HELP = "multi-information ratio I2/IN over random groups of units (and an RBM's, with --model)"


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
    rbm = load_model(args.model).rbm if args.model else None
    info = run_shown(iter_multiinfo(raster, cfg, rbm))
    if out is not None:
        write_csv(out, multiinfo_table(info), index=False)
    s = info.summary()
    text = (f"I2/IN = {s['i2_over_in']:.3f} (sd {s['i2_over_in_sd']:.3f}) over {s['groups']} groups of "
            f"{s['group_size']}" + (f" ({s['left_out']} left out: within chance)" if s["left_out"] else "")
            + (f"; RBM {s['model_over_in']:.3f}" if rbm is not None else ""))
    print_results(args, s, text)
    return 0
