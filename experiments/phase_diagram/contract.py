"""phase-diagram: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (  # the tables after results are absent only when every set was skipped (no data)
    # a set whose data are not installed writes one row: set, quantity "skipped", value NaN, note (no seed)
    Table("results", {"set": STR, "quantity": STR, "value": FLOAT}, optional={"seed": INT, "note": STR}),
    Table("atoms", {"set": STR, "atom": INT, "x1": FLOAT, "x2": FLOAT, "cls": INT, "g": FLOAT}, required=False),
    Table("attribution", {"set": STR, "eps_label": STR, "eps": FLOAT, "atom": INT, "cls": INT, "pi": FLOAT}, required=False),
    Table("curves", {"set": STR, "seed": INT, "query": STR, "eps": FLOAT, "H": FLOAT}, required=False),
    Table("frames", {"set": STR, "frame": INT, "eps": FLOAT, "ix": INT, "iy": INT, "H": FLOAT}, required=False),
    Table("maps", {"set": STR, "eps_label": STR, "eps": FLOAT, "ix": INT, "iy": INT, "x1": FLOAT, "x2": FLOAT, "H": FLOAT, "p_top": FLOAT, "pred": INT, "field_x1": FLOAT, "field_x2": FLOAT}, required=False),
    Table("queries", {"set": STR, "query": STR, "x1": FLOAT, "x2": FLOAT, "x1_lo": FLOAT, "x1_hi": FLOAT, "x2_lo": FLOAT, "x2_hi": FLOAT, "n_atoms": INT, "eps_star": FLOAT, "classes": STR}, required=False),
)

CONTRACT = Contract(measure=MEASURE, reads=('results',))
