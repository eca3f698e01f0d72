"""hallucination: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "layers": STR, "eps": FLOAT, "N": INT, "layer": INT}),
    Table("bound_samples", {"layers": STR, "eps": FLOAT, "N": INT, "delta_over_eps": FLOAT, "gap_over_eps": FLOAT}),
    Table("curvature_maps", {"eps": FLOAT, "x1": FLOAT, "x2": FLOAT, "curvature": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=('results',))
