"""scaling-dim: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"setup": STR, "d": INT, "embedding": STR, "D": INT, "eps_mode": STR, "width": INT, "seed": INT, "eps": FLOAT, "train_rmse": FLOAT, "test_rmse": FLOAT, "steps": INT, "converged": BOOL, "selected": BOOL, "val_rmse": FLOAT, "diverged": BOOL, "spacing": FLOAT, "const_rmse": FLOAT, "target_sd": FLOAT}),
    Table("intrinsic_dim", {"embedding": STR, "D": INT, "d_int": INT, "seed": INT, "twonn": FLOAT, "twonn_discard10": FLOAT, "levina_bickel": FLOAT, "target_sd": FLOAT}),
    Table("real_dims", {"digit": INT, "seed": INT, "twonn": FLOAT, "target_sd": FLOAT}, required=False),
)


JUDGE = (  # what judge writes for plot (experiments/scaling_dim/plotdata.py)
    Table("windows", {"setup": STR, "d": INT, "embedding": STR, "D": INT, "fitted": INT}),
    Table("alphas", {"d": INT, "embedding": STR, "D": INT, "alpha": FLOAT, "low": FLOAT, "high": FLOAT},
          required=False),
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'intrinsic_dim', 'real_dims'), judge=JUDGE)
