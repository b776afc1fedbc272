"""The main job without a screen: demo session -> raster -> trained RBM -> report -> couplings, as files."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_neurorbm.analysis.areas import area_coupling_matrix, write_area_csv
from napari_neurorbm.analysis.couplings import iter_couplings
from napari_neurorbm.analysis.report import iter_write_report
from napari_neurorbm.atomic import save_npz, write_text
from napari_neurorbm.data.binning import BinningParams, iter_binarize
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.synthetic import SyntheticTruth, make_synthetic
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.rbm.io import load_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.partition import log_z_exact, loglik
from napari_neurorbm.rbm.training import TrainConfig, Trainer


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo run: small enough for a laptop CPU in about a minute, structured enough to show.

    An hour of recording, as in a real session: with 10 minutes (30 000 frames) even a model started at the
    ground truth drifts to 0.07 nats/frame below it on test frames (it fits the training frames' noise), so
    no training could come within 0.02. The faster step decay suits this much data (docs/training.md)."""

    n_areas: int = 5
    units_per_area: int = 40
    duration_s: float = 3600.0
    n_hidden: int = 16
    updates: int = 2000
    lr_decay: float = 30.0
    eval_every: int = 250
    report_frames: int = 20_000
    seed: int = 0


def iter_pipeline(out_dir: str | Path, config: DemoConfig = DemoConfig()) -> Generator[Progress, None, dict]:
    """Run every step of the plugin on the synthetic session, writing each product into ``out_dir``."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroRBMError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    session, truth = make_synthetic(
        config.n_areas, config.units_per_area, config.duration_s, seed=config.seed
    )
    raster = yield from iter_binarize(session, BinningParams(seed=config.seed))
    raster.save(out / "raster.npz")
    train_cfg = TrainConfig(
        n_hidden=config.n_hidden,
        updates=config.updates,
        lr_decay=config.lr_decay,
        eval_every=config.eval_every,
        seed=config.seed,
        device="auto",
    )
    trainer = yield from Trainer.from_raster(raster, train_cfg).run()
    trainer.save(out / "model.npz")
    model = load_model(out / "model.npz")
    report = iter_write_report(model, raster, out / "report", n_frames=config.report_frames, seed=config.seed)
    yield from report
    H, J = yield from iter_couplings(model.rbm.W, model.rbm.b, model.rbm.c)
    _, J_truth = yield from iter_couplings(truth.W, truth.b, truth.c)
    J_truth = J_truth[np.ix_(raster.unit_ids, raster.unit_ids)]
    names, J_area = area_coupling_matrix(J, raster.areas, min_units=min(30, config.units_per_area))
    save_npz(out / "couplings.npz", H=H, J=J, areas=raster.areas, area_names=names, J_area=J_area)
    write_area_csv(out / "area_couplings.csv", J, raster.areas, min_units=min(30, config.units_per_area))
    truth_ll = _truth_loglik(truth, raster)
    summary = _summary(trainer, raster, names, J_area, _pair_correlation(J, J_truth), truth_ll)
    write_text(out / "summary.json", json.dumps(summary, indent=2))
    return summary


def _pair_correlation(J: np.ndarray, J_truth: np.ndarray) -> float:
    """Pearson r between learned and ground-truth couplings over all pairs i < j."""
    upper = np.triu_indices_from(J, k=1)
    return float(np.corrcoef(J[upper], J_truth[upper])[0, 1])


def _truth_loglik(truth: SyntheticTruth, raster: Raster) -> float:
    """Test log-likelihood per frame of the ground-truth RBM (exact log Z: its hidden layer is small)."""
    rbm = RBM.from_numpy(truth.W[raster.unit_ids], truth.b[raster.unit_ids], truth.c)
    return loglik(rbm, raster.frames("test"), log_z_exact(rbm))


def _summary(
    trainer: Trainer, raster: Raster, names: np.ndarray, J_area: np.ndarray, truth_r: float, truth_ll: float
) -> dict:
    """What a person checks first: sizes, log-likelihood against independent neurons, area couplings."""
    best = trainer.best
    within = float(np.mean(np.diag(J_area))) if len(names) else float("nan")
    across = float(np.mean(J_area[~np.eye(len(names), dtype=bool)])) if len(names) > 1 else float("nan")
    return {
        "units": raster.n_units,
        "frames": raster.n_frames,
        "areas": sorted(set(raster.areas.tolist())),
        "updates": trainer.update,
        "best_update": None if best is None else best.update,
        "test_loglik": None if best is None else best.test_ll,
        "independent_test_loglik": trainer.independent_test_ll,
        "ground_truth_test_loglik": truth_ll,
        "below_ground_truth": None if best is None else truth_ll - best.test_ll,
        "mean_within_area_J": within,
        "mean_across_area_J": across,
        "couplings_r_vs_ground_truth": truth_r,
    }


def run_pipeline(
    out_dir: str | Path,
    config: DemoConfig = DemoConfig(),
    on_progress: Callable[[Progress], None] | None = None,
) -> dict:
    """Run :func:`iter_pipeline` to its end."""
    return drain(iter_pipeline(out_dir, config), on_progress)
