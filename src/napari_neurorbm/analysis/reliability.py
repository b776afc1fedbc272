"""How reliable a model's effective couplings are, from replicate models (seed 004: inferred couplings need
error bars).

Replicates are R models of one configuration fitted to the same units: different seeds (they differ by the
training's own noise: initial weights, chains, minibatches) or the two time-block halves of the training
frames (they also differ by the data's noise). J_ij does not depend on how the hidden units are ordered, so
replicates are compared pair by pair. Over the R replicates, per pair:

- mean: the average J_ij; spread: the sample standard deviation s_ij (ddof 1);
- standard error of the mean: se_ij = s_ij / sqrt(R);
- reliability t_ij = |mean_ij| / se_ij, the one-sample t statistic of the replicates against a zero
  coupling: how many standard errors the mean lies from zero. It grows with the coupling's size and with
  the replicates' agreement, and is comparable across pairs whatever their scale. If the replicates were
  independent normal draws around a true J_ij = 0, t_ij would follow Student's t with R - 1 degrees of
  freedom (t >= 3: p ~ 0.2 for R = 2, 0.1 for R = 3, 0.04 for R = 5), so with few replicates it ranks
  pairs rather than tests them. se = 0 gives t = inf (0 when the mean is 0 too: the diagonal).
  A pair is *reliable* when t_ij >= a threshold (CouplingsConfig.reliable_t).

Per area pair the same is done for J_AB (eq. 15) of each replicate; J_AB is linear in J, so its mean over
replicates is J_AB of the mean J.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.areas import area_coupling_matrix, area_table
from napari_neurorbm.analysis.couplings import iter_couplings
from napari_neurorbm.analysis.generation import first_other_unit
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, relabel
from napari_neurorbm.rbm.io import ModelFile, load_model


@dataclass(frozen=True, eq=False)
class Spread:
    """Mean, sample standard deviation (ddof 1) and standard error of the mean of ``n`` replicates."""

    mean: np.ndarray
    std: np.ndarray
    se: np.ndarray
    n: int

    @cached_property
    def t(self) -> np.ndarray:
        """|mean| / se (see the module's docstring)."""
        return np.abs(standard_score(self.mean, self.se))


def replicate_spread(values: np.ndarray) -> Spread:
    """The :class:`Spread` over the first axis of ``values`` (one entry per replicate, R >= 2)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 1 or len(values) < 2:
        raise NeuroRBMError(f"a spread needs at least 2 replicates, got {len(values) if values.ndim else 0}")
    std = values.std(axis=0, ddof=1)
    return Spread(values.mean(axis=0), std, std / np.sqrt(len(values)), len(values))


def standard_score(value: np.ndarray, se: np.ndarray) -> np.ndarray:
    """value / se, signed; ±inf where se = 0 and the value is not, 0 where both are 0, NaN where undefined."""
    value, se = np.broadcast_arrays(np.asarray(value, dtype=np.float64), np.asarray(se, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = value / se
    return np.where((se == 0) & (value == 0), 0.0, z)


@dataclass(frozen=True, eq=False)
class AreaSpread:
    """J_AB (eq. 15) of each replicate (``values``: R x A x A) over the areas ``names``, and its spread."""

    names: np.ndarray
    values: np.ndarray
    spread: Spread


def area_replicates(J: np.ndarray, areas: np.ndarray, min_units: int) -> AreaSpread:
    """J_AB of each replicate's J (``J``: R x n x n) over the areas with >= ``min_units`` units."""
    parts = [area_coupling_matrix(j, areas, min_units) for j in J]
    values = np.stack([m for _, m in parts]) if parts else np.zeros((0, 0, 0))
    names = parts[0][0] if parts else np.zeros(0, dtype=str)
    return AreaSpread(names, values, replicate_spread(values))


@dataclass(frozen=True, eq=False)
class ReplicateCouplings:
    """Fields H (R x n) and couplings J (R x n x n) of R >= 2 replicate models on the same units, with the
    units' areas and ids, the replicates' names (file names) and the models themselves."""

    H: np.ndarray
    J: np.ndarray
    areas: np.ndarray | None
    unit_ids: np.ndarray | None
    names: tuple[str, ...]
    models: tuple[ModelFile, ...] = field(default=(), repr=False)

    @property
    def n_replicates(self) -> int:
        return len(self.J)

    @cached_property
    def pairs(self) -> Spread:
        """Mean, spread, standard error and t of every J_ij over the replicates."""
        return replicate_spread(self.J)

    def reliable(self, threshold: float) -> np.ndarray:
        """The pairs whose reliability t_ij is at least ``threshold`` > 0 (boolean n x n, diagonal False)."""
        return self.pairs.t >= threshold

    def n_reliable(self, threshold: float) -> int:
        """How many pairs i < j are reliable."""
        return int(np.triu(self.reliable(threshold), 1).sum())

    def areas_spread(self, min_units: int) -> AreaSpread:
        """J_AB of each replicate and their spread; a model without areas is a one-line error."""
        if self.areas is None:
            raise NeuroRBMError("the models have no brain areas in their metadata, so there is no J_AB")
        return area_replicates(self.J, self.areas, min_units)

    def area_table(self, min_units: int) -> pd.DataFrame:
        """The area table of the mean J (areas.area_table), with the standard error of each J_AB in columns
        named 'se J[B]' beside 'J[B]'."""
        spread = self.areas_spread(min_units)
        table = area_table(self.pairs.mean, self.areas, min_units)
        for col, name in enumerate(spread.names):
            table[f"se J[{name}]"] = spread.spread.se[:, col]
        return table


def check_replicates(models: Sequence[ModelFile], names: Sequence[str], what: str = "replicates") -> None:
    """At least two models, all on the units of the first: as many visible units, the same unit ids and the
    same areas (where the metadata lists them); each problem is a one-line error naming the files."""
    if len(models) < 2:
        raise NeuroRBMError(f"{what}: a spread needs at least 2 model files, got {len(models)}")
    first, n = models[0], models[0].rbm.n_visible
    for model, name in zip(models[1:], names[1:], strict=True):
        where = f"{what}: {name} and {names[0]}"
        if model.rbm.n_visible != n:
            raise NeuroRBMError(f"{where} are not on the same units ({model.rbm.n_visible} and {n} visible "
                                "units); replicates are models of one raster")
        row = first_other_unit(model.unit_ids, first.unit_ids)
        if row is None and model.areas is not None and first.areas is not None:
            row = first_other_unit(model.areas, first.areas)
        if row is not None:
            raise NeuroRBMError(f"{where} are not on the same units (unit ids or areas differ from row {row} "
                                "on); replicates are models of one raster")


def file_names(paths: Sequence[str | Path]) -> list[str]:
    """The names that tables and messages give model files: the file name, without its folder."""
    return [Path(p).name for p in paths]


def load_replicates(paths: Sequence[str | Path], what: str = "replicates") -> list[ModelFile]:
    """Read the model files and check that they are replicates (:func:`check_replicates`)."""
    models = [load_model(p) for p in paths]
    check_replicates(models, file_names(paths), what)
    return models


def iter_replicate_couplings(models: Sequence[ModelFile], names: Sequence[str], *, device: str = "auto",
                             what: str = "replicates") -> Generator[Progress, None, ReplicateCouplings]:
    """H and J of each replicate (checked with :func:`check_replicates`, ``what`` names them in messages and
    in the progress stage) as a progress generator."""
    check_replicates(models, names, what)
    stage = f"couplings of {what}"
    total = sum(m.rbm.n_hidden for m in models)
    H, J, done = [], [], 0
    for r, model in enumerate(models):
        rbm = model.rbm
        job = iter_couplings(rbm.W, rbm.b, rbm.c, device=device)
        h, j = yield from relabel(job, stage, f"replicate {r + 1}/{len(models)}: {names[r]}", done, total)
        done += rbm.n_hidden
        H.append(h)
        J.append(j)
    first = models[0]
    ids = first.unit_ids if first.unit_ids is not None and len(first.unit_ids) == len(H[0]) else None
    return ReplicateCouplings(np.stack(H), np.stack(J), first.areas, ids, tuple(names), tuple(models))
