"""recovery: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``quantity`` and ``atoms.kind`` and the only ones judge
and plot select by. ``setup`` is no key class: its values are the names of ``params.setups`` (config keys a
run may extend, e.g. params.setups.late=2.0), so they cannot be listed here.
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Keys, RunQuantities, Table


class Q(RunQuantities):
    """results.quantity: per member (ε, seed) of a setup, except N_ACTIVE_TRUE (per ε, seed empty)."""

    TRAIN_MSE = "train_mse"  # after the L-BFGS polish
    ADAM_MSE = "adam_mse"
    MAX_FIT_ERR = "max_fit_err"  # max |u − u_0|
    DELTA_BAR = "delta_bar"
    DELTA_BAR_MERGED = "delta_bar_merged"  # coincident neurons merged
    N_USED = "n_used"
    N_ACTIVE_TRUE = "n_active_true"


class Kind(Keys):
    """atoms.kind."""

    NEURON = "neuron"
    MERGED = "merged"


MEASURE = (
    Table("results", {"setup": STR, "t": FLOAT, "eps": FLOAT, "seed": INT, "selected": BOOL, "quantity": STR,
                      "value": FLOAT}, keys={"quantity": Q}),
    Table("atoms", {"eps": FLOAT, "seed": INT, "selected": BOOL, "kind": STR, "j": INT, "y": FLOAT, "g": FLOAT,
                    "usage": FLOAT, "setup": STR, "t": FLOAT}, keys={"kind": Kind}),
    Table("fits", {"eps": FLOAT, "x": FLOAT, "u_target": FLOAT, "u_fit": FLOAT, "setup": STR, "t": FLOAT}),
    Table("per_atom", {"eps": FLOAT, "seed": INT, "selected": BOOL, "k": INT, "y_true": FLOAT, "g_true": FLOAT,
                       "active": BOOL, "y_rec": FLOAT, "g_rec": FLOAT, "usage_rec": FLOAT, "setup": STR, "t": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "per_atom"))
