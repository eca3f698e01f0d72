"""influence: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``part``/``quantity``/``method``/``clock`` and the only
ones judge and plot select by: a renamed key is one edit here, and a stray string is a contract error.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    IDENTITY = "identity"
    LOO = "loo"  # training-point influence against leave-one-out retraining (loo.py)


class Method(Keys):
    """How π is obtained: results (identity rows), timings and op_counts."""

    CLOSED_FORM = "closed_form"
    AUTOGRAD = "autograd"
    LEAVE_ONE_OUT = "leave_one_out"  # the O(N²) brute force


class Clock(Keys):
    """timings.clock (measure.clock_for)."""

    WALL = "wall"  # CUDA runs
    PROCESS_CPU = "process_cpu"  # CPU runs


class Q(RunQuantities):
    """results.quantity."""

    MAX_ABS_ERR = "max_abs_err"
    MAX_PI = "max_pi"
    MAX_GRAD_AFTER_NEWTON = "max_grad_after_newton"
    HESSIAN_MIN_EIG = "hessian_min_eig"
    HESSIAN_COND = "hessian_cond"
    MAX_REL_PARAM_MOVE = "max_rel_param_move"
    TRAIN_MSE_FULL = "train_mse_full"


MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "method": STR, "eps": FLOAT},
          keys={"part": Part, "quantity": Q, "method": Method}),
    Table("loo", {"removed": INT, "x_removed": FLOAT, "x_query": FLOAT, "predicted": FLOAT, "actual": FLOAT}),
    Table("op_counts", {"method": STR, "N": INT, "matmul_flops": INT, "other_elements": INT, "ops_per_query": INT},
          keys={"method": Method}),
    Table("timings", {"method": STR, "N": INT, "queries_per_call": INT, "clock": STR, "seconds_per_query": FLOAT},
          keys={"method": Method, "clock": Clock}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "loo", "op_counts", "timings"))
