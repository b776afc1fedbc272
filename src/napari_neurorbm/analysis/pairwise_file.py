"""The pairwise model file: one npz (numpy alone reads it) with fields ``h``, couplings ``J``, a ``format``
entry that tells it from an RBM model file, and JSON metadata (units, areas, bin width, the fit's settings and
numbers). Written atomically (atomic.py), as the RBM's model file is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_neurorbm.analysis.multiinfo import Pairwise
from napari_neurorbm.atomic import save_npz
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import PAIRWISE_FORMAT, json_entry, load_model, read_arrays
from napari_neurorbm.rbm.model import RBM


@dataclass
class PairwiseFile:
    """What a pairwise model file holds: the model and its metadata."""

    model: Pairwise
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_visible(self) -> int:
        return len(self.model.h)

    @property
    def unit_ids(self) -> np.ndarray | None:
        u = self.metadata.get("unit_ids")
        return None if u is None else np.asarray(u)


def save_pairwise(path: str | Path, model: Pairwise, metadata: dict) -> Path:
    """Write the model file atomically (".npz" is added to a name without it); returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = {"format": np.str_(PAIRWISE_FORMAT), "h": np.asarray(model.h, dtype=np.float64),
              "J": np.asarray(model.J, dtype=np.float64), "metadata": np.str_(json.dumps(metadata))}
    return save_npz(path, what="pairwise model file", **arrays)


def is_pairwise(path: str | Path) -> bool:
    """Whether ``path`` is a pairwise model file (only its format entry is read)."""
    return str(read_arrays(Path(path), ("format",)).get("format", "")) == PAIRWISE_FORMAT


def load_pairwise(path: str | Path) -> PairwiseFile:
    """Read a pairwise model file; anything else (an RBM model file too) is a NeuroRBMError."""
    path = Path(path)
    arrays = read_arrays(path)
    if str(arrays.get("format", "")) != PAIRWISE_FORMAT:
        kind = "an RBM model file" if "W" in arrays else "not a model file of this package"
        raise NeuroRBMError(f"{path} is not a pairwise model file (neurorbm maxent writes them): it is "
                            f"{kind}")
    h, J = arrays.get("h"), arrays.get("J")
    if h is None or J is None or h.ndim != 1 or J.shape != (len(h), len(h)):
        raise NeuroRBMError(f"{path}: a pairwise model needs fields h (n) and couplings J (n x n)")
    if not np.allclose(J, J.T) or np.any(np.diag(J)):
        raise NeuroRBMError(f"{path}: the couplings J must be symmetric with a zero diagonal")
    model = Pairwise(h.astype(np.float64), J.astype(np.float64))
    return PairwiseFile(model, json_entry(arrays.get("metadata"), path))


def load_energy_model(path: str | Path) -> RBM | Pairwise:
    """The model of an RBM or a pairwise model file, whichever ``path`` is (for what works on both)."""
    return load_pairwise(path).model if is_pairwise(path) else load_model(path).rbm
