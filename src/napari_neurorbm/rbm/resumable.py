"""The resumable state of a Trainer: what a model file stores besides the models, chains and history so that
a stopped run continues exactly, bit for bit on a CPU, as it would have without the stop.

:class:`ResumableState` is a part of :class:`~napari_neurorbm.rbm.trainer.Trainer`.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from napari_neurorbm.rbm.io import ModelFile


class ResumableState:
    """Saving and restoring the random streams, minibatch order, optimizer moments and checks of a run."""

    def _layout(self) -> dict:
        """What the random streams and the minibatch order are tied to: a stored position continues them
        only where these are the same."""
        return {
            "device": self.device.type,
            "blocks": len(self._blocks),
            "batch": self._batch_size,
            "chains": self.config.chains,
            "train_frames": len(self._train),
        }

    def resume_state(self) -> dict:
        """Everything a continuation needs besides the current model (the file's last checkpoint), chains,
        history and best model: the position of every random stream, the rest of the epoch's minibatch
        order, the optimizer's moments, the chains' mean p(v | h), the last parameters known to be finite
        and which checkpoints the run keeps. ``save_model`` stores the arrays as arrays, the rest as JSON."""
        state = {
            "layout": self._layout(),
            "checkpoints": [u for u, _ in self.checkpoints],
            "streams": np.stack([bern.get_state() for bern in self._berns]),
            "batch_order_gen": self._batch_gen.get_state().numpy(),
            "batch_order": self._order.cpu().numpy(),
            **{f"prev_{name}": x.cpu().numpy() for name, x in zip("Wbc", self._prev, strict=True)},
        }
        if self._pv_mean is not None:
            state["pv_mean"] = self._pv_mean.cpu().numpy()
        if self._opt is not None:
            for i, moments in self._opt.state_dict()["state"].items():
                state.update({f"adam_{i}_{key}": value.cpu().numpy() for key, value in moments.items()})
        return state

    def _restore_state(self, model: ModelFile) -> None:
        """Continue from ``model.state`` (see :meth:`resume_state`). The random streams, the minibatch order
        and the chains' mean continue only when the layout is the same (device, CPU blocks, batch, chains,
        training frames); otherwise they stay freshly seeded and a warning says the run is no longer exact."""
        state, meta = model.state, model.metadata
        kept = set(state.get("checkpoints", []))
        self.checkpoints = [(u, m) for u, m in self.checkpoints if u in kept]
        self.ptt = list(meta.get("ptt", []))
        self.selection = meta.get("selection")
        self.log_z = meta.get("log_z")
        for p, name in zip(self._prev, "Wbc", strict=True):
            p.copy_(torch.as_tensor(state[f"prev_{name}"]))
        self._restore_optimizer(state)
        saved, now = state.get("layout", {}), self._layout()
        if saved != now:
            changed = ", ".join(f"{k} {saved.get(k)} -> {v}" for k, v in now.items() if saved.get(k) != v)
            warnings.warn(
                f"the run continues with fresh random streams, so not exactly as it would have without the "
                f"stop ({changed})",
                stacklevel=3,
            )
            return
        for bern, position in zip(self._berns, state["streams"], strict=True):
            bern.set_state(position)
        self._batch_gen.set_state(torch.from_numpy(np.array(state["batch_order_gen"], dtype=np.uint8)))
        self._order = torch.tensor(state["batch_order"], dtype=torch.int64, device=self.device)
        if "pv_mean" in state:
            self._pv_mean = torch.tensor(state["pv_mean"], device=self.device)

    def _restore_optimizer(self, state: dict) -> None:
        """Adam continues with its stored moments and step count (a file without them: fresh moments)."""
        stored = {k for k in state if k.startswith("adam_")}
        if self.config.optimizer != "adam" or not stored:
            return
        moments: dict[int, dict] = {}
        for name in stored:
            i, key = name[len("adam_"):].split("_", 1)
            moments.setdefault(int(i), {})[key] = torch.tensor(state[name])
        self._opt = self._adam()
        full = self._opt.state_dict()
        full["state"] = moments
        self._opt.load_state_dict(full)
