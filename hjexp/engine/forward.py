"""Derivatives of a model in x from one [E, n, N] logit tensor: f, π, ∇ and the Hessian c·Cov_π/ε.

Both forms are handled on the network side (W = y/2t for Hopf–Cole, whose output is
u = |x|²/4t − f): ∇ pred = s·E_π[w] + ∇offset and ∇² pred = s·Cov_π(w)/ε + ∇²offset, where
s = c (or 1) for LSE and −1 for Hopf–Cole. π comes from the form's own logits (distances for
Hopf–Cole), so these are closed forms checked against autograd in tests/test_engine.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hjexp.engine import closed
from hjexp.engine.models import HopfCole, Model


@dataclass
class Forward:
    model: Model
    x: Tensor  # [n, d] or [E, n, d]
    z: Tensor  # [E, n, N] logits, computed once
    pi: Tensor  # [E, n, N] Gibbs weights
    f: Tensor  # [E, n] ε-LSE of z

    @property
    def value(self) -> Tensor:
        """Model output [E, n]."""
        return self.model.output(self.f, self.x)

    def _w_and_scale(self) -> tuple[Tensor, Tensor]:
        m = self.model
        W = m.to_lse().W if isinstance(m, HopfCole) else m.W  # [E, N, d]
        c = m.readout()
        s = torch.full_like(m.eps, m.sign) if c is None else c  # [E]
        if self.model.neuron_mask is not None:
            W = W.masked_fill(~m.neuron_mask[..., None], 0.0)  # π = 0 there, avoid 0·inf
        return W, s

    def gradient(self) -> Tensor:
        """∇_x pred [E, n, d]."""
        W, s = self._w_and_scale()
        g = s[:, None, None] * closed.gradient(self.pi, W)
        if isinstance(self.model, HopfCole):
            g = g + self.x / (2 * self.model.t)
        return g

    def entropy(self) -> Tensor:
        """H(π) [E, n]."""
        return closed.entropy(self.pi)

    def hessian(self) -> Tensor:
        """∇²_x pred = s·Cov_π(w)/ε (+ I/2t for Hopf–Cole)  [E, n, d, d]; the readout is never dropped."""
        W, s = self._w_and_scale()
        H = closed.hessian(self.pi, W, self.model.eps, readout=s)
        if isinstance(self.model, HopfCole):
            eye = torch.eye(W.shape[-1], dtype=W.dtype, device=W.device)
            H = H + eye / (2 * self.model.t)
        return H


def forward(model: Model, x: Tensor) -> Forward:
    """Logits once, then π and f from them (reference path, autograd-capable)."""
    z = model.logits(x)
    return Forward(model, x, z, closed.gibbs(z, model.eps), closed.lse(z, model.eps))
