"""`neurorbm couplings`: a trained RBM's effective Ising model (fields, pairs, triplets) and area matrix; from
replicate models, the mean couplings with their spread and reliability."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_neurorbm.analysis.areas import area_coupling_matrix, write_area_csv, write_table_csv
from napari_neurorbm.analysis.couplings import iter_couplings, strongest_triplets
from napari_neurorbm.analysis.ei_couplings import class_couplings
from napari_neurorbm.analysis.reliability import file_names, iter_replicate_couplings, load_replicates
from napari_neurorbm.atomic import write_atomically
from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import CouplingsConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, load_model

HELP = "effective couplings H, J (and J_ijk) of a trained RBM by brain area; replicates: spread, reliability"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help=HELP,
        description=(
            "Expand the RBM's marginal energy in spins s = 2v - 1 (Gaussian approximation of the other "
            "spins, paper 001 Sec. II.B) and write the fields H, the pair couplings J (symmetric, zero "
            "diagonal) and, when the model's metadata lists the units' areas, the area-level matrix J_area "
            "of eq. (15) over the areas with enough units. Several model files are replicates (one "
            "configuration on the same units: seeds, or the time-block halves of the training frames): "
            "the output then holds the mean H and J, each pair's spread over the replicates (J_std), the "
            "standard error of the mean (J_se), its reliability t = |mean| / se (J_t) and the pairs with "
            "t >= --reliable-t (reliable), and J_area with its spread and standard error. "
            "See docs/couplings.md."
        ),
    )
    p.add_argument("models", nargs="+", metavar="MODEL.npz",
                   help="model file written by `neurorbm train` (W, b, c, metadata); two or more: replicates")
    p.add_argument("--out", required=True, metavar="COUPLINGS.npz",
                   help="output npz: H, J; areas, area_names, J_area (when the model has areas); "
                        "triplets, J3 (with --triplets); from replicates also J_std, J_se, J_t, reliable, "
                        "n_replicates, replicates (the file names) and J_area_std, J_area_se, J_area_t")
    add_config_options(p, CouplingsConfig)
    p.add_argument("--csv", metavar="AREA_TABLE.csv",
                   help="also write the area table: per-area statistics of the within-area couplings "
                        "(n, mean, skewness, E/I ratio) and each area's row of J_area (from replicates: of "
                        "the mean J, with the standard errors in columns 'se J[B]')")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, CouplingsConfig())
    out = Path(args.out)
    if not out.parent.is_dir():
        raise NeuroRBMError(f"the folder for --out does not exist: {out.parent}")
    return _one(args, cfg, out) if len(args.models) == 1 else _replicates(args, cfg, out)


def _one(args: argparse.Namespace, cfg: CouplingsConfig, out: Path) -> int:
    model = load_model(args.models[0])
    areas = _areas(args, model)
    rbm = model.rbm
    H, J = run_shown(iter_couplings(rbm.W, rbm.b, rbm.c, device=cfg.device))
    result = {"H": H, "J": J}
    if areas is not None:
        names, J_area = area_coupling_matrix(J, areas, cfg.min_units)
        result.update(areas=areas, area_names=names, J_area=J_area)
    if cfg.triplets:
        triplets, J3 = strongest_triplets(rbm.W, rbm.b, rbm.c, J, cfg.triplets, device=cfg.device)
        result.update(triplets=triplets, J3=J3)
    written = _save(out, result)
    if args.csv:
        write_area_csv(args.csv, J, areas, cfg.min_units)
    _print_classes(model, J)
    print(f"wrote {written}: H and J for {len(H)} units" + _area_text(result, cfg)
          + (f", {len(result['J3'])} triplets" if cfg.triplets else ""))
    return 0


def _replicates(args: argparse.Namespace, cfg: CouplingsConfig, out: Path) -> int:
    if cfg.triplets:
        raise NeuroRBMError("--triplets needs one model file: the three-body couplings of replicates are not "
                            "averaged")
    models = load_replicates(args.models)
    areas = _areas(args, models[0])
    rep = run_shown(iter_replicate_couplings(models, file_names(args.models), device=cfg.device))
    pairs = rep.pairs
    result = {"H": rep.H.mean(axis=0), "J": pairs.mean, "J_std": pairs.std, "J_se": pairs.se, "J_t": pairs.t,
              "reliable": rep.reliable(cfg.reliable_t), "reliable_t": np.float64(cfg.reliable_t),
              "n_replicates": np.int64(rep.n_replicates), "replicates": np.array(rep.names)}
    if areas is not None:
        s = rep.areas_spread(cfg.min_units)
        result.update(areas=areas, area_names=s.names, J_area=s.spread.mean, J_area_std=s.spread.std,
                      J_area_se=s.spread.se, J_area_t=s.spread.t)
    written = _save(out, result)
    if args.csv:
        write_table_csv(args.csv, rep.area_table(cfg.min_units))
    _print_classes(models[0], pairs.mean)
    n = len(pairs.mean)
    print(f"wrote {written}: mean H and J over {rep.n_replicates} replicate models of {n} units, with their "
          f"spread; {rep.n_reliable(cfg.reliable_t)} of {n * (n - 1) // 2} pairs reliable (t >= "
          f"{cfg.reliable_t:g})" + _area_text(result, cfg))
    return 0


def _areas(args: argparse.Namespace, model: ModelFile) -> np.ndarray | None:
    """The model's areas; --csv needs them."""
    if args.csv and model.areas is None:
        raise NeuroRBMError(f"{args.models[0]} has no areas in its metadata, so there is no area table for "
                            "--csv")
    return model.areas


def _print_classes(model: ModelFile, J: np.ndarray) -> None:
    """J summed up by E-E, E-I and I-I pairs, when the model's units have putative E/I classes."""
    if model.classes is not None:
        print(class_couplings(J, model.classes).text())


def _area_text(result: dict, cfg: CouplingsConfig) -> str:
    if "area_names" not in result:
        return ""
    return f", J_area for {len(result['area_names'])} areas with >= {cfg.min_units} units"


def _save(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    return write_atomically(path, lambda fh: np.savez(fh, **arrays), "couplings file")
