"""eps-robustness: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``part``/``quantity``/``data``/``norm``/``loss`` and the
only ones judge and plot select by, at every profile: parts and data sets skipped here (Fashion-MNIST is
quick/paper only, CIFAR-10 needs its data) and rows written only without adv-lib (PEER_MISSING) included.
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    """results.part: params.parts (measure.py PARTS), and a skipped attack data set's unit "attack-<data>"."""

    RANDOM = "random"
    TRAINED1D = "trained1d"
    MNIST = "mnist"
    FASHION = "fashion"
    CIFAR10 = "cifar10"
    ATTACK = "attack"
    ATTACK_MNIST = "attack-mnist"  # skipped rows only (measure.py _skip): params.attack.data ⊆ Data
    ATTACK_FASHION = "attack-fashion"


REGRESSION = (Part.RANDOM, Part.TRAINED1D, Part.MNIST, Part.FASHION, Part.CIFAR10)  # the regression parts


class Data(Keys):
    """results.data and certificates.data: the attack part's data sets (params.attack.data, validated)."""

    MNIST = "mnist"
    FASHION = "fashion"


class Norm(Keys):
    """results.norm: the PGD threat models (also the keys of params.attack.radii / .standard)."""

    LINF = "linf"
    L2 = "l2"


class Loss(Keys):
    """results.loss: which attack (or the certificate) gives a robust accuracy."""

    CE = "ce"  # PGD on cross-entropy
    MARGIN = "margin"  # PGD on the margin
    BOTH = "both"  # an image broken by either (hjexp PGD, or APGD-CE and APGD-DLR in the peer rows)
    CERTIFIED = "certified"  # certified ℓ2 radius ≥ the radius
    APGD_CE = "apgd-ce"  # peer.py, adv-lib
    APGD_DLR = "apgd-dlr"


class Q(RunQuantities):
    """results.quantity."""

    SKIPPED = "skipped"  # a part whose data set is missing (note says why)
    # regression parts (curvature.py curvature_rows, regression.py)
    HESS_MAX = "hess_max"
    BOUND_PAPER = "bound_paper"  # |c|·‖W‖²_{2,∞}/ε
    BOUND_HALF_SPECTRAL = "bound_half_spectral"
    BOUND_RANGE = "bound_range"
    IDENTITY_REL_ERR = "identity_rel_err"  # also on the attack models
    RMSE = "rmse"
    READOUT_C = "readout_c"
    # attack part (attack_part.py)
    CLEAN_ACC = "clean_acc"
    TRAIN_CE = "train_ce"
    CERTIFIED_MEDIAN = "certified_median"
    ROBUST_ACC = "robust_acc"
    # peer check (peer.py)
    PEER_MISSING = "peer_missing"  # adv-lib not installed
    PEER_N_IMAGES = "peer_n_images"
    SUBSET_ROBUST_ACC = "subset_robust_acc"
    ENSEMBLE_ROBUST_ACC = "ensemble_robust_acc"
    PEER_ROBUST_ACC = "peer_robust_acc"


# curvature.py cov_bounds names -> their quantity (the names stay in judge's text)
BOUND_Q = {"paper": Q.BOUND_PAPER, "half_spectral": Q.BOUND_HALF_SPECTRAL, "range": Q.BOUND_RANGE}

MEASURE = (
    Table("results", {"part": STR, "seed": INT, "eps": FLOAT, "quantity": STR, "value": FLOAT},
          optional={"note": STR, "data": STR, "norm": STR, "loss": STR, "radius": FLOAT},  # note: skipped; rest: attack
          keys={"part": Part, "quantity": Q, "data": Data, "norm": Norm, "loss": Loss}),
    Table("certificates", {"data": STR, "eps": FLOAT, "image": INT, "label": INT, "correct": BOOL,
                           "certified_l2": FLOAT, "nearest_adv_l2": FLOAT},
          required=False, keys={"data": Data}),  # the attack part only
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "certificates"))
