"""bifurcation: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into the key columns and the only ones judge and plot select by: a
renamed key is one edit here, and a stray string is a contract error. Not declared as keys: ``set`` (any name of
params.catalogue, chosen per run), ``folds.types`` (two Type values joined by " + "), ``folds.basins`` (atom
indices), ``branches.end`` and ``count_differences.why``/``detail`` (sentences, some with numbers in them).
"""

import pandas as pd

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Keys, Table


class Method(Keys):
    """results.method: who found the critical points counted."""

    MULTISTART = "multistart"
    CONTINUATION = "continuation"
    UNION = "union"  # every traced branch, pass 2 included, sliced at the grid ε


class Timed(Keys):
    """timing.method."""

    MULTISTART = Method.MULTISTART
    CONTINUATION = Method.CONTINUATION
    PASS_2 = "pass 2 (multistart-only points traced)"


class Type(Keys):
    """The type of a critical point (continuation.TYPES, in its code order)."""

    MIN = "min"
    SADDLE = "saddle"
    MAX = "max"
    DEGENERATE = "degenerate"


class Counted(Type):
    """results.type: the count of one type, or of all critical points."""

    ALL = "all"


class Direction(Keys):
    """folds.direction."""

    BORN = "born as ε grows"
    ANNIHILATE = "annihilate as ε grows"


class FoundBy(Keys):
    """found_by: the branch comes from the continuation's own seeds, or from a multistart point (pass 2)."""

    CONTINUATION = "continuation"
    MULTISTART_SEED = "multistart seed"


class Side(Keys):
    """count_differences.side."""

    MULTISTART_ONLY = "multistart only"
    CONTINUATION_ONLY = "continuation only"


def dims(atoms: pd.DataFrame) -> int:
    """d of one set's rows of atoms.csv (the file holds y0, y1, … for the widest set; others are empty)."""
    return sum(c.startswith("y") and bool(atoms[c].notna().all()) for c in atoms.columns)


MEASURE = (
    Table("results", {"method": STR, "type": STR, "k": INT, "eps": FLOAT, "count": INT, "set": STR},
          keys={"method": Method, "type": Counted}),
    Table("atoms", {"j": INT, "y0": FLOAT, "g": FLOAT, "t": FLOAT, "box_lo": STR, "box_hi": STR, "set": STR}, optional={"y1": FLOAT}),
    Table("branches", {"branch": INT, "step": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT,
                       "found_by": STR, "end": STR, "set": STR}, optional={"x1": FLOAT},
          keys={"type": Type, "found_by": FoundBy}),
    Table("count_differences", {"set": STR, "k": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT,
                                "rel_min_eig": FLOAT, "side": STR, "why": STR, "detail": STR}, optional={"x1": FLOAT},
          keys={"type": Type, "side": Side}),
    Table("critical_points", {"k": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT, "eig0": FLOAT,
                              "rel_min_eig": FLOAT, "branch": INT, "multistart_found": BOOL, "found_by": STR,
                              "set": STR}, optional={"x1": FLOAT, "eig1": FLOAT},
          keys={"type": Type, "found_by": FoundBy}),
    Table("folds", {"eps_fold": FLOAT, "lam_fold": FLOAT, "x0": FLOAT, "types": STR, "direction": STR, "H": FLOAT,
                    "basins": STR, "rel_min_eig": FLOAT, "rel_other_eig": FLOAT, "inertia_changed": BOOL,
                    "converged": BOOL, "eps_secant": FLOAT, "branch": INT, "found_by": STR, "set": STR},
          optional={"x1": FLOAT}, keys={"direction": Direction, "found_by": FoundBy}),
    Table("multistart_points", {"k": INT, "eps": FLOAT, "x0": FLOAT, "type": STR, "H": FLOAT, "eig0": FLOAT,
                                "rel_min_eig": FLOAT, "branch": INT, "set": STR}, optional={"x1": FLOAT, "eig1": FLOAT},
          keys={"type": Type}),
    Table("timing", {"method": STR, "wall_s": FLOAT, "work": STR, "set": STR}, keys={"method": Timed}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "atoms", "count_differences", "folds", "timing"))
