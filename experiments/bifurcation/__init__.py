"""bifurcation — fold bifurcations of the entropy landscape H(x; ε) tracked by continuation (docs/theory.md §4.5)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "as ε grows, basins of H(x; ε) merge in fold bifurcations where a critical point meets one of another type"
COST = "smoke 8 s / quick 29 s / paper 70 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(params) -> None:
    lo, hi = params.log10_eps_range
    if not lo < hi:
        raise UserError(f"params.log10_eps_range={[lo, hi]} must be [lo, hi] with lo < hi, e.g. [-2, 0.8]")
    unknown = [s for s in params.sets if s not in params.catalogue]
    if unknown:
        raise UserError(f"params.sets names {unknown}, which params.catalogue does not define; known: "
                        f"{list(params.catalogue)}")
    if params.n_eps < 2 or params.seed_every < 1:
        raise UserError("params.n_eps must be ≥ 2 and params.seed_every ≥ 1, e.g. n_eps=40 seed_every=4")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
