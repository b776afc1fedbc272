"""The training step's gradient: centring on the data means, and a step of fixed length.

Centring (Melchior, Fischer & Wiskott, JMLR 2016). Write the energy with offsets, E = -(v - mu) W (h - lam)
- b' v - c' h, where mu is the data mean of v and lam the data mean of p(h | v). It is the same family of
models, with b = b' - W lam and c = c' - W^T mu. Gradient ascent in the centred parameters, mapped back to
(W, b, c), replaces the raw gradient (gW, gb, gc) = (<v h>_d - <v h>_m, <v>_d - <v>_m, <h>_d - <h>_m) by

    gW' = <(v - mu)(h - lam)>_d - <(v - mu)(h - lam)>_m = gW - mu gc^T - gb lam^T
    gb' = gb - gW' lam
    gc' = gc - gW'^T mu

The map is linear and invertible (given mu, lam), so the centred gradient is zero exactly where the raw one
is: the fixed points of learning do not move, only the path to them (the raw gradient mixes the large mean
activities into every weight; centring takes them out, which is why the weights start learning at once
instead of after a long plateau). Every term is a rank-one update or a matrix-vector product of quantities an
update already has, so centring adds no product of the size of the data.

The normalised step (as in the ``rbms`` package) divides the whole gradient by its Euclidean norm over all
parameters, so that an SGD step moves the parameters by exactly the learning rate: the step length no
longer depends on how large the gradient happens to be (tiny at the start, noisy later).
"""

from __future__ import annotations

import torch


def center_(
    gw: torch.Tensor, gb: torch.Tensor, gc: torch.Tensor, mu: torch.Tensor, lam: torch.Tensor
) -> None:
    """Turn the raw gradient (gw, gb, gc) into the centred one, in place (formulas in the module doc)."""
    gw.sub_(torch.outer(mu, gc)).sub_(torch.outer(gb, lam))
    gb.sub_(gw @ lam)
    gc.sub_(mu @ gw)


def normalize_(*grads: torch.Tensor) -> None:
    """Divide all gradients by their joint Euclidean norm, in place, on their device (no host round trip).
    A gradient of norm zero stays zero."""
    norm = torch.sqrt(sum(g.square().sum() for g in grads))
    scale = torch.where(norm > 0, norm.reciprocal(), torch.zeros_like(norm))
    for g in grads:
        g.mul_(scale)
