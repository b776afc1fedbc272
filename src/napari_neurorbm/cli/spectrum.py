"""`neurorbm spectrum`: the cross-validated PC variance spectrum of a raster and its power-law exponent."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.spectrum import Spectrum, spectra_by_area, spectrum_of, time_shuffled
from napari_neurorbm.analysis.statistics import independent_samples
from napari_neurorbm.cli._common import add_results_options, out_path, print_results
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import SpectrumConfig
from napari_neurorbm.data.raster import Raster, read_raster

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
    x = _activity(raster)
    spectra = {
        "recording": _spectrum(raster, x, cfg),
        "time_shuffled": _spectrum(raster, time_shuffled(x), cfg),
        "independent": _spectrum(raster, independent_samples(x.mean(axis=0), len(x)), cfg),
    }
    if args.generated:
        gen = read_raster(args.generated)
        spectra["generated"] = _spectrum(gen, _activity(gen), cfg)
    block = _block(raster, cfg)
    for area, spec in spectra_by_area(x, raster.areas, block, raster.segment_starts,
                                      cfg.min_area_units).items():
        spectra[f"area:{area}"] = spec
    _write(out, spectra)
    alphas = {name: s.alpha for name, s in spectra.items()}
    summary = {"alpha": alphas, "ranks": list(spectra["recording"].ranks), "units": raster.n_units}
    text = f"wrote {out}: alpha " + ", ".join(f"{k} {v:.3f}" for k, v in alphas.items())
    print_results(args, summary, text)
    return 0


def _activity(raster: Raster) -> np.ndarray:
    return raster.counts.T.astype(np.float64)


def _block(raster: Raster, cfg: SpectrumConfig) -> int:
    return max(1, round(cfg.block_ms / 1000 / raster.bin_s))


def _spectrum(raster: Raster, x: np.ndarray, cfg: SpectrumConfig) -> Spectrum:
    return spectrum_of(x, _block(raster, cfg), raster.segment_starts, first=cfg.first_rank)


def _write(out, spectra: dict[str, Spectrum]) -> None:
    n = max(len(s.variance) for s in spectra.values())
    table = pd.DataFrame({"rank": np.arange(1, n + 1)})
    for name, s in spectra.items():
        table[name] = np.r_[s.variance, np.full(n - len(s.variance), np.nan)]
    table.to_csv(out, index=False)
