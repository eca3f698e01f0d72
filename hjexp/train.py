"""Training a stacked ensemble: Adam on the summed loss, optional L-BFGS polish.

The loss is a *sum* over members of each member's own weighted MSE, so each
member's gradient equals its solo gradient; Adam is elementwise, so members
never interact (no global-norm clipping, no shared line search).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hjexp.ensemble import Ensemble

Progress = Callable[[int], None]


def member_mse(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Per-member weighted MSE.  pred [E, n]; target [E, n] or [n]; weight [E, n] -> [E].

    ``weight`` masks absent samples (members trained on fewer points than n).
    """
    sq = (pred - target) ** 2
    if weight is None:
        return sq.mean(-1)
    return (sq * weight).sum(-1) / weight.sum(-1).clamp_min(1e-30)


def train_adam(model: Ensemble, x: Tensor, target: Tensor, *, steps: int, lr: float,
               weight: Tensor | None = None, batch_size: int | None = None,
               generator: torch.Generator | None = None,
               progress: Progress | None = None) -> Tensor:
    """Full-batch (or minibatch) Adam on every member at once. Returns final loss [E].

    x: [n, d] shared by all members or [E, n, d] per member.
    """
    opt = torch.optim.Adam(model.trainable(), lr=lr)
    n = x.shape[-2]
    for _ in range(steps):
        xb, tb, wb = x, target, weight
        if batch_size is not None and batch_size < n:
            idx = torch.randint(n, (batch_size,), generator=generator, device=x.device)
            xb = x[..., idx, :]
            tb = target[..., idx]
            wb = None if weight is None else weight[..., idx]
        opt.zero_grad(set_to_none=True)
        loss = member_mse(model.predict(xb), tb, wb)
        loss.sum().backward()
        opt.step()
        if progress is not None:
            progress(1)
    with torch.no_grad():
        return member_mse(model.predict(x), target, weight)


def polish_lbfgs(model: Ensemble, x: Tensor, target: Tensor, *, iterations: int,
                 weight: Tensor | None = None) -> Tensor:
    """L-BFGS polish, one member at a time.

    A single L-BFGS over the stacked parameters would share one line search and
    couple the members, so each member gets its own optimiser; this loop is a
    short finishing step, not the hot path. Returns final loss [E].
    """
    for e in range(model.size):
        solo = model.member(e)
        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in solo.params.items()}
        solo.params = leaves
        xe = x if x.ndim == 2 else x[e : e + 1]
        te = target if target.ndim == 1 else target[e : e + 1]
        we = None if weight is None else weight[e : e + 1]
        opt = torch.optim.LBFGS(list(leaves.values()), max_iter=iterations,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                                tolerance_change=1e-15)

        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            loss = member_mse(solo.predict(xe), te, we).sum()
            loss.backward()
            return loss

        before = closure().item()
        opt.step(closure)
        after = member_mse(solo.predict(xe), te, we).sum().item()
        if after < before:  # never let the polish make a member worse
            with torch.no_grad():
                for k, v in model.params.items():
                    v[e] = leaves[k][0]
    with torch.no_grad():
        return member_mse(model.predict(x), target, weight)
