"""`neurorbm dmd`: eigenvalues of the best one-frame linear map of a raster's top PCs (and a generated
raster's)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.dmd import REAL_TOL, dmd_of
from napari_neurorbm.cli._common import add_results_options, out_path, print_results
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
    sources = {"recording": args.raster} | ({"generated": args.generated} if args.generated else {})
    results = {}
    for name, path in sources.items():
        raster = read_raster(path)
        results[name] = dmd_of(raster.counts.T, cfg.pcs, raster.segment_starts)
    if out is not None:
        pd.concat([pd.DataFrame({"source": name, "real": r.eigenvalues.real, "imag": r.eigenvalues.imag})
                   for name, r in results.items()]).to_csv(out, index=False)
    summary = {name: {"real_fraction": r.real_fraction, "largest_modulus": float(np.abs(r.eigenvalues).max())}
               for name, r in results.items()}
    print_results(args, {"pcs": cfg.pcs, **summary}, "; ".join(
        f"{name}: {s['real_fraction']:.0%} real eigenvalues, largest |lambda| {s['largest_modulus']:.3f}"
        for name, s in summary.items()) + (f"; wrote {out}" if out else ""))
    return 0
