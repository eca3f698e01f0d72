"""quadrature — a normalised LSE layer on N atoms is an N-point quadrature of the Hopf–Cole integral
(docs/theory.md §4.2): its sup error for Lipschitz g is O(N^(−1/d)), and the sawtooth shows it is tight."""

from hjexp.errors import UserError

from .contract import CONTRACT, Rule
from .integrals import RULES
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "normalised LSE layer on N grid atoms = quadrature of the Hopf–Cole integral, sup error O(N^(−1/d))"
COST = "smoke 5 s / quick 8 s / paper 16 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(p) -> None:
    """One line per impossible value, before anything is written."""
    bad = [r for r in p.rules if r not in RULES]
    if bad:
        raise UserError(f"params.rules: unknown rule(s) {bad}; choose from {list(RULES)}")
    lo, hi = p.domain
    if not lo < hi or not 0 < p.x_half:
        raise UserError(f"params.domain={list(p.domain)} must be [lo, hi] with lo < hi, and params.x_half > 0")
    if p.t <= 0:
        raise UserError(f"params.t={p.t} must be > 0, e.g. params.t=1.0")
    if p.mc_repeats < 2 and Rule.MONTECARLO in p.rules:
        raise UserError(f"params.mc_repeats={p.mc_repeats}: Monte Carlo needs ≥ 2 repeats for its interval (8+ advised)")
    for d in p.dims:
        for table in ("grids", "gauss_nodes"):
            if str(d) not in p[table]:
                raise UserError(f"params.{table} has no entry for d={d}; choose dims among {sorted(p[table])} "
                                f"or add one in configs/experiment/quadrature.yaml")
        grid = list(p.grids[str(d)])
        if len(grid) < 3 or min(grid) < 2 or grid != sorted(set(grid)):
            raise UserError(f"params.grids.{d}={grid}: give ≥ 3 increasing sizes n ≥ 2 per axis")
        if str(d) in p.authors.grids and str(d) not in p.authors.reference:
            raise UserError(f"params.authors.reference has no entry for d={d}; add one in configs/experiment/quadrature.yaml")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
