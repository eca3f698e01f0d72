"""influence: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "method": STR, "eps": FLOAT}),
    Table("loo", {"removed": INT, "x_removed": FLOAT, "x_query": FLOAT, "predicted": FLOAT, "actual": FLOAT}),
    Table("op_counts", {"method": STR, "N": INT, "matmul_flops": INT, "other_elements": INT, "ops_per_query": INT}),
    Table("timings", {"method": STR, "N": INT, "queries_per_call": INT, "clock": STR, "seconds_per_query": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'loo', 'op_counts', 'timings'))
