"""`neurorbm spectrum`: the cross-validated PC variance spectrum of a raster and its power-law exponent."""

from __future__ import annotations

import argparse

from napari_neurorbm.analysis.suite import iter_spectra, spectra_summary, spectra_table
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import SpectrumConfig
from napari_neurorbm.data.raster import read_raster

HELP = "cross-validated PC variance spectrum and its power-law exponent (recording, controls, generated)"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "cvPCA (Stringer et al. 2019; paper 002): PCs of one half of the frames, variance of each PC as the "
        "covariance of both halves' projections, the halves being interleaved time blocks. Spectra of the "
        "recording, a time-shuffled copy, independent neurons with the same rates, a generated raster "
        "(--generated) and each area with enough units; the exponent of variance ~ rank^-alpha over ranks "
        "first-rank..N/2. See docs/analyses.md."))
    p.add_argument("raster", metavar="RASTER.npz", help="a raster written by `neurorbm binarize`")
    p.add_argument("--generated", metavar="GEN.npz", help="a generated raster (`neurorbm sample --out`)")
    add_results_options(p, "SPECTRUM.csv", "CSV: rank and one column of cross-validated variances per "
                        "spectrum", out_required=True)
    add_config_options(p, SpectrumConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, SpectrumConfig())
    out = out_path(args.out)
    raster = read_raster(args.raster)
    generated = read_raster(args.generated) if args.generated else None
    spectra = run_shown(iter_spectra(raster, cfg, generated))
    write_csv(out, spectra_table(spectra), index=False)
    summary = spectra_summary(spectra, raster.n_units)
    text = f"wrote {out}: alpha " + ", ".join(f"{k} {v:.3f}" for k, v in summary["alpha"].items())
    print_results(args, summary, text)
    return 0
