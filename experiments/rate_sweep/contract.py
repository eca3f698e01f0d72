"""rate-sweep: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

MEASURE = (
    Table("results", {"family": STR, "model": STR, "d": INT, "n": INT, "seed": INT, "rmse": FLOAT, "N": INT, "eps": FLOAT, "t": FLOAT, "h": FLOAT, "n_train": INT, "train_rmse": FLOAT, "val_rmse": FLOAT, "steps": INT, "converged": BOOL, "diverged": BOOL, "k": INT, "bandwidth": FLOAT}),
    Table("curves_d1", {"family": STR, "n": INT, "kind": STR, "x": FLOAT, "value": FLOAT}),
    Table("floors", {"family": STR, "d": INT, "N": INT, "eps": FLOAT, "t": FLOAT, "rmse": FLOAT, "steps": INT, "converged": BOOL}),
    Table("selection", {"family": STR, "d": INT, "n": INT, "seed": INT, "N": INT, "eps": FLOAT, "t": FLOAT, "n_train": INT, "val_rmse": FLOAT, "rmse": FLOAT, "steps": INT, "converged": BOOL, "chosen": BOOL}),
    Table("worst", {"model": STR, "d": INT, "n": INT, "seed": INT, "cells": INT, "h": FLOAT, "amp": FLOAT, "rmse": FLOAT, "N": INT, "eps": FLOAT, "t": FLOAT, "n_train": INT, "val_rmse": FLOAT, "train_rmse": FLOAT, "steps": INT, "converged": BOOL, "k": INT, "bandwidth": FLOAT}),
)


JUDGE = (
    Table("slopes", {"family": STR, "model": STR, "d": INT, "slope": FLOAT, "ci_low": FLOAT, "ci_high": FLOAT,
                     "n_lo": FLOAT, "n_hi": FLOAT, "stable": BOOL}),
    Table("worst_sup", {"d": INT, "model": STR, "n": INT, "sup_mean": FLOAT, "sup_sd": FLOAT}, required=False),
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'worst'), judge=JUDGE)
