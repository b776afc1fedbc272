"""`neurorbm dmd`: eigenvalues of the best one-frame linear map of a raster's top PCs (and a generated
raster's)."""

from __future__ import annotations

import argparse

from napari_neurorbm.analysis.dmd import REAL_TOL
from napari_neurorbm.analysis.suite import dmd_summary, dmd_table, iter_dmd
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import DMDConfig
from napari_neurorbm.data.raster import read_raster

HELP = "dynamic mode decomposition: eigenvalues of the one-frame linear map of the top PCs"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "Exact DMD (paper 002) of the recording's top PCs, and of a raster generated in time (--generated): "
        f"eigenvalues, and the share whose imaginary part is below {REAL_TOL:g} (symmetric dynamics give "
        "real eigenvalues). Frame pairs never straddle a gap between segments. See docs/analyses.md."))
    p.add_argument("raster", metavar="RASTER.npz", help="a raster written by `neurorbm binarize`")
    p.add_argument("--generated", metavar="GEN.npz", help="a raster generated in time (`neurorbm sample`)")
    add_results_options(p, "EIGENVALUES.csv", "CSV: source, real, imag of every eigenvalue",
                        out_required=False)
    add_config_options(p, DMDConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, DMDConfig())
    out = out_path(args.out) if args.out else None
    generated = read_raster(args.generated) if args.generated else None
    results = run_shown(iter_dmd(read_raster(args.raster), cfg, generated))
    if out is not None:
        write_csv(out, dmd_table(results), index=False)
    summary = dmd_summary(results)
    print_results(args, summary, "; ".join(
        f"{name}: {summary[name]['real_fraction']:.0%} real eigenvalues, largest |lambda| "
        f"{summary[name]['largest_modulus']:.3f}" for name in results) + (f"; wrote {out}" if out else ""))
    return 0
