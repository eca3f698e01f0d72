"""rate-sweep, training to a stated convergence criterion, all members in one batched program.

A member stops (its parameters freeze) at the first check where the relative change of its
training loss over the last ``check_every`` steps is below ``rel_tol``:

    |L(k − check_every) − L(k)| / L(k − check_every) < rel_tol,

and ``max_steps`` caps the rest; the rows record each member's step count and whether it hit
the cap. Gradients are hjexp/fast.py's closed forms (its width groups: members of one compact
width share one tensor program); only the Adam update is ours, because freezing a converged
member needs a per-member mask (a zero gradient alone would keep it moving on momentum).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from hjexp import fast
from hjexp.ensemble import Ensemble

BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, as fast.py uses


def _adam_masked(p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: int, lr: float, live: Tensor) -> None:
    """torch.optim.Adam's update in place, applied only where ``live`` [E_g, 1, 1] is 1."""
    b1, b2 = BETAS
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v.sqrt() / math.sqrt(1 - b2**step)).add_(ADAM_EPS)
    p.addcdiv_(m * live, denom, value=-lr / (1 - b1**step))


def train_to_convergence(model: Ensemble, x: Tensor, target: Tensor, *, weight: Tensor, lr: float,
                         max_steps: int, check_every: int, rel_tol: float,
                         progress: Callable[[int], None] | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Full-batch Adam per member until converged (rule above) or ``max_steps``.

    x [E, n, d]; target [E, n]; weight [E, n] (0 beyond a member's own samples).
    Returns (final training loss [E], steps taken [E], converged [E] bool); ``model`` is updated.
    """
    if model.form != "hopf_cole":
        raise ValueError("train_to_convergence trains the Hopf–Cole form (atoms y, values g)")
    E = model.size
    steps = torch.full((E,), max_steps, dtype=torch.long, device=x.device)
    converged = torch.zeros(E, dtype=torch.bool, device=x.device)
    with torch.no_grad():
        groups = fast._groups(model, x, target, weight)
        live = [torch.ones(len(gr.idx), dtype=x.dtype, device=x.device) for gr in groups]  # [E_g]
        last = [None] * len(groups)  # loss at the previous check  [E_g]
        for step in range(1, max_steps + 1):
            for i, gr in enumerate(groups):
                if not bool(live[i].any()):
                    continue  # every member of this width has converged: skip its work
                loss, g_th, _ = gr.pass_(grad=True)  # loss after step − 1 updates
                done = step - 1
                if done % check_every == 0:
                    if last[i] is not None:
                        stop = (live[i] > 0) & ((last[i] - loss).abs() < rel_tol * last[i])
                        steps[gr.idx[stop]] = done
                        converged[gr.idx[stop]] = True
                        live[i] = live[i].masked_fill(stop, 0.0)
                    last[i] = loss
                _adam_masked(gr.theta, g_th, gr.m, gr.v, step, lr, live[i].view(-1, 1, 1))
            if progress is not None:
                progress(1)
        final = torch.zeros(E, dtype=x.dtype, device=x.device)
        for gr in groups:
            w = gr.theta.shape[1]
            model.params["y"][gr.idx, :w] = gr.theta[..., :-1]
            model.params["g"][gr.idx, :w] = gr.theta[..., -1]
            final[gr.idx] = gr.pass_(grad=False)[0]
    return final, steps, converged
