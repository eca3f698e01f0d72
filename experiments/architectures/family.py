"""What every architecture supplies, and the one discretisation they all share.

A network of this experiment is the recurrence s_{j+1} = s_j + Δ·F_j(s_j) on a state s [R, B, S]
(R independent nets, B inputs or sequences, S state components), j = k·substeps + sub: K layers or
time steps, each of ``substeps`` Euler sub-steps (a transformer block is attention then MLP: 2).
Its Hamiltonian is ℋ_j = p_{j+1}·F_j, and each family writes ∂ℋ/∂s and ∂ℋ/∂θ itself (``vjp``).

θ is a dict of tensors: with a layer axis [R, K, ...] for depth models (one θ_k per layer), or
[R, ...] for recurrent ones (one θ shared by every time step; its gradient sums over steps).
Inputs x are [R, K, B, n] (one per step) or None (depth models have no per-step input).
"""

from __future__ import annotations

from torch import Tensor


class Family:
    name: str = ""
    shared: bool = False   # one θ for every step (recurrent) or one θ_k per layer (depth)
    substeps: int = 1
    has_input: bool = False

    def __init__(self, sizes):
        self.sizes = sizes

    @property
    def state_dim(self) -> int:
        raise NotImplementedError

    @property
    def readout(self) -> int:
        """The loss reads the first ``readout`` state components (an LSTM's h, not its cell c)."""
        return self.state_dim

    def shapes(self) -> dict[str, tuple[tuple[int, ...], float]]:
        """θ's shapes without net/layer axes, and the standard deviation of a random draw."""
        raise NotImplementedError

    def field(self, s: Tensor, th: dict[str, Tensor], x: Tensor | None, sub: int, dt: float) -> Tensor:
        """F_j(s) of sub-step ``sub``; ``dt`` only for discretisations whose F depends on Δ (ZOH)."""
        raise NotImplementedError

    def vjp(self, s: Tensor, th: dict[str, Tensor], x: Tensor | None, sub: int, dt: float, p: Tensor
            ) -> tuple[Tensor, dict[str, Tensor]]:
        """(∂ℋ/∂s, {name: ∂ℋ/∂θ_name}) for ℋ = p·F, summed over the B axis for θ. Written by hand."""
        raise NotImplementedError

    def continuous_field(self, s: Tensor, th: dict[str, Tensor], x: Tensor | None) -> Tensor:
        """The ODE the recurrence discretises, ṡ = F(s, θ(t), x(t)): the sum of the sub-step fields."""
        return sum(self.field(s, th, x, sub, 0.0) for sub in range(self.substeps))


def mv(x: Tensor, W: Tensor) -> Tensor:
    """x Wᵀ for x [R, B, n] and W [R, m, n] (one matrix per net) -> [R, B, m]."""
    return x @ W.transpose(-1, -2)


def outer_sum(a: Tensor, b: Tensor) -> Tensor:
    """Σ_b a_b ⊗ b_b for a [R, B, m], b [R, B, n] -> [R, m, n]."""
    return a.transpose(-1, -2) @ b

