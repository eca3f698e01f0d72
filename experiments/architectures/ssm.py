"""A diagonal linear state-space model (S4D-real/Mamba-style): ṡ = A⊙s + B x(t), A = −exp(ν) < 0.

Euler:  s_{k+1} = s_k + Δ (A⊙s_k + B x_k).
ZOH:    s_{k+1} = e^{AΔ}⊙s_k + (e^{AΔ} − 1)/A ⊙ B x_k (input held over the step), in residual form
        s_{k+1} = s_k + Δ F_Δ(s_k) with F_Δ = (e^{AΔ} − 1)/Δ ⊙ s + (e^{AΔ} − 1)/(AΔ) ⊙ B x.
θ = (ν, B) is shared by every step.
"""

from __future__ import annotations

import math

import torch

from .contract import Arch
from .family import Family, mv, outer_sum


class _SSM(Family):
    shared = True
    has_input = True

    @property
    def state_dim(self) -> int:
        return self.sizes.D

    def shapes(self):
        return {"nu": ((self.sizes.D,), 0.5), "B": ((self.sizes.D, self.sizes.n_in), 1 / math.sqrt(self.sizes.n_in))}

    def continuous_field(self, s, th, x):
        return -torch.exp(th["nu"]).unsqueeze(-2) * s + mv(x, th["B"])


class SSMEuler(_SSM):
    name = Arch.SSM_EULER

    def field(self, s, th, x, sub, dt):
        return self.continuous_field(s, th, x)

    def vjp(self, s, th, x, sub, dt, p):
        A = -torch.exp(th["nu"]).unsqueeze(-2)  # [R, 1, D]; ∂A/∂ν = A
        return A * p, {"nu": (p * s * A).sum(-2), "B": outer_sum(p, x)}


class SSMZOH(_SSM):
    name = Arch.SSM_ZOH

    @staticmethod
    def _coefficients(nu, dt):
        """A, (e^{AΔ} − 1)/Δ and (e^{AΔ} − 1)/(AΔ), each [R, 1, D] (expm1: no cancellation at small AΔ)."""
        A = -torch.exp(nu).unsqueeze(-2)
        em1 = torch.expm1(A * dt)
        return A, em1 / dt, em1 / (A * dt)

    def field(self, s, th, x, sub, dt):
        A, a_s, a_u = self._coefficients(th["nu"], dt)
        return a_s * s + a_u * mv(x, th["B"])

    def vjp(self, s, th, x, sub, dt, p):
        A, a_s, a_u = self._coefficients(th["nu"], dt)
        E = 1 + a_s * dt  # e^{AΔ}
        u = mv(x, th["B"])
        # ∂F_Δ/∂ν = A ∂F_Δ/∂A = A E s + (E − (E − 1)/(AΔ)) u
        return a_s * p, {"nu": (p * (A * E * s + (E - a_u) * u)).sum(-2), "B": outer_sum(a_u * p, x)}
