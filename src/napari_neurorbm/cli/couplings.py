"""`neurorbm couplings`: a trained RBM's effective Ising model (fields, pairs, triplets) and area matrix."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_neurorbm.analysis.areas import area_coupling_matrix, write_area_csv
from napari_neurorbm.analysis.couplings import iter_couplings, strongest_triplets
from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import CouplingsConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import load_model


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="effective couplings H, J (and J_ijk) of a trained RBM, aggregated by brain area",
        description=(
            "Expand the RBM's marginal energy in spins s = 2v - 1 (Gaussian approximation of the other "
            "spins, paper 001 Sec. II.B) and write the fields H, the pair couplings J (symmetric, zero "
            "diagonal) and, when the model's metadata lists the units' areas, the area-level matrix J_area "
            "of eq. (15) over the areas with enough units. See docs/couplings.md."
        ),
    )
    p.add_argument("model", metavar="MODEL.npz",
                   help="model file written by `neurorbm train` (W, b, c, metadata)")
    p.add_argument("--out", required=True, metavar="COUPLINGS.npz",
                   help="output npz: H, J; areas, area_names, J_area (when the model has areas); "
                        "triplets, J3 (with --triplets)")
    add_config_options(p, CouplingsConfig)
    p.add_argument("--csv", metavar="AREA_TABLE.csv",
                   help="also write the area table: per-area statistics of the within-area couplings "
                        "(n, mean, skewness, E/I ratio) and each area's row of J_area")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, CouplingsConfig())
    out = Path(args.out)
    if not out.parent.is_dir():
        raise NeuroRBMError(f"the folder for --out does not exist: {out.parent}")
    model = load_model(args.model)
    areas = model.areas
    if args.csv and areas is None:
        raise NeuroRBMError(f"{args.model} has no areas in its metadata, so there is no area table for --csv")
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
    n_areas = len(result.get("area_names", []))
    print(f"wrote {written}: H and J for {len(H)} units"
          + (f", J_area for {n_areas} areas with >= {cfg.min_units} units" if areas is not None else "")
          + (f", {len(result['J3'])} triplets" if cfg.triplets else ""))
    return 0


def _save(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    try:
        np.savez(path, **arrays)
    except OSError as exc:
        raise NeuroRBMError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
