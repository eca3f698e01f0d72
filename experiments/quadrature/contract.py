"""quadrature: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"case": STR, "d": INT, "rule": STR, "n_axis": INT, "N": INT, "eps": FLOAT, "repeat": INT, "sup_err": FLOAT, "pred": FLOAT, "pred_rel": FLOAT, "g_at_nodes": FLOAT}),
    Table("reference", {"case": STR, "d": INT, "reference": STR, "ref_err": FLOAT, "roundoff": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'reference'))
