"""rate-sweep: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``family``/``model``/``kind`` and the only ones judge and
plot select by: a renamed key is one edit here, and a stray string is a contract error, not a lost claim. There
is no ``part``/``quantity`` column (no dtype row), so the key classes subclass plain Keys.
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Keys, Table


class Family(Keys):
    """Target families: the names hjexp/data/targets.py FAMILIES gives them (validate() accepts only those, so a
    family added there must be added here too, or the run stops at the contract check)."""

    HJ_SOLUTION = "hj-solution"
    LIPSCHITZ = "lipschitz"
    MINIMAX_HARD = "minimax-hard"
    SEMICONCAVE_HARD = "semiconcave-hard"


class Model(Keys):
    HJ = "hj"  # the schedule model (minimax-hard: at t_n = τ·h_n/L)
    HJ_SHRINK_T = "hj_shrink_t"
    HJ_FIXED_T = "hj_fixed_t"
    HJ_SELECTED = "hj_selected"  # (N, ε[, t]) chosen on held-out samples
    KNN = "knn"
    NW = "nw"
    CONSTANT = "constant"  # training-label mean


class Kind(Keys):
    """curves_d1.kind: the target, the noisy samples, and two models' fits."""

    TARGET = "target"
    SAMPLE = "sample"
    HJ = Model.HJ
    KNN = Model.KNN


MEASURE = (
    Table("results", {"family": STR, "model": STR, "d": INT, "n": INT, "seed": INT, "rmse": FLOAT, "N": INT,
                      "eps": FLOAT, "t": FLOAT, "h": FLOAT, "n_train": INT, "train_rmse": FLOAT, "val_rmse": FLOAT,
                      "steps": INT, "converged": BOOL, "diverged": BOOL, "k": INT, "bandwidth": FLOAT},
          keys={"family": Family, "model": Model}),
    Table("curves_d1", {"family": STR, "n": INT, "kind": STR, "x": FLOAT, "value": FLOAT},
          keys={"family": Family, "kind": Kind}),
    Table("floors", {"family": STR, "d": INT, "N": INT, "eps": FLOAT, "t": FLOAT, "rmse": FLOAT, "steps": INT,
                     "converged": BOOL},
          keys={"family": Family}),
    Table("selection", {"family": STR, "d": INT, "n": INT, "seed": INT, "N": INT, "eps": FLOAT, "t": FLOAT,
                        "n_train": INT, "val_rmse": FLOAT, "rmse": FLOAT, "steps": INT, "converged": BOOL,
                        "chosen": BOOL},
          keys={"family": Family}),
    Table("worst", {"model": STR, "d": INT, "n": INT, "seed": INT, "cells": INT, "h": FLOAT, "amp": FLOAT,
                    "rmse": FLOAT, "N": INT, "eps": FLOAT, "t": FLOAT, "n_train": INT, "val_rmse": FLOAT,
                    "train_rmse": FLOAT, "steps": INT, "converged": BOOL, "k": INT, "bandwidth": FLOAT},
          keys={"model": Model}),
)


JUDGE = (
    Table("slopes", {"family": STR, "model": STR, "d": INT, "slope": FLOAT, "ci_low": FLOAT, "ci_high": FLOAT,
                     "n_lo": FLOAT, "n_hi": FLOAT, "stable": BOOL},
          keys={"family": Family, "model": Model}),
    Table("worst_sup", {"d": INT, "model": STR, "n": INT, "sup_mean": FLOAT, "sup_sd": FLOAT}, required=False,
          keys={"model": Model}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "worst"), judge=JUDGE)
