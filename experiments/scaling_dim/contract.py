"""scaling-dim: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure and judge write into ``setup``/``embedding``/``eps_mode`` and the only
ones judge and plot select by: a renamed key is one edit here, and a stray string is a contract error.

This experiment has no ``part``/``quantity`` columns and writes no dtype row (results are one row per ensemble
member), so its key classes subclass Keys, not RunParts/RunQuantities: "dtype" is no setup.
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Keys, Table


class Setup(Keys):
    """results.setup (one per part of measure) and windows.setup (manifold and worst only)."""

    AUTHORS = "authors"
    MANIFOLD = "manifold"
    WORST = "worst"
    REAL = "real"  # quick and paper only, and only where MNIST is installed (real.py)


class Embedding(Keys):
    """results.embedding and the judge tables' embedding: how the data sit in R^D."""

    BOX = "box"  # authors: U(−2, 2)^d, D = d
    LINEAR = "linear"  # manifold and worst: hjexp.data.manifolds.EMBEDDINGS
    CURVED = "curved"
    # real: f"mnist{params.real.digit}" (real.py), one per digit the config may name
    MNIST0 = "mnist0"
    MNIST1 = "mnist1"
    MNIST2 = "mnist2"
    MNIST3 = "mnist3"
    MNIST4 = "mnist4"
    MNIST5 = "mnist5"
    MNIST6 = "mnist6"
    MNIST7 = "mnist7"
    MNIST8 = "mnist8"
    MNIST9 = "mnist9"


class AlphaEmbedding(Embedding):
    """alphas.embedding: a setting's embedding, or the reading pooled over settings."""

    POOLED = "pooled"


class EpsMode(Keys):
    """results.eps_mode (authors and manifold rows) and the values params.*.eps_mode(s) may take."""

    TIED = "tied"  # ε = eps_c·N^(−1/d), the paper's
    FIXED = "fixed"
    VALIDATION = "validation"  # ε per (width, seed) on a validation split


MEASURE = (
    Table("results", {"setup": STR, "d": INT, "embedding": STR, "D": INT, "eps_mode": STR, "width": INT, "seed": INT,
                      "eps": FLOAT, "train_rmse": FLOAT, "test_rmse": FLOAT, "steps": INT, "converged": BOOL,
                      "selected": BOOL, "val_rmse": FLOAT, "diverged": BOOL, "spacing": FLOAT, "const_rmse": FLOAT,
                      "target_sd": FLOAT},
          keys={"setup": Setup, "embedding": Embedding, "eps_mode": EpsMode}),
    Table("intrinsic_dim", {"embedding": STR, "D": INT, "d_int": INT, "seed": INT, "twonn": FLOAT,
                            "twonn_discard10": FLOAT, "levina_bickel": FLOAT, "target_sd": FLOAT},
          keys={"embedding": Embedding}),
    Table("real_dims", {"digit": INT, "seed": INT, "twonn": FLOAT, "target_sd": FLOAT}, required=False),
)


JUDGE = (  # what judge writes for plot (experiments/scaling_dim/plotdata.py)
    Table("windows", {"setup": STR, "d": INT, "embedding": STR, "D": INT, "fitted": INT},
          keys={"setup": Setup, "embedding": Embedding}),
    Table("alphas", {"d": INT, "embedding": STR, "D": INT, "alpha": FLOAT, "low": FLOAT, "high": FLOAT},
          required=False, keys={"embedding": AlphaEmbedding}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "intrinsic_dim", "real_dims"), judge=JUDGE)
