"""Recurrent nets in residual form, one θ shared by every time step, input x_k at step k.

Elman: s_{k+1} = s_k + Δ tanh(W s_k + U x_k + b).
LSTM as a first-order system in (h, c) (a continuous-time LSTM; Δ = 1 is the usual cell up to
using c_k rather than c_{k+1} in h's update):
    c' = (f − 1)⊙c + i⊙g,   h' = o⊙tanh(c) − h,   (f, i, o, g) = (σ, σ, σ, tanh)(W h + U x + b).
"""

from __future__ import annotations

import math

import torch

from .contract import Arch
from .family import Family, mv, outer_sum


class RNN(Family):
    name = Arch.RNN
    shared = True
    has_input = True

    @property
    def state_dim(self) -> int:
        return self.sizes.D

    def shapes(self):
        D, n = self.sizes.D, self.sizes.n_in
        return {"W": ((D, D), 1 / math.sqrt(D)), "U": ((D, n), 1 / math.sqrt(n)), "b": ((D,), 0.5)}

    def field(self, s, th, x, sub, dt):
        return torch.tanh(mv(s, th["W"]) + mv(x, th["U"]) + th["b"].unsqueeze(-2))

    def vjp(self, s, th, x, sub, dt, p):
        z = self.field(s, th, x, sub, dt)
        delta = (1 - z * z) * p
        return delta @ th["W"], {"W": outer_sum(delta, s), "U": outer_sum(delta, x), "b": delta.sum(-2)}


class LSTM(Family):
    name = Arch.LSTM
    shared = True
    has_input = True

    @property
    def state_dim(self) -> int:
        return 2 * self.sizes.D  # s = (h, c)

    @property
    def readout(self) -> int:
        return self.sizes.D

    def shapes(self):
        D, n = self.sizes.D, self.sizes.n_in
        return {"W": ((4 * D, D), 1 / math.sqrt(D)), "U": ((4 * D, n), 1 / math.sqrt(n)), "b": ((4 * D,), 0.5)}

    def _gates(self, h, th, x):
        a = mv(h, th["W"]) + mv(x, th["U"]) + th["b"].unsqueeze(-2)
        af, ai, ao, ag = a.chunk(4, -1)
        return torch.sigmoid(af), torch.sigmoid(ai), torch.sigmoid(ao), torch.tanh(ag)

    def field(self, s, th, x, sub, dt):
        h, c = s.chunk(2, -1)
        f, i, o, g = self._gates(h, th, x)
        return torch.cat([o * torch.tanh(c) - h, (f - 1) * c + i * g], -1)

    def vjp(self, s, th, x, sub, dt, p):
        h, c = s.chunk(2, -1)
        ph, pc = p.chunk(2, -1)
        f, i, o, g = self._gates(h, th, x)
        tc = torch.tanh(c)
        # ∂ℋ/∂(gate pre-activations), in W's row order (f, i, o, g)
        delta = torch.cat([pc * c * f * (1 - f), pc * g * i * (1 - i), ph * tc * o * (1 - o), pc * i * (1 - g * g)], -1)
        dh = delta @ th["W"] - ph
        dc = pc * (f - 1) + ph * o * (1 - tc * tc)
        return torch.cat([dh, dc], -1), {"W": outer_sum(delta, h), "U": outer_sum(delta, x), "b": delta.sum(-2)}
