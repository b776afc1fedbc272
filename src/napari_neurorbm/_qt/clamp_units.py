"""What the Clamp dock works out without any widget: the units named in typed text, the values they are
held at, the clamp job, and the sentences and summaries that describe a choice or a result."""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np

from napari_neurorbm.analysis.generation import (
    ClampResult,
    check_same_units,
    export_clamp_experiment,
    iter_clamp_experiment,
)
from napari_neurorbm.atomic import save_figure
from napari_neurorbm.configs import ClampConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.model import pick_device

RANGE = re.compile(r"^(-?\d+)\s*-\s*(-?\d+)$")


def parse_units(text: str, raster: Raster, kind: str = "unit ids") -> list[int]:
    """Rows of ``raster`` named in ``text``: unit ids (or rows) separated by commas or spaces, ranges a-b.

    A range of unit ids takes the ids from a to b that the raster has; a single id it lacks is an error.
    """
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    tokens = [t for part in parts for t in ([part] if RANGE.match(part) else part.split())]
    if not tokens:
        raise NeuroRBMError(f"type {kind} to clamp, e.g. 3, 7, 10-14")
    ids = np.asarray(raster.unit_ids).astype(str)
    where = {u: i for i, u in enumerate(ids)}
    rows: list[int] = []
    for token in tokens:
        span = RANGE.match(token)
        if kind == "rows":
            rows += _row_span(token, span, raster.n_units)
        elif span:
            lo, hi = int(span[1]), int(span[2])
            numeric = np.array([u.lstrip("-").isdigit() for u in ids])
            values = np.where(numeric, ids, "0").astype(np.int64)
            hit = np.flatnonzero(numeric & (values >= lo) & (values <= hi))
            if not hit.size:
                raise NeuroRBMError(f"no unit id of the raster lies in {lo}-{hi}")
            rows += hit.tolist()
        elif token in where:
            rows.append(where[token])
        else:
            raise NeuroRBMError(f"unit id '{token}' is not in the raster (hover a row to see its unit id)")
    return sorted(set(rows))


def _row_span(token: str, span, n_units: int) -> list[int]:
    if span:
        lo, hi = int(span[1]), int(span[2])
    elif token.lstrip("-").isdigit():
        lo = hi = int(token)
    else:
        raise NeuroRBMError(f"'{token}' is not a row number or a range like 10-14")
    if lo > hi or lo < 0 or hi >= n_units:
        raise NeuroRBMError(f"rows {token} are outside the raster's rows 0-{n_units - 1}")
    return list(range(lo, hi + 1))


def clamp_values(mode: str, raster: Raster, units: Sequence[int], frame: int) -> float | np.ndarray:
    """What the units are held at: 1, 0, or their 0/1 values in frame ``frame`` of the recording."""
    if mode == "pattern":
        if not 0 <= frame < raster.n_frames:
            raise NeuroRBMError(f"frame {frame} is not in the recording (0-{raster.n_frames - 1})")
        return raster.binary[np.asarray(units), frame].astype(np.float64)
    return float(mode)


def clamp_job(model: ModelFile | None, raster: Raster | None, units: Sequence[int], mode: str, frame: int,
              config: ClampConfig) -> Generator[Progress, None, ClampResult]:
    """Check the inputs, then run clamped and control chains as ``config`` says (``iter_clamp_experiment``);
    ``mode`` and ``frame`` say what the units are held at (:func:`clamp_values`)."""
    if model is None or raster is None:
        raise NeuroRBMError("load a recording and train or open a model first")
    check_same_units(model, raster)
    if not len(units):
        raise NeuroRBMError("choose the units to clamp first: click raster rows, pick an area or type ids")
    values = clamp_values(mode, raster, units, frame)
    rbm = model.rbm.to(pick_device(config.device))
    train = raster.frames("train")
    return (yield from iter_clamp_experiment(
        rbm, np.asarray(units), values, config.onset, config.frames, tau=config.tau, chains=config.chains,
        init=config.init, data=train if len(train) else None, seed=config.seed, areas=raster.areas,
        n_sigma=config.n_sigma,
    ))


def describe_units(rows: tuple[int, ...], raster: Raster | None) -> str:
    """'3 units: VISp 2, LGd 1 · ids 12, 40, 41' (or how to pick units when there are none)."""
    if not rows:
        return "No unit selected: click raster rows, pick an area or type ids."
    if raster is None or rows[-1] >= raster.n_units:
        return f"{len(rows)} units (rows {', '.join(map(str, rows[:12]))}{'…' if len(rows) > 12 else ''})"
    areas = raster.areas[list(rows)].astype(str)
    counts = ", ".join(f"{a} {int(np.sum(areas == a))}" for a in dict.fromkeys(areas))
    ids = [str(u) for u in np.asarray(raster.unit_ids)[list(rows)]]
    shown = ", ".join(ids[:12]) + ("…" if len(ids) > 12 else "")
    return f"{len(rows)} unit{'s' * (len(rows) > 1)}: {counts} · ids {shown}"


def describe_result(result: ClampResult, value: str) -> str:
    """One sentence: what was clamped and how many units and areas changed beyond the noise."""
    free = ~result.is_clamped
    up = int(np.sum(result.beyond & free & (result.delta > 0)))
    down = int(np.sum(result.beyond & free & (result.delta < 0)))
    held = {"1": "at 1", "0": "at 0", "pattern": "at a recorded pattern"}[value]
    return (f"Clamped {int(result.is_clamped.sum())} units {held} from frame {result.clamped.clamp_onset} "
            f"of {result.clamped.n_chains} chains: {up} free units fire more and {down} less beyond "
            f"{result.n_sigma:g} SE of the chain-to-chain noise; {int(np.sum(result.area_beyond))} of "
            f"{len(result.area_names)} areas change.")


def model_summary(model: ModelFile | None) -> dict | None:
    """The model's size and the training update it holds, for the exported parameters."""
    if model is None:
        return None
    meta = model.metadata
    return {"n_visible": model.rbm.n_visible, "n_hidden": model.rbm.n_hidden,
            "update": meta.get("selected_update", meta.get("update"))}


def export_experiment(result: ClampResult, job: dict, model: ModelFile | None, out: Path) -> list[Path]:
    """Write a clamp experiment into ``out``: clamped/control rasters (npz), tables (CSV), all arrays (npz),
    the parameters with what was clamped (JSON) and the figure (clamp_figure.png); the paths written.
    ``job`` holds the raster, the units (rows), the value held and the pattern frame of the run."""
    from napari_neurorbm.analysis.report import clamp_figure

    raster, units = job["raster"], job["units"]
    extra = {
        "raster": raster.name, "value": job["value"],
        "clamp_unit_ids": jsonable(raster.unit_ids[units]),
        "clamp_areas": raster.areas[units].astype(str).tolist(),
        "pattern_frame": job["pattern_frame"] if job["value"] == "pattern" else None,
        "model": model_summary(model),
    }
    paths = export_clamp_experiment(result, out, bin_s=raster.bin_s, unit_ids=raster.unit_ids,
                                    extra_params=extra)
    figure = out / "clamp_figure.png"
    save_figure(clamp_figure(result, raster.bin_s), figure, dpi=110)
    return [*paths, figure]


def jsonable(x):
    return json.loads(json.dumps(np.asarray(x).tolist() if x is not None else None, default=str))


