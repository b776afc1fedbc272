"""One PCD-k update of a Trainer: the minibatch, k sweeps of the persistent chains by the Gibbs engine, the
Rao-Blackwellised gradient (centred and normalised), the SGD or Adam step and the divergence check.

On a CPU the chains and the minibatch are cut into one block of rows per core, each with its own engine and
random stream, and each block runs its whole update in its own worker thread. :class:`PCDUpdates` is a part of
:class:`~napari_neurorbm.rbm.trainer.Trainer`: it owns the update's buffers, streams, minibatch order and
optimizer; the resumable state stores them.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor, wait

import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm import gradient
from napari_neurorbm.rbm.model import RBM, hidden_free_energy
from napari_neurorbm.rbm.partition import wide
from napari_neurorbm.rbm.sampling import Bernoulli, Sweeper

CHECK_EVERY = 50  # updates between two host-side checks on a GPU


class PCDUpdates:
    """The PCD-k update (a part of the Trainer)."""

    def _reseed(self, *seed: int) -> None:
        """One independent Bernoulli stream per block of rows, and the block's Gibbs engine drawing from it
        (see :meth:`_step`)."""
        nv, nh = self.rbm.n_visible, self.config.n_hidden
        self._berns = [Bernoulli(self.device, (*seed, i)) for i in range(len(self._blocks))]
        self._sweepers = [
            Sweeper(c1 - c0, nv, nh, bern, sparse=self._mask is not None, h=self._h[c0:c1, :nh],
                    mask=None if self._mask is None else self._mask[c0:c1])
            for (_, _, c0, c1), bern in zip(self._blocks, self._berns, strict=True)
        ]

    def _buffers(self, nv: int, sparse: bool) -> None:
        """Preallocated operands. A column of ones beside the frames folds the hidden biases into the data
        term (x = [v 1] [W; c]); beside the frames and the hidden units it makes the gradient products also
        return the column sums (the bias gradients), so no extra reduction of that size. ``sparse``: the
        chains' sweeps use the sparse kernel on a bool mask of the chains (CPU)."""
        cfg, dev, nh = self.config, self.device, self.config.n_hidden
        bs = self._batch_size = min(cfg.batch, len(self._train))
        # on a CPU, each core runs the whole update on its own block of chains and frames (see _step)
        n = 1 if dev.type != "cpu" else max(1, min(torch.get_num_threads(), bs, cfg.chains))
        self._blocks = [
            (i * bs // n, (i + 1) * bs // n, i * cfg.chains // n, (i + 1) * cfg.chains // n) for i in range(n)
        ]
        self._batch_loaded = False
        small = self._train.dtype == torch.uint8
        self._batch_u8 = torch.empty(bs, nv + 1, dtype=torch.uint8, device=dev) if small else None
        self._batch = torch.empty(bs, nv + 1, device=dev)
        self.chains = torch.empty(cfg.chains, nv, device=dev)  # the persistent chains
        self._mask = torch.empty(cfg.chains, nv, dtype=torch.bool) if sparse else None
        self._x_data = torch.empty(bs, nh, device=dev)
        self._ph_data = torch.ones(bs, nh + 1, device=dev)
        self._h = torch.ones(cfg.chains, nh + 1, device=dev)
        # W and c live in one matrix [W; c], so that [v 1] [W; c] = v W + c needs no copy
        self._wc = torch.cat([self.rbm.W, self.rbm.c[None]])
        self.rbm = RBM(self._wc[:-1], self.rbm.b, self._wc[-1])
        self._g_data = torch.empty(n, nv, nh + 1, device=dev)
        self._g_chain = torch.empty(n, nv, nh + 1, device=dev)
        self._prev = [x.clone() for x in (self.rbm.W, self.rbm.b, self.rbm.c)]
        # divergence checks (and the free-energy gap) need the host: every update on a CPU, every
        # CHECK_EVERY updates on a GPU, where a host round trip would stall the queue of kernels
        self._check_every = 1 if dev.type == "cpu" else CHECK_EVERY

    def _batch_rows(self) -> torch.Tensor | None:
        """Row indices of the next minibatch (None: the whole training set, already in the buffer)."""
        n, bs = len(self._train), self._batch_size
        if bs == n:
            if not self._batch_loaded:
                self._batch.copy_(self._train)
                self._batch_loaded = True
            return None
        if len(self._order) < bs:  # a new epoch: shuffle once, on the device (no transfer per update)
            order = torch.randperm(n, generator=self._batch_gen)
            if self.device.type == "cuda":  # copied behind the queued kernels, without waiting for them
                order = order.pin_memory()
            self._order = order.to(self.device, non_blocking=True)
        idx, self._order = self._order[:bs], self._order[bs:]
        return idx

    def _step(self) -> dict:
        """One PCD-k update. On a CPU the chains and the minibatch are cut into one block of rows per core and
        each block runs its whole update (data term, k sweeps, its share of the gradient) in its own worker
        thread with one torch thread: the cores never wait for each other inside an update, and each block
        draws from its own random stream. The shares are summed and the step is taken here."""
        cfg, rbm = self.config, self.rbm
        nh, bs, nc = cfg.n_hidden, self._batch_size, cfg.chains
        idx = self._batch_rows()
        if self._pv_mean is None:
            self._pv_mean = self.chains.mean(0)
        if len(self._blocks) == 1:
            parts = [self._block_update(0, idx)]
        else:
            pool = single_thread_workers(len(self._blocks))
            futures = [pool.submit(self._block_update, i, idx) for i in range(len(self._blocks))]
            try:
                parts = [f.result() for f in futures]
            finally:  # even on Ctrl-C: never leave a worker writing into the chains
                wait(futures)
        g_data, g_chain = self._g_data.sum(0), self._g_chain.sum(0)
        f_data, f_chains, ph_sum, h_sum = (sum(p[j] for p in parts) for j in range(4))
        mu, lam = g_data[:, nh] / bs, ph_sum / bs  # data means of v and of p(h | v): the centring offsets
        # cheap indicator: mean F(data) - mean F(chains) under the current model; 0 when chains look like data
        fe_gap = (self._pv_mean - mu) @ rbm.b - f_chains / nc + f_data / bs
        self._pv_mean = g_chain[:, nh] / nc  # Rao-Blackwellised mean of the new chains
        g_data.div_(bs).sub_(g_chain, alpha=1.0 / nc)  # [grad W | grad b]
        grad_w, grad_b, grad_c = g_data[:, :nh], g_data[:, nh], lam - h_sum / nc
        if cfg.centered:
            gradient.center_(grad_w, grad_b, grad_c, mu, lam)
        if cfg.normalize:
            gradient.normalize_(grad_w, grad_b, grad_c)
        every = self._check_every
        if self.update % every == 0:  # parameters known to be finite (checked at the end of the last step)
            for p, q in zip(self._prev, (rbm.W, rbm.b, rbm.c), strict=True):
                p.copy_(q)
        self._apply(grad_w, grad_b, grad_c)
        if (self.update + 1) % every:  # a GPU keeps working between checks: no host round trip
            return {}
        check = rbm.W.sum() + rbm.b.sum() + rbm.c.sum() + fe_gap  # NaN or inf anywhere makes it non-finite
        fe_gap_v, check_v = torch.stack([fe_gap, check]).to(wide(self.device)).tolist()
        if not math.isfinite(check_v):
            self._diverge()
        return {"fe_gap": fe_gap_v}

    def _block_update(self, i: int, idx: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """Data term, k sweeps of the block's chains by its engine and its gradient share; returns (the hidden
        part of F summed over its frames, the same over its chains before the sweeps, column sums of
        p(h | frames), column sums of the last h)."""
        b0, b1, c0, c1 = self._blocks[i]
        nh, sweeper = self.config.n_hidden, self._sweepers[i]
        data = self._batch[b0:b1]
        if idx is not None:
            if self._batch_u8 is None:
                torch.index_select(self._train, 0, idx[b0:b1], out=data)
            else:
                torch.index_select(self._train, 0, idx[b0:b1], out=self._batch_u8[b0:b1])
                data.copy_(self._batch_u8[b0:b1])
        x_data, ph_data = self._x_data[b0:b1], self._ph_data[b0:b1]
        torch.mm(data, self._wc, out=x_data)
        f_data = hidden_free_energy(x_data, dim=None)
        torch.sigmoid(x_data, out=ph_data[:, :nh])
        chains = self.chains[c0:c1]
        x = sweeper.hidden_input(self.rbm, chains)
        f_chains = hidden_free_energy(x, dim=None)
        # the last p(v | h) stays for the gradient (Rao-Blackwellised over v)
        sweeper.run(self.rbm, chains, self.config.k, x=x, keep_p=True)
        torch.mm(data[:, :-1].T, ph_data, out=self._g_data[i])  # [D^T p(h | D) | column sums of D]
        # [p(v | h)^T h | column sums of p(v | h)]
        torch.mm(sweeper.p_v.T, self._h[c0:c1], out=self._g_chain[i])
        return f_data, f_chains, ph_data[:, :nh].sum(0), sweeper.h.sum(0)

    def learning_rate(self, update: int) -> float:
        """The SGD step at ``update``: ``lr``, or ``lr / sqrt(1 + update / lr_decay)`` with a decay time, a
        function of the update count alone, so that seeded and resumed runs stay exact."""
        cfg = self.config
        return cfg.lr / math.sqrt(1 + update / cfg.lr_decay) if cfg.lr_decay else cfg.lr

    def _apply(self, grad_w: torch.Tensor, grad_b: torch.Tensor, grad_c: torch.Tensor) -> None:
        """One step up the log-likelihood gradient: plain SGD, or Adam."""
        rbm = self.rbm
        if self.config.optimizer == "sgd":
            lr = self.learning_rate(self.update)
            rbm.W.add_(grad_w, alpha=lr)
            rbm.b.add_(grad_b, alpha=lr)
            rbm.c.add_(grad_c, alpha=lr)
            return
        if self._opt is None:
            self._opt = self._adam()
        for p, g in zip((rbm.W, rbm.b, rbm.c), (grad_w, grad_b, grad_c), strict=True):
            p.grad = g
        self._opt.step()

    def _diverge(self) -> None:
        for p, q in zip((self.rbm.W, self.rbm.b, self.rbm.c), self._prev, strict=True):
            p.copy_(q)
        failed, self.update = self.update + 1, self.update - self.update % self._check_every
        self.diverged = True
        self._checkpoint()
        raise NeuroRBMError(
            f"training diverged at update {failed}: the parameters or log Z became NaN/inf "
            f"(learning rate {self.config.lr} too large?); kept the model of update {self.update} and the "
            "checkpoints before it"
        )

    def _adam(self) -> torch.optim.Adam:
        """Adam on W, b and c, stepping up the gradient (the log-likelihood is maximised)."""
        rbm = self.rbm
        return torch.optim.Adam([rbm.W, rbm.b, rbm.c], lr=self.config.lr, maximize=True)


@functools.cache
def single_thread_workers(n: int) -> ThreadPoolExecutor:
    """Worker threads that each run torch with one thread (torch's thread count is per calling thread)."""
    return ThreadPoolExecutor(
        n, thread_name_prefix="neurorbm-pcd", initializer=torch.set_num_threads, initargs=(1,)
    )
