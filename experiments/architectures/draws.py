"""Random networks and smooth drives θ(t), x(t) for every family.  All tensors carry a leading net axis R."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .family import Family


def randn(gen: torch.Generator, like: dict, *shape: int) -> Tensor:
    """Drawn on the generator's device (a CPU generator gives a CUDA run the CPU run's numbers), then moved."""
    return torch.randn(*shape, generator=gen, dtype=like["dtype"], device=gen.device).to(like.get("device", "cpu"))


def random_theta(fam: Family, gen, like, R: int, K: int) -> dict[str, Tensor]:
    """Independent random θ_k per layer (depth models) or one θ per net (recurrent ones)."""
    lead = (R,) if fam.shared else (R, K)
    return {n: std * randn(gen, like, *lead, *shape) for n, (shape, std) in fam.shapes().items()}


def random_problem(fam: Family, gen, like, R: int, B: int, K: int):
    """θ, inputs x [R, K, B, n] (or None), initial states s_0 [R, B, S] and targets y [R, B, readout]."""
    theta = random_theta(fam, gen, like, R, K)
    xs = randn(gen, like, R, K, B, fam.sizes.n_in) if fam.has_input else None
    return theta, xs, randn(gen, like, R, B, fam.state_dim), randn(gen, like, R, B, fam.readout)


@dataclass
class Drive:
    """A smooth control: θ(t) = θ_0 + θ_1 sin ωt + θ_2 cos ωt for depth models (θ constant for recurrent
    ones), and inputs x(t) of the same form; ω = 2π/T.  ``input_amp`` = 0 makes x(t) constant."""

    fam: Family
    theta: dict[str, Tensor]          # [3, R, ...] (depth) or [R, ...] (recurrent)
    x_coef: Tensor | None             # [3, R, B, n]
    T: float

    def _basis(self, t: Tensor) -> Tensor:
        w = 2 * math.pi / self.T
        return torch.stack([torch.ones_like(t), torch.sin(w * t), torch.cos(w * t)])  # [3, n_t]

    def theta_at(self, t: Tensor) -> dict[str, Tensor]:
        """θ at times t, with a layer axis [R, n_t, ...] for depth models."""
        if self.fam.shared:
            return self.theta
        return {n: torch.einsum("ck,cr...->rk...", self._basis(t), c) for n, c in self.theta.items()}

    def x_at(self, t: Tensor) -> Tensor | None:
        """x at times t [R, n_t, B, n] or None."""
        return None if self.x_coef is None else torch.einsum("ck,crbn->rkbn", self._basis(t), self.x_coef)


def smooth_drive(fam: Family, gen, like, R: int, B: int, T: float, *, input_amp: float = 0.5) -> Drive:
    amp = torch.tensor([1.0, 0.5, 0.5], **like)
    if fam.shared:
        theta = random_theta(fam, gen, like, R, 1)
    else:
        theta = {n: std * amp.reshape(3, *[1] * (1 + len(shape))) * randn(gen, like, 3, R, *shape)
                 for n, (shape, std) in fam.shapes().items()}
    x_coef = None
    if fam.has_input:
        x_amp = torch.tensor([1.0, input_amp, input_amp], **like)
        x_coef = x_amp.reshape(3, 1, 1, 1) * randn(gen, like, 3, R, B, fam.sizes.n_in)
    return Drive(fam, theta, x_coef, T)
