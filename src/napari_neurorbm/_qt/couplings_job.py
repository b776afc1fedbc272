"""What the Couplings dock computes, without any widget: the job (H and J, then the norms over training),
its result, the job of replicate models and what the matrix shows of them, R_ij of one pair, and the checks
that tie a model's rows to the loaded raster's rows."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_neurorbm.analysis.couplings import (
    CouplingsResult,
    higher_order_indicator,
    iter_coupling_norms,
    iter_couplings,
)
from napari_neurorbm.analysis.reliability import file_names, iter_replicate_couplings, load_replicates
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

if TYPE_CHECKING:
    from napari_neurorbm.data.raster import Raster

R_SAMPLES = 1000  # Monte Carlo draws of the other spins for R_ij
# what the matrix shows: the effective pair couplings of -H(s), s = ±1, in nats (docs/couplings.md)
QUANTITY = "J_ij (nats)"
# what the matrix can show of replicate models (the first is also what one model shows)
VIEWS = {"mean": "mean J", "spread": "spread of J (SD over replicates)", "reliable": "J of reliable pairs"}


def couplings_job(
    model, areas: np.ndarray | None, unit_ids: np.ndarray, n_checkpoints: int, device: str = "auto"
) -> Generator[Progress, None, CouplingsResult]:
    """H and J of the model (yielded as a CouplingsResult payload as soon as they exist), then the coupling
    norms of up to ``n_checkpoints`` of its checkpoints (yielded as a DataFrame payload)."""
    rbm = model.rbm
    H, J = yield from iter_couplings(rbm.W, rbm.b, rbm.c, device=device)
    result = CouplingsResult(model, H, J, areas, unit_ids)
    yield Progress("couplings", 1, 1, f"J for {len(H)} units", payload=result)
    picked = spread(model.checkpoints, n_checkpoints)
    if picked:
        norms = yield from iter_coupling_norms(picked, device=device)
        yield Progress("coupling norms", len(picked), len(picked), "done", payload=norms)
    return result


def replicates_job(paths: Sequence[str | Path], raster: Raster | None, device: str = "auto"
                   ) -> Generator[Progress, None, CouplingsResult]:
    """H and J of each replicate model file (checked to share units, and to be the loaded raster's units);
    yields and returns a CouplingsResult of their means that holds the replicates."""
    models = load_replicates(paths)
    areas, ids = unit_labels(models[0], raster)
    rep = yield from iter_replicate_couplings(models, file_names(paths), device=device)
    result = CouplingsResult(models[0], rep.H.mean(axis=0), rep.pairs.mean, areas, ids, replicates=rep)
    yield Progress("couplings", 1, 1, f"mean J of {rep.n_replicates} replicates", payload=result)
    return result


def shown_matrix(result: CouplingsResult, view: str, threshold: float) -> tuple[np.ndarray, str]:
    """The matrix drawn for a VIEWS key and what it is (short: it names the layer, written on the canvas): J
    of one model; of replicates their mean J, the spread of J (SD over the replicates), or the mean J of the
    pairs whose reliability t is at least ``threshold`` (0 elsewhere)."""
    rep = result.replicates
    if rep is None:
        return result.J, QUANTITY
    if view == "spread":
        return rep.pairs.std, "SD of J_ij (nats)"
    if view == "reliable":
        return np.where(rep.reliable(threshold), result.J, 0.0), f"J_ij, t ≥ {threshold:g} (nats)"
    return result.J, "mean J_ij (nats)"


def pair_indicator(result: CouplingsResult, i: int, j: int) -> tuple[CouplingsResult, int, int, float]:
    """R_ij of one pair (eqs. 10-11) of the result's model, or its mean over the replicate models, returned
    with what it was asked for."""
    models = result.replicates.models if result.replicates is not None else (result.model,)
    pair = np.array([[i, j]])
    r = np.mean([higher_order_indicator(m.rbm.W, m.rbm.b, m.rbm.c, pair, R_SAMPLES)[0] for m in models])
    return result, i, j, float(r)


def spread(items: Sequence, k: int) -> list:
    """At most ``k`` items evenly spread over the sequence, first and last included."""
    if k <= 0 or not items:
        return []
    picked = np.unique(np.round(np.linspace(0, len(items) - 1, min(k, len(items)))).astype(int))
    return [items[i] for i in picked]


def unit_labels(model, raster: Raster | None) -> tuple[np.ndarray | None, np.ndarray]:
    """Areas and unit ids of the model's visible units (its metadata, else the raster's), after checking
    that the model's rows are the loaded raster's rows."""
    n = model.rbm.n_visible
    ids = model.unit_ids if model.unit_ids is not None and len(model.unit_ids) == n else None
    if raster is not None:
        if raster.n_units != n:
            raise NeuroRBMError(
                f"the model has {n} visible units but the loaded raster has {raster.n_units}: "
                "load the raster the model was trained on"
            )
        if ids is not None and not np.array_equal(ids.astype(str), np.asarray(raster.unit_ids).astype(str)):
            raise NeuroRBMError("the model was trained on other units (or in another order) than the raster")
    areas = model.areas if model.areas is not None else (raster.areas if raster is not None else None)
    if ids is None:
        ids = np.asarray(raster.unit_ids) if raster is not None else np.arange(n)
    return (None if areas is None else np.asarray(areas).astype(str)), ids


def area_blocks(areas: np.ndarray | None) -> list[tuple[str, int, int]]:
    """(area, first row, end row) of each area whose units are one contiguous block of rows.

    Rows binarized here are grouped by area, so that is every area; an area scattered over the rows
    (a raster read with its rows untouched) has no block: no boundaries, name or zoom entry.
    """
    if areas is None or not len(areas):
        return []
    cuts = np.flatnonzero(areas[1:] != areas[:-1]) + 1
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(areas)]
    names, count = np.unique(areas[starts], return_counts=True)
    single = set(names[count == 1].tolist())
    return [(str(areas[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True) if areas[s] in single]
