"""Binary-binary RBM parameters and the closed-form quantities everything else is built on.

E(v, h) = -v W h - b v - c h;  F(v) = -b v - sum_a softplus(c_a + (v W)_a).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.errors import NeuroRBMError


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes CUDA, then MPS, then CPU; any other name is checked for availability."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise NeuroRBMError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU here")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise NeuroRBMError("device 'mps' was asked for, but it is not available here")
    if name != "cpu" and not name.startswith(("cuda", "mps")):
        raise NeuroRBMError(f"unknown device '{name}' (use auto, cpu, cuda or mps)")
    return torch.device(name)


@dataclass
class RBM:
    """Weights W (n_visible x n_hidden), visible biases b, hidden biases c: float32 tensors on one device."""

    W: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor

    def __post_init__(self) -> None:
        nv, nh = self.W.shape
        if self.b.shape != (nv,) or self.c.shape != (nh,):
            raise NeuroRBMError(
                f"parameter shapes do not match: W {tuple(self.W.shape)}, b {tuple(self.b.shape)}, "
                f"c {tuple(self.c.shape)}"
            )

    @classmethod
    def from_numpy(cls, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                   device: str | torch.device = "cpu") -> RBM:
        dev = torch.device(device)
        return cls(*(torch.as_tensor(np.asarray(x), dtype=torch.float32, device=dev) for x in (W, b, c)))

    def numpy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W, b, c) as float64 numpy arrays."""
        return tuple(x.detach().cpu().double().numpy() for x in (self.W, self.b, self.c))

    def to(self, device: str | torch.device) -> RBM:
        return RBM(self.W.to(device), self.b.to(device), self.c.to(device))

    def clone(self) -> RBM:
        return RBM(self.W.clone(), self.b.clone(), self.c.clone())

    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    @property
    def device(self) -> torch.device:
        return self.W.device

    def is_finite(self) -> bool:
        return all(bool(torch.isfinite(x).all()) for x in (self.W, self.b, self.c))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) for a batch of visible states (batch x n_visible)."""
        return -(v @ self.b) + hidden_free_energy(self.hidden_input(v))

    def hidden_input(self, v: torch.Tensor) -> torch.Tensor:
        return v @ self.W + self.c

    def visible_input(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.W.T + self.b

    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        """p(h_a = 1 | v)."""
        return torch.sigmoid(self.hidden_input(v))

    def p_v(self, h: torch.Tensor) -> torch.Tensor:
        """p(v_i = 1 | h)."""
        return torch.sigmoid(self.visible_input(h))


def hidden_free_energy(x: torch.Tensor, dim: int | None = -1) -> torch.Tensor:
    """The hidden layer's part of F(v), -sum_a softplus(x_a) with x = v W + c, summed over ``dim`` (None: over
    every entry). The one place the free energy's softplus is written: :meth:`RBM.free_energy`, AIS (at each
    inverse temperature) and the training's free-energy gap (from the products an update already has) use it.
    """
    return -F.softplus(x).sum(dim=dim)


def independent_rbm(frames: np.ndarray, n_hidden: int, *, weight_std: float = 1e-4, seed: int = 0,
                    device: str | torch.device = "cpu", clip: float = 1e-4) -> RBM:
    """The paper's initial model: small random W, c = 0, b = logit of the frames' means (clipped)."""
    mean = torch.as_tensor(np.asarray(frames, dtype=np.float64).mean(axis=0))
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(len(mean), n_hidden, generator=gen) * weight_std
    b = base_biases(mean, clip).float()
    return RBM(W, b, torch.zeros(n_hidden)).to(device)


def base_biases(mean: torch.Tensor, clip: float = 1e-4) -> torch.Tensor:
    """Visible biases of independent units with the given mean activity (clipped): logit(mean).

    The paper's initial b, and the starting model of AIS."""
    p = mean.clamp(clip, 1 - clip)
    return torch.log(p) - torch.log1p(-p)
