"""The autograd path: torch.optim on the closed forms (Model.predict), for minibatches, L-BFGS and tests.

The loss is a *sum* over members of each member's own weighted MSE, so each member's gradient
equals its solo gradient; Adam is elementwise, so members never interact (no global-norm
clipping, no shared line search). The fused trainer (engine.train) must agree with this path.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hjexp.engine.models import Model

Progress = Callable[[int], None]


def member_mse(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Per-member weighted MSE.  pred [E, n]; target [E, n] or [n]; weight [E, n] -> [E]."""
    sq = (pred - target) ** 2
    if weight is None:
        return sq.mean(-1)
    return (sq * weight).sum(-1) / weight.sum(-1).clamp_min(1e-30)


def _leaves(model: Model) -> list[Tensor]:
    """The trainable tensors as autograd leaves (in place: they stay the model's storage)."""
    params = model.trainable()
    for v in params:
        if not v.requires_grad:
            v.requires_grad_(True)
    return params


def train_autograd(model: Model, x: Tensor, target: Tensor, *, steps: int, lr: float,
                   weight: Tensor | None = None, batch_size: int | None = None,
                   generator: torch.Generator | None = None, progress: Progress | None = None) -> Tensor:
    """Full-batch (or seeded minibatch) torch.optim.Adam on every member at once. Returns final loss [E].

    x: [n, d] shared by all members or [E, n, d] per member.
    """
    opt = torch.optim.Adam(_leaves(model), lr=lr)
    n = x.shape[-2]
    for _ in range(steps):
        xb, tb, wb = x, target, weight
        if batch_size is not None and batch_size < n:
            idx = torch.randint(n, (batch_size,), generator=generator, device=x.device)
            xb, tb = x[..., idx, :], target[..., idx]
            wb = None if weight is None else weight[..., idx]
        opt.zero_grad(set_to_none=True)
        member_mse(model.predict(xb), tb, wb).sum().backward()
        opt.step()
        if progress is not None:
            progress(1)
    with torch.no_grad():
        return member_mse(model.predict(x), target, weight)


def polish_lbfgs(model: Model, x: Tensor, target: Tensor, *, iterations: int,
                 weight: Tensor | None = None) -> Tensor:
    """L-BFGS polish, one member at a time. Returns final loss [E].

    A single L-BFGS over the stacked parameters would share one line search and couple the
    members, so each member gets its own optimiser; a short finishing step, not a hot path.
    """
    for e in range(model.size):
        solo = model.member(e).clone(requires_grad=True)
        xe = x if x.ndim == 2 else x[e : e + 1]
        te = target if target.ndim == 1 else target[e : e + 1]
        we = None if weight is None else weight[e : e + 1]
        opt = torch.optim.LBFGS(solo.trainable(), max_iter=iterations, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-12, tolerance_change=1e-15)

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
                for k, v in model.tensors().items():
                    v[e] = solo.tensors()[k][0]
    with torch.no_grad():
        return member_mse(model.predict(x), target, weight)
