"""rate-sweep — test RMSE vs n against the claimed O(n^(−1/(d+2))) (docs/theory.md §4.1), on targets in and outside
the model class and on the minimax lower-bound constructions (Lipschitz and semiconcave)."""

from hjexp.data.targets import FAMILIES
from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "trained Hopf–Cole regression reaches the minimax rate: test RMSE ~ n^(−1/(d+2)) at fixed t"
# run wall times on the 2-core CPU (quick and paper: quiet, threads=2), before the worst-case part; that part
# (params.worst) measured at threads=1 on the shared CPU: quick 32-48 s, its paper configuration 77-143 s
COST = "smoke 12 s / quick 47 s + 32-48 s worst case / paper 15-16 min + 1.3-2.4 min worst case"
DEFAULT_DTYPE = "float32"

__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]


def validate(p) -> None:
    if not p.dims or any(d < 1 for d in p.dims):
        raise UserError(f"params.dims={list(p.dims)}: give dimensions ≥ 1, e.g. params.dims=[1,2]")
    if unknown := [f for f in p.families if f not in FAMILIES]:
        raise UserError(f"params.families: unknown {unknown}; choose from {list(FAMILIES)}")
    if unknown := [f for f in p.selection.families if f not in FAMILIES]:
        raise UserError(f"params.selection.families: unknown {unknown}; choose from {list(FAMILIES)}")
    ns = sorted(set(p.n_grid))
    if len(ns) < 3 or ns[0] < 8:
        raise UserError(f"params.n_grid={list(p.n_grid)}: need ≥ 3 sizes ≥ 8 to fit a slope")
    if p.n_seeds < 2:
        raise UserError("params.n_seeds must be ≥ 2: slope intervals are t-intervals over seeds")
    if not p.sigma > 0 or not p.t > 0:
        raise UserError(f"params.sigma={p.sigma} and params.t={p.t} must be > 0 (the bump families balance against σ)")
    if not 0 < p.selection.val_fraction < 1:
        raise UserError(f"params.selection.val_fraction={p.selection.val_fraction} must lie in (0, 1), e.g. 0.25")
    if not p.selection.widths or not p.selection.eps or min(p.selection.eps) <= 0 or min(p.selection.widths) < 1:
        raise UserError("params.selection.widths (≥ 1) and params.selection.eps (> 0) must be non-empty lists")
    if p.hard.max_width < 1:
        raise UserError(f"params.hard.max_width={p.hard.max_width} must be ≥ 1")
    if p.train.check_every < 1 or not p.train.rel_tol > 0:
        raise UserError(f"params.train.check_every={p.train.check_every} must be ≥ 1 and rel_tol={p.train.rel_tol} > 0")
    q = p.hard
    if not all(v > 0 for v in (q.balance, q.tau, q.lip, q.minimax_spacing, q.semiconcave_spacing)):
        raise UserError("params.hard.{balance,tau,lip,minimax_spacing,semiconcave_spacing} must all be > 0")
    _validate_worst(p.worst)


def _validate_worst(w) -> None:
    if any(d < 1 for d in w.dims):
        raise UserError(f"params.worst.dims={list(w.dims)}: give dimensions ≥ 1 (or [] to skip the worst-case part)")
    if not w.dims:
        return
    if not w.cells or min(w.cells) < 1 or not any(m**d <= w.max_cells for m in w.cells for d in w.dims):
        raise UserError(f"params.worst.cells={list(w.cells)} must be integers ≥ 1 with some m^d ≤ max_cells={w.max_cells}")
    if not w.amplitudes or not all(0 < a <= 1 for a in w.amplitudes):
        raise UserError(f"params.worst.amplitudes={list(w.amplitudes)} must lie in (0, 1] (a > 1 leaves the L-Lipschitz class)")
    if not set(w.hj_amplitudes) <= set(w.amplitudes):
        raise UserError(f"params.worst.hj_amplitudes={list(w.hj_amplitudes)} must be among amplitudes={list(w.amplitudes)}")
    if len(set(w.n_grid)) < 3 or min(w.n_grid) < 8 or w.n_seeds < 2 or w.n_test < 1 or not w.lip > 0:
        raise UserError("params.worst: need ≥ 3 sizes ≥ 8 in n_grid, n_seeds ≥ 2, n_test ≥ 1 and lip > 0")
    q = w.select
    if not q.width_factors or not q.eps_factors or not q.t or min(*q.width_factors, *q.eps_factors, *q.t) <= 0:
        raise UserError("params.worst.select.{width_factors,eps_factors,t} must be non-empty lists of numbers > 0")
