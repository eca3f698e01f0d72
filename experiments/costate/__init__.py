"""costate — backpropagation in a residual net is the discrete co-state equation (docs/theory.md §4.4)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "backprop in x_{k+1} = x_k + hF(x_k, θ_k) is the discrete co-state recursion; it converges to the adjoint ODE at order 1 in h"
COST = "smoke 2 s / quick 4 s / paper 12 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(p) -> None:
    M = p.convergence.reference_steps
    bad = [n for n in (M, *p.convergence.depths) if n < 2 or n & (n - 1)]
    if bad:
        raise UserError(f"params.convergence: depths and reference_steps must be powers of two ≥ 2 (the two grids "
                        f"share nodes), got {bad}; e.g. depths=[8,16,32] reference_steps=1024")
    if not p.T > 0:
        raise UserError(f"params.T={p.T} must be > 0 (the time horizon of the residual net)")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
