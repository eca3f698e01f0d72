"""hallucination — an LSE layer departs from its dominant neuron only near ties (docs/theory.md §4.6)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "|f_ε − max z| ≤ ε log(1 + (N−1)e^(−Δ/ε)); curvature Var_π(w)/ε peaks on tie boundaries with height ∝ 1/ε"
COST = "smoke 4 s / quick 6 s / paper 13 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(p) -> None:
    lo, hi = p.domain
    if not lo < hi:
        raise UserError(f"params.domain={list(p.domain)} must be [lo, hi] with lo < hi, e.g. [-3.0, 3.0]")
    for where, N in (("random", p.random.n_neurons), ("trained", p.trained.n_neurons)):
        if N < 2:
            raise UserError(f"params.{where}.n_neurons={N}: the gap Δ needs at least two neurons")
    if p.n_grid < 2 or p.n_map < 2:
        raise UserError("params.n_grid and params.n_map need at least 2 points per axis")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
