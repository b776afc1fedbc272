"""``neurorbm report``: generate from a model and write the real-vs-generated statistics as PNGs and HTML; or,
given a sweep folder, its model selection (Fig. 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_neurorbm.analysis.report import iter_write_report
from napari_neurorbm.analysis.report_pages import ANALYSES, parse_analyses
from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import GenerateConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.sweep.selection import OVERFIT_SHARE
from napari_neurorbm.sweep.selection_report import iter_write_sweep_report

COST = ("CPU seconds on one core for a 1726-unit Steinmetz recording (9960 frames, an RBM of 64 hidden "
        "units): spectrum 20 (10 spectra, 6 areas among them), dmd 3, multiinfo 1, heat 3, maxent 151 (103 "
        "of them choosing its L2 penalty); for the 50-cell retina (283 041 frames): 3, 1, 13, 0.3 and 4; on "
        "the 200-unit demo session maxent 8 and ei (only where the units have E/I classes) about 5")


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="statistics of a model (Fig. 3 and 6 of the paper) or model selection of a sweep (Fig. 2), "
             "as PNGs and an HTML page",
        description=(
            "With a model and its raster: generate frames from the model by Gibbs sampling in time, starting "
            "from the raster's train frames, and compare train, test, generated and independent-neuron "
            "frames: means, connected 2- and 3-point correlations (slope and Pearson r against train), PCA "
            "projection, P(K), free-energy histograms, P(v_i=1|rest) against h_eff, and in time the "
            "autocorrelation of K(t), spike counts in 100 and 400 ms windows and K(t+Δ) given K(t). Then the "
            "analyses beyond the paper (--analyses): PC spectrum, DMD, multi-information, heat capacity, the "
            "pairwise maximum-entropy baseline (a pseudolikelihood fit on at most 20 000 training frames) "
            "and seed 004's E/I experiment (light settings; units with E/I classes only), "
            "each a PNG, a CSV and its numbers. Writes fig3.png, fig6.png, generated.npz, "
            "<analysis>.png/.csv, summary.json and index.html into DIR. "
            "With a sweep folder (neurorbm sweep --out): the train (dashed) and test (solid) "
            "log-likelihood of every run against updates, coloured by N_h, a star at each run's maximum, "
            "the best test LL against N_h over seeds and the N_h to choose (the paper's Fig. 2). Writes "
            "fig2.png, selection.json and index.html into DIR."
        ),
    )
    p.add_argument("model", metavar="MODEL.npz|SWEEP_DIR",
                   help="a model file written by neurorbm train, or a sweep folder")
    p.add_argument("raster", metavar="RASTER.npz", nargs="?",
                   help="the binned raster the model was trained on (not with a sweep folder)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report (created if missing)")
    p.add_argument("--frames", type=int, metavar="N",
                   help="generated frames, over all chains (default: as many as the raster's test frames)")
    add_config_options(p, GenerateConfig, skip=("frames", "init"))
    p.add_argument("--triplets", type=int, default=20_000, metavar="T",
                   help="number of random triplets for the 3-point correlations (default 20000)")
    p.add_argument("--overfit", type=float, default=OVERFIT_SHARE, metavar="SHARE",
                   help="sweep folders: a size overfits when its test LL falls back after its peak by more "
                        f"than this share of what it gained (mean over its runs; default {OVERFIT_SHARE:g}); "
                        "the chosen N_h is the best of those that do not")
    p.add_argument("--analyses", default=",".join(ANALYSES), metavar="LIST", help=(
        f"analyses beyond the paper to add, comma-separated, or none (default {','.join(ANALYSES)}). "
        f"Cost: {COST}"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise NeuroRBMError(f"--out {args.out} is a file; give a folder")
    if Path(args.model).expanduser().is_dir():
        return _sweep_report(args, out)
    if args.raster is None:
        raise NeuroRBMError("give the raster the model was trained on after the model file (RASTER.npz)")
    if args.triplets < 1:
        raise NeuroRBMError(f"--triplets must be at least 1, got {args.triplets}")
    analyses = parse_analyses(args.analyses)
    cfg = config_from_args(args, GenerateConfig())
    index = run_shown(iter_write_report(args.model, args.raster, out, n_frames=args.frames, tau=cfg.tau,
                                        chains=cfg.chains, seed=cfg.seed, device=cfg.device,
                                        n_triplets=args.triplets, analyses=analyses))
    print(f"wrote {index}")
    return 0


def _sweep_report(args: argparse.Namespace, out: Path) -> int:
    if args.raster is not None:
        raise NeuroRBMError(f"{args.model} is a sweep folder: its runs name their rasters; give no RASTER")
    if not args.overfit > 0:
        raise NeuroRBMError(f"--overfit must be positive, got {args.overfit}")
    index = run_shown(iter_write_sweep_report(Path(args.model).expanduser(), out, args.overfit))
    print(f"wrote {index}")
    return 0
