"""``neurorbm sample``: MCMC in time from a model file, optionally with clamped units and a control run."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from napari_neurorbm.analysis.generation import (
    check_same_units,
    export_clamp_experiment,
    iter_clamp_experiment,
    iter_generate,
    make_clamp,
)
from napari_neurorbm.atomic import save_figure
from napari_neurorbm.cli._common import out_path, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import ClampConfig
from napari_neurorbm.data.raster import Raster, read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, load_model

FALLBACK_BIN_S = 0.02


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="generate a raster from a model by Gibbs sampling in time (optionally clamping units)",
        description=(
            "Run independent Markov chains of block Gibbs sampling and keep one frame every TAU sweeps "
            "(frame t of a chain is its state after (t+1)*TAU sweeps). The chains run side by side and "
            "are written one after another as segments of a binned npz (counts units x frames, areas, "
            "bin_s, segment_starts = chain starts, unit_ids) that napari and every neurorbm command open. "
            "With --clamp, the chosen units are held at 0 or 1; with --experiment, control chains from "
            "the same starting states run without the clamp and the change in firing is written too."
        ),
    )
    p.add_argument("model", metavar="MODEL.npz", help="a model file written by neurorbm train")
    add_config_options(p, ClampConfig, skip=("onset", "n_sigma"))  # tau fixed: see ClampConfig
    p.add_argument("--data", metavar="RASTER.npz",
                   help="the binned raster the model was trained on (starting frames; areas, unit ids "
                   "and bin width when the model file lacks them)")
    p.add_argument("--clamp", action="append", metavar="UNITS=VALUE",
                   help="hold visible units at VALUE (0 or 1): UNITS is a comma list of indices in the "
                   "model's order, e.g. --clamp 3,17,42=1; repeat the option for units with the other value")
    p.add_argument("--experiment", metavar="DIR",
                   help="with --clamp: also run control chains from the same starts and write "
                   "clamped.npz, control.npz, clamp_units.csv, clamp_areas.csv, clamp_experiment.npz, "
                   "clamp_params.json and clamp.png to DIR")
    add_config_options(p, ClampConfig, only=("onset", "n_sigma"))
    p.add_argument("--out", required=True, metavar="GEN.npz", help="the generated raster to write")
    p.set_defaults(run=run)


def parse_clamps(items: list[str], n_visible: int) -> tuple[np.ndarray, np.ndarray]:
    """'3,5=1' items -> (unit indices, values), checked against the model's size."""
    units, values = [], []
    for item in items:
        lhs, sep, rhs = item.partition("=")
        if not sep or not lhs.strip() or not rhs.strip():
            raise NeuroRBMError(f"--clamp '{item}' is not of the form UNITS=VALUE, e.g. 3,17=1")
        try:
            got = [int(u) for u in lhs.split(",") if u.strip()]
            value = float(rhs)
        except ValueError:
            raise NeuroRBMError(f"--clamp '{item}': units must be integers and the value 0 or 1") from None
        units += got
        values += [value] * len(got)
    make_clamp(np.array(units, dtype=np.int64), np.array(values), n_visible)
    return np.array(units, dtype=np.int64), np.array(values)


def _labels(model: ModelFile, data: Raster | None) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """bin width, areas, unit ids: from the model file, else from the data raster."""
    bin_s = model.bin_s or (data.bin_s if data is not None else None)
    if bin_s is None:
        warnings.warn(f"the model file has no bin width and no --data was given: using {FALLBACK_BIN_S} s",
                      stacklevel=2)
        bin_s = FALLBACK_BIN_S
    areas = model.areas if model.areas is not None else (data.areas if data is not None else None)
    ids = model.unit_ids if model.unit_ids is not None else (data.unit_ids if data is not None else None)
    return float(bin_s), areas, ids


def run(args: argparse.Namespace) -> int:
    out = out_path(args.out)
    cfg = config_from_args(args, ClampConfig(init="data" if args.data is not None else "random"))
    model = load_model(args.model)
    data = None if args.data is None else read_raster(args.data)
    if data is not None:
        check_same_units(model, data, Path(args.data).name)
    if cfg.init == "data" and data is None:
        raise NeuroRBMError("--init data needs --data RASTER.npz to take starting frames from")
    if args.experiment and not args.clamp:
        raise NeuroRBMError("--experiment needs --clamp (the experiment compares clamped and control chains)")
    bin_s, areas, ids = _labels(model, data)
    common = {"n_frames": cfg.frames, "tau": cfg.tau, "chains": cfg.chains, "init": cfg.init,
              "seed": cfg.seed, "data": None if data is None else data.frames("train"), "device": cfg.device}
    if args.clamp:
        units, values = parse_clamps(args.clamp, model.rbm.n_visible)
        if args.experiment:
            result = run_shown(iter_clamp_experiment(model.rbm, units, values, cfg.onset, areas=areas,
                                                     n_sigma=cfg.n_sigma, **common))
            _write_experiment(result, Path(args.experiment), bin_s, ids, args)
            gen = result.clamped
        else:
            clamp = make_clamp(units, values, model.rbm.n_visible)
            gen = run_shown(iter_generate(model.rbm, clamp=clamp, clamp_onset=cfg.onset, **common))
    else:
        gen = run_shown(iter_generate(model.rbm, **common))
    settings = ", ".join(f"{k}={v}" for k, v in gen.params().items())
    name = f"generated from {Path(args.model).name}: {settings}"
    try:
        written = gen.to_raster(bin_s, areas, ids, name).save(out)
    except OSError as exc:
        raise NeuroRBMError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"generated {gen.n_frames} frames in {gen.n_chains} chains (tau {gen.tau}, init {cfg.init}); "
          f"activity {gen.frames.mean():.4f} per unit and frame")
    if data is not None:
        print(f"data      activity {data.binary.mean():.4f} per unit and frame")
    print(f"wrote     {written}")
    return 0


def _write_experiment(result, folder: Path, bin_s: float, ids, args: argparse.Namespace) -> None:
    from napari_neurorbm.analysis.report import clamp_figure

    paths = export_clamp_experiment(result, folder, bin_s=bin_s, unit_ids=ids,
                                    extra_params={"model": str(args.model), "data": args.data})
    save_figure(clamp_figure(result, bin_s), folder / "clamp.png", dpi=110)
    hits = int(result.beyond[~result.is_clamped].sum())
    print(f"clamp     {len(result.clamped.clamp_units)} units; {hits} other units changed beyond "
          f"{result.n_sigma:g} SE across chains")
    print(f"wrote     {len(paths) + 1} files to {folder}")
