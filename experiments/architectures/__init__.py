"""architectures — residual nets, RNNs, LSTMs, SSMs and transformers as discretisations of one class of HJ
problems: BPTT is each one's discrete co-state recursion (THEORY.md §5)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .driver import ARCHS
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = ("residual MLP, RNN, LSTM, SSM (Euler/ZOH) and transformer: BPTT is the discrete co-state recursion, "
         "converging to the adjoint ODE at the discretisation's order; Pontryagin at an optimum; noise as viscosity")
COST = "smoke 6 s / quick 19 s / paper 38 s"  # CPU seconds at threads=1 (≈ wall on a quiet core); wall on the shared 2-core box at load 9: quick 58 s, paper 114 s
DEFAULT_DTYPE = "float64"


def _power_of_two(n: int) -> bool:
    return n >= 2 and not n & (n - 1)


def validate(p) -> None:
    unknown = [a for a in p.archs if a not in ARCHS]
    if unknown:
        raise UserError(f"params.archs names {unknown}; known: {list(ARCHS)}")
    q = p.convergence
    steps = [q.reference_steps, *q.depths, *[v for lim in q.limits.values() for k, v in lim.items() if k == "reference_steps"]]
    if not all(_power_of_two(n) for n in steps):
        raise UserError(f"params.convergence: depths and reference_steps must be powers of two ≥ 2 (the grids share "
                        f"nodes), got {steps}; e.g. depths=[8,16,32] reference_steps=1024")
    if len(q.depths) < 2 or q.n_nets < 2:
        raise UserError("params.convergence needs ≥ 2 depths and n_nets ≥ 2 (the order's interval is over nets)")
    if not p.T > 0:
        raise UserError(f"params.T={p.T} must be > 0")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
