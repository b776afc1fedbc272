"""The sweep folder: what a sweep plans, where each run's model file lives, and the table of runs.

Layout (the folder must be reachable from every worker: a local disk, or a shared file system on a cluster)::

    SWEEP_DIR/sweep.json        the plan: rasters, hidden units, seeds, learning rates, halves, base config
    SWEEP_DIR/runs.csv          one row per planned run (COLUMNS); runs not started yet are "pending"
    SWEEP_DIR/runs/<name>.npz   each run's model file, autosaved while it trains (resumable)

Only the process that drives the sweep writes ``runs.csv`` (workers return their rows to it), so the table
has a single writer; every file is written atomically.
"""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from napari_neurorbm.atomic import write_atomically
from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import read_metadata

FORMAT = "napari-neurorbm sweep"
PLAN_FILE, TABLE_FILE, RUNS_DIR = "sweep.json", "runs.csv", "runs"
COLUMNS = (
    "name", "raster", "n_hidden", "seed", "lr", "half", "status", "attempts", "updates", "wall_s", "device",
    "host", "best_update", "best_test_ll", "ll_method", "independent_test_ll", "message",
)  # fmt: skip
STATUSES = ("pending", "running", "done", "failed")
PER_RUN = ("n_hidden", "seed", "lr")  # the TrainConfig fields a run sets; the plan's base holds the rest


@dataclass(frozen=True)
class RunSpec:
    """One training of a sweep: a raster, N_h, a seed, a learning rate and, with halves, which half (0 or 1)
    of the training frames it learns from (``None``: all of them)."""

    raster: str
    n_hidden: int
    seed: int
    lr: float
    half: int | None = None

    @property
    def name(self) -> str:
        """A file-safe name, unique within a sweep, that says what the run is."""
        half = "" if self.half is None else f"-half{self.half}"
        return f"{Path(self.raster).stem}-h{self.n_hidden}-s{self.seed}-lr{self.lr:g}{half}"


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep: every combination of raster, N_h, seed, learning rate (and half, with
    ``halves``), each trained with ``base`` changed in the per-run fields."""

    rasters: tuple[str, ...]
    hidden: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    lrs: tuple[float, ...] = (TrainConfig.lr,)
    halves: bool = False
    base: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> SweepPlan:
        """Raise a one-line NeuroRBMError for a plan that cannot run; return the plan."""
        for what, values in (("raster", self.rasters), ("hidden-unit count", self.hidden),
                             ("seed", self.seeds), ("learning rate", self.lrs)):
            if not values:
                raise NeuroRBMError(f"the sweep needs at least one {what}")
        if min(self.hidden) < 1:
            raise NeuroRBMError(f"hidden-unit counts must be >= 1, got {min(self.hidden)}")
        if min(self.lrs) <= 0:
            raise NeuroRBMError(f"learning rates must be > 0, got {min(self.lrs)}")
        missing = [r for r in self.rasters if not Path(r).is_file()]
        if missing:
            raise NeuroRBMError(f"{missing[0]}: no such raster file")
        stems = [Path(r).stem for r in self.rasters]
        if len(set(stems)) < len(stems):
            raise NeuroRBMError(f"two rasters share a file name ({stems}): runs are named after it")
        for spec in self.runs():
            self.config(spec).validate()
        return self

    def runs(self) -> list[RunSpec]:
        """Every run of the plan, rasters outermost, then N_h, seed, learning rate, half."""
        halves = (0, 1) if self.halves else (None,)
        grid = itertools.product(self.rasters, self.hidden, self.seeds, self.lrs, halves)
        return [RunSpec(r, int(h), int(s), float(lr), half) for r, h, s, lr, half in grid]

    def config(self, spec: RunSpec) -> TrainConfig:
        """The TrainConfig of one run."""
        return self.base.replace(n_hidden=spec.n_hidden, seed=spec.seed, lr=spec.lr)

    def to_dict(self) -> dict:
        base = {k: v for k, v in asdict(self.base).items() if k not in PER_RUN}
        return {"format": FORMAT, "format_version": 1, "rasters": list(self.rasters),
                "hidden": list(self.hidden), "seeds": list(self.seeds), "lrs": list(self.lrs),
                "halves": self.halves, "base": base}

    @classmethod
    def from_dict(cls, d: dict) -> SweepPlan:
        return cls(tuple(d["rasters"]), tuple(d["hidden"]), tuple(d["seeds"]), tuple(d["lrs"]),
                   bool(d["halves"]), TrainConfig.from_dict(d["base"]))


class SweepFolder:
    """A sweep's folder on disk (see the module's docstring): its plan, model files and table of runs."""

    def __init__(self, path: str | Path, plan: SweepPlan) -> None:
        self.path, self.plan = Path(path), plan

    @classmethod
    def create(cls, path: str | Path, plan: SweepPlan) -> SweepFolder:
        """The folder of ``plan``: made if new; an existing folder must hold the same plan (rerunning a
        sweep continues it), else a NeuroRBMError names the first difference."""
        path = Path(path)
        plan = plan.validate()
        if (path / PLAN_FILE).exists():
            folder = cls.open(path)
            _check_same_plan(folder.plan.to_dict(), plan.to_dict(), path)
            return folder
        (path / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        text = json.dumps(plan.to_dict(), indent=1).encode()
        write_atomically(path / PLAN_FILE, lambda fh: fh.write(text), "sweep plan")
        return cls(path, plan)

    @classmethod
    def open(cls, path: str | Path) -> SweepFolder:
        """An existing sweep folder; anything else is a one-line NeuroRBMError."""
        path = Path(path)
        try:
            d = json.loads((path / PLAN_FILE).read_text())
        except FileNotFoundError:
            raise NeuroRBMError(f"{path}: not a sweep folder (no {PLAN_FILE})") from None
        except (OSError, ValueError) as exc:
            raise NeuroRBMError(f"{path / PLAN_FILE}: unreadable ({exc.__class__.__name__})") from None
        if d.get("format") != FORMAT:
            raise NeuroRBMError(f"{path / PLAN_FILE}: not a {FORMAT} plan")
        return cls(path, SweepPlan.from_dict(d))

    def model_path(self, name: str) -> Path:
        """Where the run ``name`` writes (and autosaves) its model file."""
        return self.path / RUNS_DIR / f"{name}.npz"

    def table(self) -> pd.DataFrame:
        """The table of runs, one row per planned run in plan order (indexed by name): the rows of
        ``runs.csv`` where it has them, "pending" rows for the others."""
        specs = self.plan.runs()
        rows = pd.DataFrame([_pending_row(s) for s in specs], columns=COLUMNS).set_index("name", drop=False)
        f = self.path / TABLE_FILE
        if f.exists():
            stored = pd.read_csv(f, dtype={"message": str, "host": str, "device": str, "ll_method": str})
            stored = stored[stored["name"].isin(rows.index)].set_index("name", drop=False)
            rows = rows.astype(object)
            rows.loc[stored.index, list(COLUMNS)] = stored[list(COLUMNS)].astype(object)
        return rows.infer_objects()

    def write_table(self, table: pd.DataFrame) -> Path:
        """Write the table of runs atomically (only the process driving the sweep calls this)."""
        buf = io.StringIO()
        table.loc[:, list(COLUMNS)].to_csv(buf, index=False)
        data = buf.getvalue().encode()
        return write_atomically(self.path / TABLE_FILE, lambda fh: fh.write(data), "table of runs")

    def history(self, name: str) -> pd.DataFrame:
        """The run's log-likelihood along training (update, train_ll, test_ll), from its model file: the
        autosave of a running run, the final file of a finished one; empty before the first save."""
        f = self.model_path(name)
        records = read_metadata(f).get("history", []) if f.exists() else []
        return pd.DataFrame(records, columns=["update", "train_ll", "test_ll"])


def _pending_row(spec: RunSpec) -> dict:
    return {"name": spec.name, "raster": spec.raster, "n_hidden": spec.n_hidden, "seed": spec.seed,
            "lr": spec.lr, "half": spec.half, "status": "pending", "attempts": 0}


def _check_same_plan(old: dict, new: dict, path: Path) -> None:
    for key in new:
        if old.get(key) != new[key]:
            raise NeuroRBMError(
                f"{path} was written by another sweep configuration ({key}: {old.get(key)} there, "
                f"{new[key]} now): choose another --out folder, or rerun with that folder's settings"
            )
