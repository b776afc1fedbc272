"""Two sessions compared at area level: their units are different neurons, so only area couplings J_AB
(eq. 15) can be set side by side, over the areas that both sessions record (with enough units in each).

Each session is given as R >= 2 replicate models (seeds or time-block halves, see :mod:`.reliability`),
which give each J_AB a standard error. Per area pair (A, B), in the order of session A's areas, A <= B:
J_a, se_a (session A), J_b, se_b (session B), diff = J_b - J_a, se_diff = sqrt(se_a² + se_b²) (the two
sessions' replicates are independent) and z = diff / se_diff: how many standard errors the change is.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.areas import area_groups
from napari_neurorbm.analysis.reliability import (
    AreaSpread,
    check_replicates,
    file_names,
    iter_replicate_couplings,
    load_replicates,
    standard_score,
)
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile

COLUMNS = ["area_1", "area_2", "J_a", "se_a", "J_b", "se_b", "diff", "se_diff", "z"]


def compare_areas(a: AreaSpread, b: AreaSpread) -> pd.DataFrame:
    """The table of the module's docstring (columns COLUMNS) for the areas of both ``a`` and ``b``."""
    common = common_areas(a.names, b.names)
    ia = {name: k for k, name in enumerate(a.names)}
    ib = {name: k for k, name in enumerate(b.names)}
    rows = []
    for first, one in enumerate(common):
        for two in common[first:]:
            pa, pb = (ia[one], ia[two]), (ib[one], ib[two])
            rows.append([one, two, a.spread.mean[pa], a.spread.se[pa], b.spread.mean[pb], b.spread.se[pb]])
    table = pd.DataFrame(rows, columns=COLUMNS[:6])
    table["diff"] = table["J_b"] - table["J_a"]
    table["se_diff"] = np.hypot(table["se_a"], table["se_b"])
    table["z"] = standard_score(table["diff"].to_numpy(), table["se_diff"].to_numpy())
    return table


def common_areas(names_a: Sequence[str], names_b: Sequence[str]) -> list[str]:
    """The areas of both sessions, in session A's order; none is a one-line error that lists each side's."""
    common = [str(name) for name in names_a if name in set(names_b)]
    if not common:
        raise NeuroRBMError(f"the two sessions have no area in common (A: {_listed(names_a)}; B: "
                            f"{_listed(names_b)})")
    return common


def _listed(names: Sequence[str]) -> str:
    return ", ".join(map(str, names)) if len(names) else "none with enough units"


@dataclass(frozen=True, eq=False)
class Comparison:
    """The area table of two sessions, with the replicate counts and file names of each side."""

    table: pd.DataFrame
    names_a: tuple[str, ...]
    names_b: tuple[str, ...]
    min_units: int

    def summary(self, z_limit: float) -> dict:
        """Headline numbers: replicates per side, common areas, area pairs, and those with |z| >= z_limit."""
        t = self.table
        return {"replicates_a": len(self.names_a), "replicates_b": len(self.names_b),
                "areas": list(dict.fromkeys(t["area_1"])), "area_pairs": len(t),
                "z_limit": z_limit, "changed": int((t["z"].abs() >= z_limit).sum())}


def iter_compare(models_a: Sequence[ModelFile], models_b: Sequence[ModelFile], names_a: Sequence[str],
                 names_b: Sequence[str], min_units: int, *, device: str = "auto"
                 ) -> Generator[Progress, None, Comparison]:
    """J of every replicate of both sessions, then their area table (:func:`compare_areas`); both sides are
    checked before anything is computed."""
    sides = (("session A", models_a, names_a), ("session B", models_b, names_b))
    for what, models, names in sides:
        check_replicates(models, names, what)
        bad = [n for m, n in zip(models, names, strict=True) if m.areas is None]
        if bad:
            raise NeuroRBMError(f"{what}: {bad[0]} has no brain areas in its metadata, so there is no J_AB")
    common_areas(*([name for name, _ in area_groups(models[0].areas, min_units)] for _, models, _ in sides))
    spreads = []
    for what, models, names in sides:
        rep = yield from iter_replicate_couplings(models, names, device=device, what=what)
        spreads.append(rep.areas_spread(min_units))
    return Comparison(compare_areas(*spreads), tuple(names_a), tuple(names_b), min_units)


def iter_compare_files(paths_a: Sequence[str | Path], paths_b: Sequence[str | Path], min_units: int, *,
                       device: str = "auto") -> Generator[Progress, None, Comparison]:
    """:func:`iter_compare` of the model files of session A and of session B."""
    models_a, models_b = load_replicates(paths_a, "session A"), load_replicates(paths_b, "session B")
    return (yield from iter_compare(models_a, models_b, file_names(paths_a), file_names(paths_b), min_units,
                                    device=device))
