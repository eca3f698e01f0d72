"""bifurcation: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

import pandas as pd

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401


def dims(atoms: pd.DataFrame) -> int:
    """d of one set's rows of atoms.csv (the file holds y0, y1, … for the widest set; others are empty)."""
    return sum(c.startswith("y") and bool(atoms[c].notna().all()) for c in atoms.columns)


MEASURE = (
    Table("results", {"method": STR, "type": STR, "k": INT, "eps": FLOAT, "count": INT, "set": STR}),
    Table("atoms", {"j": INT, "y0": FLOAT, "g": FLOAT, "t": FLOAT, "box_lo": STR, "box_hi": STR, "set": STR}, optional={"y1": FLOAT}),
    Table("branches", {"branch": INT, "step": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT, "found_by": STR, "end": STR, "set": STR}, optional={"x1": FLOAT}),
    Table("count_differences", {"set": STR, "k": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT, "rel_min_eig": FLOAT, "side": STR, "why": STR, "detail": STR}, optional={"x1": FLOAT}),
    Table("critical_points", {"k": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT, "eig0": FLOAT, "rel_min_eig": FLOAT, "branch": INT, "multistart_found": BOOL, "found_by": STR, "set": STR}, optional={"x1": FLOAT, "eig1": FLOAT}),
    Table("folds", {"eps_fold": FLOAT, "lam_fold": FLOAT, "x0": FLOAT, "types": STR, "direction": STR, "H": FLOAT, "basins": STR, "rel_min_eig": FLOAT, "rel_other_eig": FLOAT, "inertia_changed": BOOL, "converged": BOOL, "eps_secant": FLOAT, "branch": INT, "found_by": STR, "set": STR}, optional={"x1": FLOAT}),
    Table("multistart_points", {"k": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT, "eig0": FLOAT, "rel_min_eig": FLOAT, "branch": INT, "set": STR}, optional={"x1": FLOAT, "eig1": FLOAT}),
    Table("timing", {"method": STR, "wall_s": FLOAT, "work": STR, "set": STR}),
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'atoms', 'count_differences', 'folds', 'timing'))
