"""A residual MLP (depth model): s_{k+1} = s_k + Δ (W2 tanh(W1 s_k + b1) + b2), one θ_k per layer."""

from __future__ import annotations

import math

import torch

from .contract import Arch
from .family import Family, mv, outer_sum


class ResMLP(Family):
    name = Arch.RESMLP

    @property
    def state_dim(self) -> int:
        return self.sizes.D

    def shapes(self):
        D, m = self.sizes.D, self.sizes.m
        return {"W1": ((m, D), 1 / math.sqrt(D)), "b1": ((m,), 1 / math.sqrt(D)),
                "W2": ((D, m), 1 / math.sqrt(m)), "b2": ((D,), 1 / math.sqrt(m))}

    def field(self, s, th, x, sub, dt):
        return mv(torch.tanh(mv(s, th["W1"]) + th["b1"].unsqueeze(-2)), th["W2"]) + th["b2"].unsqueeze(-2)

    def vjp(self, s, th, x, sub, dt, p):
        z = torch.tanh(mv(s, th["W1"]) + th["b1"].unsqueeze(-2))  # [R, B, m]
        delta = (1 - z * z) * (p @ th["W2"])                    # ∂ℋ/∂(pre-activation)
        return delta @ th["W1"], {"W1": outer_sum(delta, s), "b1": delta.sum(-2),
                                  "W2": outer_sum(p, z), "b2": p.sum(-2)}
