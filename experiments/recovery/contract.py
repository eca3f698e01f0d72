"""recovery: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"setup": STR, "t": FLOAT, "eps": FLOAT, "seed": INT, "selected": BOOL, "quantity": STR, "value": FLOAT}),
    Table("atoms", {"eps": FLOAT, "seed": INT, "selected": BOOL, "kind": STR, "j": INT, "y": FLOAT, "g": FLOAT, "usage": FLOAT, "setup": STR, "t": FLOAT}),
    Table("fits", {"eps": FLOAT, "x": FLOAT, "u_target": FLOAT, "u_fit": FLOAT, "setup": STR, "t": FLOAT}),
    Table("per_atom", {"eps": FLOAT, "seed": INT, "selected": BOOL, "k": INT, "y_true": FLOAT, "g_true": FLOAT, "active": BOOL, "y_rec": FLOAT, "g_rec": FLOAT, "usage_rec": FLOAT, "setup": STR, "t": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'per_atom'))
