"""attention: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "norm": STR, "identity": STR, "d": INT, "eps": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=('results',))
