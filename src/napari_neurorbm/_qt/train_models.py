"""The models a training run or a model file offers: its checkpoints, the selected and the best one, their
test log-likelihoods, and the model file of any of them (what the Train dock publishes to the viewer and
saves: with the run's resumable state, so that a saved run continues exactly, in the dock or with
``neurorbm train --resume``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, save_model
from napari_neurorbm.rbm.training import Trainer

PICKED_BY_HAND = "chosen in the Train RBM widget"


def model_at(source: Trainer | ModelFile, update: int | None = None, chains: bool = True) -> ModelFile:
    """The model file of checkpoint ``update`` (default: the source's own selection) of a run or a file.

    A trainer's file holds its checkpoints plus its current and best models, as ``Trainer.save`` writes,
    with its resumable state; ``chains=False`` leaves out the persistent chains and the state (while the
    worker is still moving them). A file's model keeps the file's state.
    """
    models = checkpoint_models(source)
    default = selected_update(source)
    update = default if update is None else int(update)
    if update not in models:
        raise NeuroRBMError(f"there is no checkpoint at update {update}")
    if isinstance(source, Trainer):
        meta = source.metadata()
        meta["history"] = [dict(h) for h in meta["history"]]
        saved = source.chains.to("cpu", torch.uint8).numpy() if chains else None
        state = resume_state(source) if chains else None
    else:
        meta, saved, state = dict(source.metadata), source.chains, source.state
    if update != default:
        meta.update(selected_update=update, selected_by=PICKED_BY_HAND)
    return ModelFile(models[update], meta, sorted(models.items()), saved, state)


def resume_state(trainer: Trainer) -> dict:
    """What ``Trainer.save`` stores besides the models and chains (rbm/ has no public reader of it yet),
    copied: on a CPU its arrays would share memory with the trainer, which a Resume moves on."""
    state = trainer.resume_state()
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}


def write_model_file(path: str | Path, model: ModelFile) -> Path:
    """Write ``model`` with its checkpoints, chains and resumable state (as ``Trainer.save`` and the
    autosave do); returns the path written (``.npz`` added when missing)."""
    return save_model(path, model.rbm, model.metadata, model.checkpoints, model.chains, state=model.state)


def checkpoint_models(source: Trainer | ModelFile) -> dict:
    """update -> model (on CPU) of every model a run or a file offers for selection."""
    models = dict(source.checkpoints)
    if isinstance(source, ModelFile):
        models.setdefault(selected_update(source), source.rbm)
        return models
    models.setdefault(source.update, source.rbm.to("cpu").clone())
    if source.best is not None:
        models.setdefault(source.best.update, source.best.rbm)
    return models


def selected_update(source: Trainer | ModelFile) -> int:
    """The update of the model a run or a file selects (a file without metadata: its last checkpoint)."""
    if isinstance(source, Trainer):
        return source.selected[0]
    meta = source.metadata
    fallback = max((u for u, _ in source.checkpoints), default=0)
    return int(meta.get("selected_update", meta.get("update", fallback)))


def best_update(source: Trainer | ModelFile) -> int | None:
    """The update of maximal test LL, if the run monitored one."""
    if isinstance(source, Trainer):
        return None if source.best is None else source.best.update
    best = source.metadata.get("best")
    return None if not isinstance(best, dict) else best.get("update")


def checkpoint_test_lls(source: Trainer | ModelFile) -> dict[int, float]:
    """update -> test LL from the evaluations, overridden by the PTT model selection where it ran."""
    if isinstance(source, ModelFile):
        meta = source.metadata
    else:
        meta = {"history": source.history, "ptt": source.ptt}
    out = {}
    for rec in [*meta.get("history", []), *meta.get("ptt", [])]:
        if rec.get("test_ll") is not None:
            out[int(rec["update"])] = float(rec["test_ll"])
    return out
