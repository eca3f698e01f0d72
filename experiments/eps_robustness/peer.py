"""An independent check of hjexp's PGD: APGD-CE and APGD-DLR (Croce & Hein 2020) from the PyPI package
adv-lib, the attacks RobustBench runs, on a subset of the test images at the standard radii.

adv-lib is an optional extra (``pip install 'hjexp[attacks]'``). Without it the part writes one
``peer_missing`` row and the judge makes ``robust.attack.peer_gap.{data}`` inconclusive. An image counts
as broken by the peer only if the point adv-lib returns is checked here to lie in the ball and the [0, 1]
box and to be misclassified by the model, so a bug in the peer cannot make hjexp's attack look weak.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .classifier import LSEClassifier
from .contract import Loss, Norm, Q

INSTALL = "adv-lib not installed; pip install 'hjexp[attacks]'"
LOSSES = ("ce", "dlr")  # adv-lib's loss_function names
LOSS_KEY = {"ce": Loss.APGD_CE, "dlr": Loss.APGD_DLR, Loss.BOTH: Loss.BOTH}  # -> results.loss
NORM_P = {Norm.LINF: float("inf"), Norm.L2: 2.0}
FEASIBLE = 1e-5  # relative slack on the radius: adv-lib projects in float32


def available() -> bool:
    try:
        import adv_lib.attacks.auto_pgd  # noqa: F401
    except ImportError:
        return False
    return True


class _Member(nn.Module):
    """One ε-model of an LSEClassifier as the nn.Module adv-lib attacks: pixels [n, D] -> logits [n, C]."""

    def __init__(self, model: LSEClassifier, e: int):
        super().__init__()
        self.model = LSEClassifier(model.W[e:e + 1], model.b[e:e + 1], model.eps[e:e + 1], model.mean, model.comps)

    def forward(self, x: Tensor) -> Tensor:
        return self.model.logits(x)[0]


def _broken(module: _Member, x: Tensor, y: Tensor, adv: Tensor, norm: str, radius: float | Tensor) -> Tensor:
    """Images whose returned point is feasible and misclassified.  [n] bool (radius: one, or one per image)."""
    radius = torch.as_tensor(radius, dtype=x.dtype, device=x.device)
    delta = (adv - x).flatten(1)
    size = delta.abs().amax(1) if norm == Norm.LINF else delta.norm(dim=1)
    inside = (size <= radius * (1 + FEASIBLE)) & (adv >= 0).all(1) & (adv <= 1).all(1)
    with torch.no_grad():
        wrong = module(adv).argmax(1) != y
    return inside & wrong


def apgd_broken(model: LSEClassifier, x: Tensor, y: Tensor, radius: float | Tensor, *, norm: str, n_iter: int,
                restarts: int, seed: int) -> dict[str, Tensor]:
    """{'ce', 'dlr'}: [E, n] bool, image broken (or misclassified clean) under APGD with that loss, at one
    radius or one per image [n]."""
    from adv_lib.attacks.auto_pgd import apgd

    with torch.no_grad():
        clean_wrong = model.logits(x).argmax(-1) != y  # [E, n]
    out = {}
    with torch.random.fork_rng(devices=[]):  # adv-lib draws its random starts from the global generator
        torch.manual_seed(seed)
        for loss in LOSSES:
            rows = []
            for e in range(len(model.eps)):
                module = _Member(model, e)
                adv = apgd(module, x, y, eps=radius, norm=NORM_P[norm], n_iter=n_iter, n_restarts=restarts,
                           loss_function=loss)
                rows.append(_broken(module, x, y, adv.detach(), norm, radius))
            out[loss] = torch.stack(rows) | clean_wrong
    return out


def peer_rows(model: LSEClassifier, x: Tensor, y: Tensor, eps: Tensor, hjexp_broken: dict[str, Tensor],
              standard: dict[str, float], p, common: dict) -> list[dict]:
    """Rows for the judge: per ε and threat model, robust accuracy on the subset under hjexp's PGD
    (``hjexp_broken[norm]`` [E, n]), under each APGD loss, under both, and under all attacks together."""
    n = len(y)
    if not available():
        return [dict(common, quantity=Q.PEER_MISSING, value=1.0, note=INSTALL)]
    rows = [dict(common, quantity=Q.PEER_N_IMAGES, value=float(n))]
    for norm in NORM_P:
        r = float(standard[norm])
        peer = apgd_broken(model, x, y, r, norm=norm, n_iter=int(p.n_iter), restarts=int(p.restarts), seed=int(p.seed))
        peer[Loss.BOTH] = peer["ce"] | peer["dlr"]
        ours = hjexp_broken[norm]
        for e in range(len(eps)):
            cell = dict(common, eps=float(eps[e]), norm=norm, radius=r)
            rows.append(dict(cell, quantity=Q.SUBSET_ROBUST_ACC, value=float((~ours[e]).float().mean())))
            rows.append(dict(cell, quantity=Q.ENSEMBLE_ROBUST_ACC,
                             value=float((~(ours[e] | peer[Loss.BOTH][e])).float().mean())))
            rows += [dict(cell, quantity=Q.PEER_ROBUST_ACC, loss=LOSS_KEY[k],
                          value=float((~v[e]).float().mean())) for k, v in peer.items()]
    return rows
