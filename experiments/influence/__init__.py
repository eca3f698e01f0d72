"""influence — π_j(x) is a closed-form, O(N)-per-query attribution (docs/theory.md §4.5)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = ("π_j(x) = softmax_j(z/ε) is the exact attribution ∂f/∂s_j, computed in O(N) per query (brute force: O(N²)), "
         "and predicts a training sample's leave-one-out effect as an influence function")
COST = "smoke 3 s / quick 9 s / paper ~14 s (timings use process CPU time; op counts + leave-one-out add ~4 s at every profile)"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(p) -> None:
    q = p.timing
    if not 1 <= q.log2_n_min <= q.log2_n_max <= 24:
        raise UserError(f"params.timing: need 1 ≤ log2_n_min ≤ log2_n_max ≤ 24, got {q.log2_n_min}, {q.log2_n_max}")
    if q.log2_n_max_brute < q.log2_n_min:
        raise UserError(f"params.timing.log2_n_max_brute={q.log2_n_max_brute} is below log2_n_min={q.log2_n_min}: "
                        "the brute force would not be timed at all")
    if q.log2_n_max_brute > 14:
        raise UserError(f"params.timing.log2_n_max_brute={q.log2_n_max_brute}: the O(N²) brute force beyond N = 2^14 "
                        "takes minutes per query; use ≤ 14")
    if q.reps < 1 or not q.min_batch_s > 0:
        raise UserError("params.timing.reps must be ≥ 1 and params.timing.min_batch_s > 0")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
