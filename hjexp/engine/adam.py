"""Full-batch Adam on every member at once, on the fused kernel, with a per-member stopping rule.

A member stops (its parameters freeze) at the first check where its training loss changed by less
than ``rel_tol`` relative over the last ``check_every`` steps,

    |L(k − check_every) − L(k)| / L(k − check_every) < rel_tol,

and ``max_steps`` caps the rest; ``rel_tol = 0`` never stops early (a fixed step budget). Freezing
needs a per-member mask on the Adam update: a zero gradient alone would keep a member moving on
its momentum. A member whose loss turns non-finite (NaN/inf) is frozen the same way and flagged
as diverged; members never interact, so it cannot poison the others. A width group whose members
have all stopped is skipped, and the loop ends when every group has. Adam is torch.optim.Adam's update (β = 0.9, 0.999; eps 1e-8; bias-corrected);
the loss is a sum over members, Adam is elementwise, so members never interact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from hjexp.engine import kernel, torch_pass
from hjexp.engine.models import Model

Progress = Callable[[int], None]
BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


class Fit(NamedTuple):
    loss: Tensor  # [E] final training MSE
    steps: Tensor  # [E] long: Adam steps taken
    converged: Tensor  # [E] bool: stopped by the rule (not the cap)
    diverged: Tensor  # [E] bool: loss became NaN/inf; frozen there, its results are not to be trusted


def adam_step_(p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: int, lr: float, live: Tensor | None) -> None:
    """torch.optim.Adam's update in place; ``live`` (broadcastable 0/1) freezes stopped members."""
    b1, b2 = BETAS
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v.sqrt() / math.sqrt(1 - b2**step)).add_(ADAM_EPS)
    p.addcdiv_(m if live is None else m * live, denom, value=-lr / (1 - b1**step))


def adam_group_(gr: kernel.Group, g_th: Tensor, g_c: Tensor | None, step: int, lr: float, live: Tensor | None) -> None:
    """Adam's step ``step`` on a group from its pass's gradient (raw dL/d[W, b]ᵀ for fused_adam
    groups, else dL/dθ) and readout gradient; ``live`` [E_g] 0/1 freezes stopped members."""
    if gr.fused_adam:  # θ and the readout in one C call
        gr.adam_(g_th, step, lr, live, BETAS, ADAM_EPS, g_c)
        return
    adam_step_(gr.theta, g_th, gr.m, gr.v, step, lr, None if live is None else live.view(-1, 1, 1))
    if g_c is not None:
        adam_step_(gr.c, g_c, gr.mc, gr.vc, step, lr, live)


def train(model: Model, x: Tensor, target: Tensor, *, lr: float, max_steps: int, weight: Tensor | None = None,
          rel_tol: float = 0.0, check_every: int = 100, progress: Progress | None = None,
          batch_size: int | None = None, generator: torch.Generator | None = None,
          plan: torch_pass.TorchPlan | None = None) -> Fit:
    """Adam on every member until it meets the rule above or ``max_steps``; ``model`` is updated in place.

    x [n, d] shared or [E, n, d] per member; target [n] or [E, n]; weight [E, n] (0 = absent sample).
    ``batch_size`` < n: each step uses batch_size rows drawn with replacement from ``generator``,
    the same rows for every member (the draws of engine.train_autograd, step for step); the
    stopping rule then sees minibatch losses. The returned loss is on all rows.
    On the torch pass the loop is engine.torch_pass.train's (no host sync in a step; ``plan``: its
    chunking, None: the device's own), with the same stopping rule member for member.
    """
    E, dev = model.size, x.device
    steps = torch.full((E,), max_steps, dtype=torch.long, device=dev)
    converged = torch.zeros(E, dtype=torch.bool, device=dev)
    diverged = torch.zeros(E, dtype=torch.bool, device=dev)
    with torch.no_grad():
        n = x.shape[-2]
        batched = batch_size is not None and batch_size < n
        grs = kernel.groups(model, x, target, weight, order_rows=not batched, plan=plan)
        if grs and not grs[0].use_c:
            steps, converged, diverged = torch_pass.train(
                grs, E, x, lr=lr, max_steps=max_steps, rel_tol=rel_tol, check_every=check_every, progress=progress,
                batch_size=batch_size, generator=generator, betas=BETAS, adam_eps=ADAM_EPS)
            return Fit(_final(model, grs, E, x), steps, converged, diverged)
        live = [torch.ones(len(gr.idx), dtype=x.dtype, device=dev) for gr in grs]  # [E_g]
        any_live = [True] * len(grs)
        last: list[Tensor | None] = [None] * len(grs)  # loss at the previous check  [E_g]
        checking = rel_tol > 0
        masked = [checking] * len(grs)  # the Adam update needs the live mask once a member stopped
        for step in range(1, max_steps + 1):
            rows = torch.randint(n, (batch_size,), generator=generator, device=dev) if batched else None
            for i, gr in enumerate(grs):
                if not any_live[i]:
                    continue  # every member of this width has stopped: skip its work
                # once members have stopped, the C pass computes only the running ones
                active = torch.nonzero(live[i]).flatten() if masked[i] and gr.use_c else None
                # loss after step − 1 updates
                raw = gr.fused_adam  # its gradient stays dL/d[W, b]ᵀ: param.c pulls it back in the step
                loss, g_th, g_c = gr.run("grad", active, raw) if rows is None else gr.run_rows("grad", rows, active, raw)
                done = step - 1
                # one sum tells whether any loss is NaN/inf (either makes it non-finite); the mask only then
                bad = None if math.isfinite(float(loss.sum())) else (live[i] > 0) & ~torch.isfinite(loss)
                if bad is not None and bool(bad.any()):
                    steps[gr.idx[bad]] = done
                    diverged[gr.idx[bad]] = True
                    live[i] = live[i].masked_fill(bad, 0.0)
                    masked[i] = True
                    any_live[i] = bool(live[i].any())
                    if not any_live[i]:
                        continue
                if checking and done % check_every == 0:
                    if last[i] is not None:
                        stop = (live[i] > 0) & ((last[i] - loss).abs() < rel_tol * last[i])
                        steps[gr.idx[stop]] = done
                        converged[gr.idx[stop]] = True
                        live[i] = live[i].masked_fill(stop, 0.0)
                        any_live[i] = bool(live[i].any())
                    last[i] = loss
                    if not any_live[i]:
                        continue
                adam_group_(gr, g_th, g_c, step, lr, live[i] if masked[i] else None)
            if progress is not None:
                progress(1)
            if not any(any_live):
                if progress is not None:
                    progress(max_steps - step)  # the bar ends at its total
                break
    return Fit(_final(model, grs, E, x), steps, converged, diverged)


def _final(model: Model, grs: list[kernel.Group], E: int, x: Tensor) -> Tensor:
    """Write the groups' parameters back into ``model``; each member's loss on all rows [E]."""
    with torch.no_grad():
        final = torch.zeros(E, dtype=x.dtype, device=x.device)
        c = model.readout()
        for gr in grs:
            model.unpack_(gr.idx, gr.theta)
            if gr.c is not None:
                c[gr.idx] = gr.c
            final[gr.idx] = gr.run("loss")[0]  # all rows (a minibatch group keeps them all)
    return final
