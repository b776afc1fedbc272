"""`neurorbm maxent`: the pairwise maximum-entropy (Ising) baseline of a raster, its test log-likelihood
beside independent units (and an RBM's), and its model file."""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_neurorbm.analysis.baseline import agreement_text, iter_maxent
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.cli._common import out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.rbm.io import load_model

HELP = "pairwise maximum-entropy (Ising) baseline: fit, test log-likelihood beside an RBM's"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "Fit fields h and couplings J of P(v) ~ exp(h.v + sum_{i<j} J_ij v_i v_j) to the raster's training "
        "frames: pseudolikelihood (Aurell & Ekeberg 2012), then moment matching with persistent Gibbs "
        "chains; log Z exactly up to 20 units, by AIS beyond; the mean log-likelihood per test frame of "
        "independent units, of the pairwise model and, with --rbm, of an RBM, with the share of the RBM's "
        "gain over independent units that the pairwise model captures; and the moments check: the model's "
        "pair covariances (exact up to 20 units, else from 100 sweeps of its chains) against the training "
        "frames'. See docs/analyses.md."))
    p.add_argument("raster", metavar="RASTER.npz", help="a raster written by `neurorbm binarize`")
    p.add_argument("--out", required=True, metavar="PAIRWISE.npz", help="the pairwise model file to write")
    p.add_argument("--rbm", metavar="MODEL.npz", help="an RBM trained on this raster, to compare with")
    p.add_argument("--json", action="store_true", help="print the headline numbers as one JSON object")
    add_config_options(p, MaxEntConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, MaxEntConfig()).validate()
    out = out_path(args.out)
    raster = read_raster(args.raster)
    rbm = None
    if args.rbm:
        model = load_model(args.rbm)
        check_same_units(model, raster, Path(args.raster).name)
        rbm = model.rbm
    result = run_shown(iter_maxent(raster, cfg, rbm), announce_stages=True)
    summary = result.summary()
    written = result.save(out, raster, Path(args.raster).name)
    print_results(args, summary | {"out": str(written)}, _text(summary, written))
    return 0


def _text(s: dict, written: Path) -> str:
    se = f" +- {s['log_z_stderr']:.2g}" if s["log_z_method"] == "ais" else ""
    lines = [
        f"fitted   {s['units']} units ({s['constant_units']} constant in the training frames, kept "
        f"independent) to {s['fit_frames']} frames in {s['fit_seconds']:.0f} s: {s['pl_iterations']} "
        "pseudolikelihood iterations, "
        f"{s['updates']} moment-matching updates",
        f"L2       {s['l2']:g} ({_chosen(s)})",
        f"log Z    {s['log_z']:.3f}{se} ({s['log_z_method']})",
        f"moments  pair covariances of the model ({s['moments_method']}) against the training frames': "
        f"{agreement_text(s) or 'r = -, slope -'}",
        f"test LL  independent {s['independent_test_ll']:.4f}, pairwise {s['pairwise_test_ll']:.4f}"
        + (f", RBM {s['rbm_test_ll']:.4f}" if s["rbm_test_ll"] is not None else "")
        + f" nats per frame over {s['test_frames']} test frames",
    ]
    if s["share_of_rbm_gain"] is not None:
        lines.append(f"share    the pairwise model captures {s['share_of_rbm_gain']:.2f} of the RBM's gain "
                     "over independent units")
    lines.append(f"wrote    {written}")
    return "\n".join(lines)


def _chosen(s: dict) -> str:
    """'given', or how auto chose: each penalty tried with its -log pseudolikelihood per held-out frame."""
    if s["l2_tried"] is None:
        return "given"
    tried = ", ".join(f"{l2} {score:.3f}" for l2, score in s["l2_tried"].items())
    return f"auto: -log pseudolikelihood per held-out training frame {tried}"
