"""The model file: one npz (numpy alone reads it) with the selected W, b, c, JSON metadata and checkpoints.

A file written by a running or stopped training run also holds its resumable state (random streams,
optimizer moments, ...): arrays named ``state_*`` plus a JSON entry ``state``, so that resuming from the file
continues the run exactly. Files are written atomically: a crash or kill while writing leaves the previous
file as it was and at most a hidden ``.NAME.PID.THREAD.tmp`` beside it, never a half-written ``.npz``."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_neurorbm.atomic import write_atomically
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.model import RBM

PAIRWISE_FORMAT = "pairwise-maxent"  # the "format" entry of a pairwise model file (analysis/pairwise_file.py)


@dataclass
class ModelFile:
    """What a model file holds: the selected model (on CPU), its metadata and the saved checkpoints."""

    rbm: RBM
    metadata: dict[str, Any] = field(default_factory=dict)
    checkpoints: list[tuple[int, RBM]] = field(default_factory=list)
    chains: np.ndarray | None = None  # persistent chains (uint8, chains x n_visible), for resuming
    state: dict[str, Any] | None = None  # a training run's resumable state: JSON values and arrays

    @property
    def n_visible(self) -> int:
        return self.rbm.n_visible

    @property
    def areas(self) -> np.ndarray | None:
        a = self.metadata.get("areas")
        return None if a is None else np.asarray(a, dtype=str)

    @property
    def classes(self) -> np.ndarray | None:
        """The units' putative E/I classes ("E", "I", "unknown"), where the raster trained on had them."""
        c = self.metadata.get("classes")
        return None if c is None else np.asarray(c, dtype=str)

    @property
    def unit_ids(self) -> np.ndarray | None:
        u = self.metadata.get("unit_ids")
        return None if u is None else np.asarray(u)

    @property
    def bin_s(self) -> float | None:
        s = self.metadata.get("bin_s")
        return None if s is None else float(s)


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot store {type(x).__name__} in model metadata")


def save_model(
    path: str | Path,
    rbm: RBM,
    metadata: dict,
    checkpoints: list[tuple[int, RBM]] | None = None,
    chains: np.ndarray | None = None,
    state: dict[str, Any] | None = None,
) -> Path:
    """Write the model file atomically (temporary file, flushed to disk, then renamed over ``path``); returns
    the path written. ``state`` (a training run's resumable state) is stored as ``state_<key>`` arrays for
    its array values and as one JSON entry ``state`` for the others."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    W, b, c = (x.astype(np.float32) for x in rbm.numpy())
    arrays = {"W": W, "b": b, "c": c, "metadata": np.str_(json.dumps(metadata, default=_jsonable))}
    if checkpoints:
        arrays["ckpt_updates"] = np.array([u for u, _ in checkpoints], dtype=np.int64)
        for name, i in (("ckpt_W", 0), ("ckpt_b", 1), ("ckpt_c", 2)):
            arrays[name] = np.stack([m.numpy()[i].astype(np.float32) for _, m in checkpoints])
    if chains is not None:
        arrays["chains"] = np.asarray(chains, dtype=np.uint8)
    if state is not None:
        arrays.update(_state_arrays(state))
    write_atomically(path, lambda fh: np.savez(fh, **arrays), "model file")
    return path


def _state_arrays(state: dict[str, Any]) -> dict[str, np.ndarray]:
    """The npz entries of a resumable state: ``state_<key>`` per array, the rest as the JSON ``state``."""
    out = {f"state_{k}": v for k, v in state.items() if isinstance(v, np.ndarray)}
    rest = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    out["state"] = np.str_(json.dumps(rest, default=_jsonable))
    return out


def load_model(path: str | Path) -> ModelFile:
    """Read a model file; anything that is not one, or has inconsistent shapes, is a NeuroRBMError."""
    path = Path(path)
    arrays = read_arrays(path)
    if str(arrays.get("format", "")) == PAIRWISE_FORMAT:
        raise NeuroRBMError(f"{path} is a pairwise maximum-entropy model file (neurorbm maxent), not an RBM")
    if not {"W", "b", "c"} <= arrays.keys():
        raise NeuroRBMError(f"{path} is not a model file: it needs arrays W, b and c")
    rbm = _rbm(arrays["W"], arrays["b"], arrays["c"], path)
    metadata = json_entry(arrays.get("metadata"), path)
    for key in ("areas", "classes"):
        per_unit = metadata.get(key)
        if per_unit is not None and len(per_unit) != rbm.n_visible:
            raise NeuroRBMError(
                f"{path}: metadata has {len(per_unit)} {key} for {rbm.n_visible} visible units")
    chains = arrays.get("chains")
    if chains is not None and (chains.ndim != 2 or chains.shape[1] != rbm.n_visible):
        raise NeuroRBMError(f"{path}: stored chains of shape {chains.shape} do not fit {rbm.n_visible} units")
    return ModelFile(rbm, metadata, _checkpoints(arrays, rbm, path), chains, _state(arrays, path))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Only the JSON metadata of a model file (the arrays are not read): cheap, to list files."""
    path = Path(path)
    return json_entry(read_arrays(path, ("metadata",)).get("metadata"), path)


def read_arrays(path: Path, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays ``names`` (default all) of an npz file that are in it; one clear line if it is none."""
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise NeuroRBMError(f"{path} is not a model file: it holds one array, not an npz archive")
        with f:
            return {k: f[k] for k in f.files if names is None or k in names}
    except NeuroRBMError:
        raise
    except FileNotFoundError as exc:
        raise NeuroRBMError(f"model file not found: {path}") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise NeuroRBMError(f"{path} is not a model file (not a readable npz): {exc}") from exc


def _rbm(W: np.ndarray, b: np.ndarray, c: np.ndarray, path: Path) -> RBM:
    if W.ndim != 2 or b.shape != (W.shape[0],) or c.shape != (W.shape[1],):
        raise NeuroRBMError(
            f"{path}: parameter shapes do not match: W {W.shape}, b {b.shape}, c {c.shape} "
            "(expected W n_visible x n_hidden, b n_visible, c n_hidden)"
        )
    if not all(np.issubdtype(x.dtype, np.number) for x in (W, b, c)):
        raise NeuroRBMError(f"{path}: W, b and c must be numeric arrays")
    return RBM.from_numpy(W, b, c)


def json_entry(raw: np.ndarray | None, path: Path, entry: str = "metadata") -> dict[str, Any]:
    """The JSON object stored as the text entry ``raw`` of an npz file ({} when absent)."""
    if raw is None:
        return {}
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise NeuroRBMError(f"{path}: the {entry} entry is not valid JSON ({exc.msg})") from exc
    if not isinstance(meta, dict):
        raise NeuroRBMError(f"{path}: the {entry} entry must be a JSON object")
    return meta


def _state(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any] | None:
    """The resumable state written by :func:`save_model`, or None in a file without one."""
    if "state" not in arrays:
        return None
    state = json_entry(arrays["state"], path, "state")
    state.update({k[len("state_"):]: v for k, v in arrays.items() if k.startswith("state_")})
    return state


def _checkpoints(arrays: dict[str, np.ndarray], rbm: RBM, path: Path) -> list[tuple[int, RBM]]:
    names = ("ckpt_updates", "ckpt_W", "ckpt_b", "ckpt_c")
    present = [n for n in names if n in arrays]
    if not present:
        return []
    if len(present) != len(names):
        raise NeuroRBMError(f"{path}: incomplete checkpoints (has {', '.join(present)})")
    upd, W, b, c = (arrays[n] for n in names)
    n = len(upd)
    nv, nh = rbm.n_visible, rbm.n_hidden
    if upd.ndim != 1 or W.shape != (n, nv, nh) or b.shape != (n, nv) or c.shape != (n, nh):
        raise NeuroRBMError(
            f"{path}: checkpoint shapes do not match the model ({n} updates, W {W.shape}, b {b.shape}, "
            f"c {c.shape} for a {nv} x {nh} model)"
        )
    return [(int(upd[i]), RBM.from_numpy(W[i], b[i], c[i])) for i in range(n)]
