"""The one Gibbs engine of the package: block Gibbs sampling of a binary RBM (:class:`Sweeper`), optionally
with some visible units clamped to fixed values (:class:`Clamp`). PCD training, generation in time, clamping
experiments, AIS and PTT all sample through it.

Drawing the Bernoulli variables is the costly part of sampling on a CPU (``torch.rand`` there spends more
time than the matrix products), so repeated sweeps use :class:`Bernoulli`: on a CPU it compares the
probabilities with 16-bit uniform integers, four per 64-bit draw of numpy's SFC64 generator (probabilities
are rounded to the nearest multiple of 1/65536, far below the sampling noise of any estimate made from the
chains); on a GPU it uses ``torch.rand`` on the device, which is fast there and needs no host round trip.
Recorded neurons are silent in most frames, and so are the chains: on a CPU, v W + c of a sparse state is
the sum of the W rows of its active units (:func:`binary_matmul`), a fraction of the dense product's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.model import RBM

SPARSE_MAX = 0.15  # on a CPU, states at most this active (fraction of 1s) multiply as lists of active units


@dataclass
class Clamp:
    """Visible units held fixed during sampling: ``values`` is (len(units),) or (chains, len(units)), 0/1."""

    units: np.ndarray
    values: torch.Tensor

    def __post_init__(self) -> None:
        self.units = np.asarray(self.units, dtype=np.int64).reshape(-1)
        self.values = torch.as_tensor(self.values)
        if self.values.shape[-1:] != (len(self.units),) or self.values.ndim not in (1, 2):
            raise NeuroRBMError(
                f"clamp values of shape {tuple(self.values.shape)} do not fit {len(self.units)} clamped units"
            )

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        """Write the clamped values into ``v`` (chains x n_visible) in place and return it."""
        if len(self.units) == 0:
            return v
        if self.units.min() < 0 or self.units.max() >= v.shape[1]:
            raise NeuroRBMError(f"clamped unit index out of range for {v.shape[1]} visible units")
        if self.values.ndim == 2 and self.values.shape[0] != v.shape[0]:
            raise NeuroRBMError(f"clamp values are given for {self.values.shape[0]} chains, not {v.shape[0]}")
        idx = torch.as_tensor(self.units, device=v.device)
        v[:, idx] = self.values.to(device=v.device, dtype=v.dtype).expand(v.shape[0], len(self.units))
        return v


def gibbs(
    rbm: RBM,
    v: torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
    clamp: Clamp | None = None,
) -> torch.Tensor:
    """``steps`` full v -> h -> v sweeps from a copy of ``v``; clamped units are set at the start and never
    move. A one-off run of the engine (:class:`Sweeper`), seeded from ``generator``."""
    v = v.to(device=rbm.device, dtype=torch.float32).clone()
    return _one_off(rbm, len(v), generator).run(rbm, v, steps, clamp=clamp)


def sample_hidden(rbm: RBM, v: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """h ~ p(h | v) for a batch of visible states (a half-sweep of the engine, seeded from ``generator``)."""
    v = v.to(device=rbm.device, dtype=torch.float32)
    return _one_off(rbm, len(v), generator).hidden(rbm, v)


def sample_visible(
    rbm: RBM, h: torch.Tensor, generator: torch.Generator | None = None, clamp: Clamp | None = None
) -> torch.Tensor:
    """v ~ p(v | h), with clamped units (if any) set to their values (one half-sweep of the engine)."""
    h = h.to(device=rbm.device, dtype=torch.float32)
    v = torch.empty(len(h), rbm.n_visible, device=rbm.device)
    _one_off(rbm, len(h), generator).visible(rbm, h, out=v)
    return v if clamp is None else clamp.apply(v)


def _one_off(rbm: RBM, n_chains: int, generator: torch.Generator | None) -> Sweeper:
    return Sweeper(n_chains, rbm.n_visible, rbm.n_hidden, Bernoulli(rbm.device, seed_from(generator)))


def seed_from(generator: torch.Generator | None) -> int:
    """A seed drawn from ``generator`` (or torch's global generator), so seeded calls are reproducible."""
    device = generator.device if generator is not None else "cpu"
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=device).item())


def draw_independent(bernoulli: Bernoulli, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Exact samples of the W = 0 model with visible biases ``b`` (independent units, p = sigmoid(b)) into
    ``out`` (chains x n_visible): where PCD chains, AIS and PTT start."""
    return bernoulli.draw(torch.sigmoid(b).expand(out.shape).contiguous(), out=out)

class Bernoulli:
    """Fast independent 0/1 draws with given probabilities; seeded, so repeated runs give the same draws.

    On a CPU the uniforms are 16-bit integers, four per 64-bit output of numpy's SFC64 generator; on other
    devices ``torch.rand`` with a device generator. ``seed`` is an int or a sequence of ints (e.g. (seed,
    part) for one of several independent streams).
    """

    def __init__(self, device: str | torch.device, seed: int | Sequence[int]) -> None:
        self.device = torch.device(device)
        seq = np.random.SeedSequence(seed)
        if self.device.type == "cpu":
            self._bits = np.random.SFC64(seq)
            self._offset = torch.tensor(-32768.5)
        else:
            start = int(seq.generate_state(1, np.uint64)[0]) % 2**63
            self._gen = torch.Generator(device=self.device).manual_seed(start)
        self._scratch: torch.Tensor | None = None

    def get_state(self) -> np.ndarray:
        """The stream's exact position, to continue it later with :meth:`set_state`: on a CPU SFC64's four
        state words and its buffered 32-bit half (6 uint64), elsewhere the torch generator's state bytes."""
        if self.device.type != "cpu":
            return self._gen.get_state().numpy()
        s = self._bits.state
        return np.array([*s["state"]["state"], s["has_uint32"], s["uinteger"]], dtype=np.uint64)

    def set_state(self, state: np.ndarray) -> None:
        """Continue from a position returned by :meth:`get_state` of a stream on the same kind of device."""
        if self.device.type != "cpu":
            self._gen.set_state(torch.from_numpy(np.array(state, dtype=np.uint8)))
            return
        words = np.asarray(state, dtype=np.uint64)
        self._bits.state = {
            "bit_generator": "SFC64",
            "state": {"state": words[:4].copy()},
            "has_uint32": int(words[4]),
            "uinteger": int(words[5]),
        }

    def draw(self, p: torch.Tensor, out: torch.Tensor, keep_p: bool = True) -> torch.Tensor:
        """Write Bernoulli(p) samples (0./1.) into ``out`` (float32, shape of ``p``, may be a strided view).

        ``p`` is overwritten unless ``keep_p``. Every step works in place (uniforms go straight into ``out``,
        then ``out < threshold`` overwrites them), which is lighter on the memory bus than new buffers.
        """
        if self.device.type != "cpu":
            torch.rand(out.shape, generator=self._gen, device=out.device, out=out)
            return out.lt_(p)
        thr = self._threshold(p, keep_p)
        return self._uniforms(out).lt_(thr)

    def draw_mask(self, p: torch.Tensor, out: torch.Tensor, keep_p: bool = True) -> torch.Tensor:
        """The same draws as :meth:`draw` (CPU only, ``p`` contiguous), into the bool mask ``out``. numpy
        compares the 16-bit integers with the float thresholds directly, without first widening them to
        floats, and a bool mask is a quarter of the memory traffic; it feeds :func:`active_units`."""
        thr = self._threshold(p, keep_p)
        n = p.numel()
        bits = self._bits.random_raw((n + 3) // 4).view(np.int16)[:n].reshape(p.shape)
        np.less(bits, thr.numpy(), out=out.numpy())
        return out

    def _threshold(self, p: torch.Tensor, keep_p: bool) -> torch.Tensor:
        """65536 p - 32768.5, in place unless ``keep_p``: u < it with u uniform on {-32768, ..., 32767} has
        probability p rounded to a multiple of 2^-16."""
        if not keep_p:
            return torch.add(self._offset, p, alpha=65536.0, out=p)
        if self._scratch is None or self._scratch.numel() < p.numel():
            self._scratch = torch.empty(p.numel())
        return torch.add(self._offset, p, alpha=65536.0, out=self._scratch[: p.numel()].view(p.shape))

    def _uniforms(self, out: torch.Tensor) -> torch.Tensor:
        """Fill ``out`` with 16-bit uniform integers (as floats), four per 64-bit SFC64 draw."""
        n = out.numel()
        bits = self._bits.random_raw((n + 3) // 4).view(np.int16)[:n]
        return out.copy_(torch.from_numpy(bits).view(out.shape))


def active_units(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where a (rows x units) bool CPU mask is true, as ``embedding_bag`` wants it: the unit of every true
    entry, row by row, and the offset of each row's first entry in that list."""
    rows, units = mask.shape
    flat = torch.from_numpy(np.flatnonzero(mask.numpy()))
    offsets = torch.searchsorted(flat, torch.arange(0, rows * units, units))
    return flat.remainder_(units), offsets


def binary_matmul(mask: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``mask.float() @ weight`` for a sparse bool mask: the sum of the weight rows of each row's active
    units. On a CPU at a few percent activity this costs a fraction of the dense product."""
    units, offsets = active_units(mask)
    return F.embedding_bag(units, weight, offsets, mode="sum")


class Sweeper:
    """The Gibbs engine: block-Gibbs sweeps of ``n_chains`` chains of an RBM, in place, on preallocated
    buffers (no allocation per step) and one random stream (``bernoulli``). Training, generation, clamping,
    AIS and PTT all sample through it.

    v W + c has two kernels: the dense product, and on a CPU the sparse one, the sum of the W rows of each
    chain's active units (:func:`binary_matmul`). ``sparse`` True or False fixes the kernel (a CPU only takes
    True); None picks the sparse one for each sweep whose states are at most ``SPARSE_MAX`` active. While a
    CPU run may use the sparse kernel the visible layer stays a bool mask between sweeps (drawn by
    :meth:`Bernoulli.draw_mask`, the same draws as :meth:`Bernoulli.draw`) and is written back into the
    float states at the end. ``h`` and ``mask`` may be given as buffers (views into the caller's arrays, e.g.
    the hidden units beside a column of ones).
    """

    def __init__(self, n_chains: int, n_visible: int, n_hidden: int, bernoulli: Bernoulli, *,
                 sparse: bool | None = None, h: torch.Tensor | None = None,
                 mask: torch.Tensor | None = None) -> None:
        dev = bernoulli.device
        self.bernoulli = bernoulli
        self.sparse = sparse if dev.type == "cpu" else False
        self.h = torch.empty(n_chains, n_hidden, device=dev) if h is None else h
        self.p_h = torch.empty(n_chains, n_hidden, device=dev)
        self.p_v = torch.empty(n_chains, n_visible, device=dev)
        if self.sparse is not False and mask is None:
            mask = torch.empty(n_chains, n_visible, dtype=torch.bool)
        self._mask = None if self.sparse is False else mask

    def run(self, rbm: RBM, v: torch.Tensor, steps: int, *, clamp: Clamp | None = None,
            x: torch.Tensor | None = None, keep_p: bool = False) -> torch.Tensor:
        """``steps`` sweeps v -> h -> v of the chains in ``v`` (n_chains x n_visible, float32), in place;
        returns ``v``. Clamped units are set at the start and after every sweep, so they never move. ``x``
        is v W + c of the starting states when the caller already has it; with ``keep_p`` the last
        p(v | h) stays in ``self.p_v`` (the Rao-Blackwellised model term of the gradient reads it)."""
        if clamp is not None:
            clamp.apply(v)
        state = v if self._mask is None else self._mask  # where the visible layer lives between sweeps
        for step in range(steps):
            h = self.hidden(rbm, v, x=x if step == 0 else self._hidden_input(rbm, v))
            self.visible(rbm, h, out=state, keep_p=keep_p and step == steps - 1)
            if clamp is not None:
                clamp.apply(state)
        if state is not v and steps:
            np.copyto(v.numpy(), state.numpy())
        return v

    def hidden_input(self, rbm: RBM, v: torch.Tensor) -> torch.Tensor:
        """v W + c of the states ``v`` into the buffer of p(h | v), by the dense or the sparse kernel."""
        if self._mask is not None:  # numpy: several times faster than torch at float <-> bool on a CPU
            np.not_equal(v.numpy(), 0, out=self._mask.numpy())
        return self._hidden_input(rbm, v)

    def _hidden_input(self, rbm: RBM, v: torch.Tensor) -> torch.Tensor:
        """v W + c of the current states: in the mask while one is kept, else in ``v``."""
        mask = self._mask
        if mask is not None and (self.sparse or np.count_nonzero(mask.numpy()) <= SPARSE_MAX * mask.numel()):
            return torch.add(binary_matmul(mask, rbm.W), rbm.c, out=self.p_h)
        if mask is not None:  # the dense product reads the states as floats
            np.copyto(v.numpy(), mask.numpy())
        return torch.addmm(rbm.c, v, rbm.W, out=self.p_h)

    def hidden(self, rbm: RBM, v: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """h ~ p(h | v) into the hidden buffer; ``x`` is v W + c when the caller already has it."""
        if x is None:
            x = self.hidden_input(rbm, v)
        torch.sigmoid(x, out=self.p_h)
        return self.bernoulli.draw(self.p_h, out=self.h, keep_p=False)

    def visible(self, rbm: RBM, h: torch.Tensor, out: torch.Tensor, keep_p: bool = False) -> torch.Tensor:
        """v ~ p(v | h) into ``out``: float 0/1 states, or on a CPU a bool mask; with ``keep_p``, p(v | h)
        stays in ``self.p_v`` until the next call."""
        torch.addmm(rbm.b, h, rbm.W.T, out=self.p_v)
        torch.sigmoid(self.p_v, out=self.p_v)
        if out.dtype == torch.bool:
            return self.bernoulli.draw_mask(self.p_v, out=out, keep_p=keep_p)
        return self.bernoulli.draw(self.p_v, out=out, keep_p=keep_p)
