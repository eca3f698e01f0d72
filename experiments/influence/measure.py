"""influence, measure: the closed-form attribution π_j(x) = softmax_j(z/ε) against two brute-force
attributions computed without it — autograd of ε log Σ exp((z_j + s_j)/ε) w.r.t. per-atom logit shifts
s_j at 0, and leaving atom j out (f − f_{−j} = −ε log(1 − π_j), inverted) — and the cost per query
against N. Identity rows go to results.csv; wall-clock timings to timings.csv (they differ run to run);
operation counts per query to op_counts.csv (counts.py: the same on every machine); the training-point
influence against leave-one-out retraining to loo.csv (loo.py).
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch

from hjexp.claims.roundoff import dtype_row
from hjexp.context import RunContext
from hjexp.engine import closed as L

from .contract import Clock, Method, Part, Q


def lse_by_hand(z: torch.Tensor, eps) -> torch.Tensor:
    """ε log Σ_j exp(z_j/ε) written out, max shift detached.  [..., N] -> [...]; ε a float or a
    tensor broadcastable against z (e.g. [E, 1, 1] for z [E, n, N])."""
    m = z.detach().amax(-1, keepdim=True)
    return (m + eps * torch.log(torch.exp((z - m) / eps).sum(-1, keepdim=True))).squeeze(-1)


def closed_form(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor, eps) -> torch.Tensor:
    """π_j(x) in closed form: one logit pass and a softmax, O(N d) per query.  [..., n, N]."""
    return L.gibbs(L.logits(x, W, b), eps)


def by_autograd(z: torch.Tensor, eps) -> torch.Tensor:
    """∂/∂s_j of ε log Σ exp((z_j + s_j)/ε) at s = 0, by autograd.  [..., N]."""
    s = torch.zeros_like(z, requires_grad=True)
    (grad,) = torch.autograd.grad(lse_by_hand(z + s, eps).sum(), s)
    return grad


def leave_one_out(z: torch.Tensor, eps, chunk_elements: int = 1 << 18) -> torch.Tensor:
    """π_j recovered from f − f_{−j}, f_{−j} the layer with atom j removed: O(N²) per query.  [..., N].

    Removing atom j turns f into f + ε log(1 − π_j), so π_j = −expm1(−(f − f_{−j})/ε) exactly.
    Atoms are removed a chunk at a time so that the masked copies [..., J, N] hold ≤ chunk_elements.
    """
    N = z.shape[-1]
    chunk = max(1, chunk_elements // z.numel())
    f = lse_by_hand(z, eps).unsqueeze(-1)  # [..., 1]
    out = []
    for lo in range(0, N, chunk):
        j = torch.arange(lo, min(lo + chunk, N), device=z.device)
        drop = torch.zeros(len(j), N, dtype=torch.bool, device=z.device)
        drop[torch.arange(len(j), device=z.device), j] = True  # row r removes atom lo + r
        masked = z.unsqueeze(-2).masked_fill(drop, float("-inf"))  # [..., J, N]
        out.append(lse_by_hand(masked, eps.unsqueeze(-1) if torch.is_tensor(eps) else eps))
    f_minus = torch.cat(out, -1)  # [..., N]
    return -torch.expm1(-(f - f_minus) / eps)


def check_identities(ctx: RunContext, p) -> list[dict]:
    q, gen = p.exactness, ctx.generator(1)
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    E, R = len(q.eps), q.n_layers
    W = torch.randn(R, 1, q.n_atoms, p.d, **kw).expand(R, E, -1, -1).reshape(R * E, q.n_atoms, p.d)  # [RE, N, d]
    b = torch.randn(R, 1, q.n_atoms, **kw).expand(R, E, -1).reshape(R * E, q.n_atoms)
    x = torch.randn(q.n_queries, p.d, **kw)  # [n, d]
    eps = ctx.tensor(list(q.eps)).repeat(R).reshape(-1, 1, 1)  # [RE, 1, 1]
    pi = closed_form(x, W, b, eps.flatten())  # [RE, n, N]
    z = L.logits(x, W, b)
    rows = []
    for name, other in ((Method.AUTOGRAD, by_autograd(z, eps)), (Method.LEAVE_ONE_OUT, leave_one_out(z, eps))):
        err = (pi - other).abs().reshape(R, E, -1).amax((0, 2))  # [E]
        rows += [dict(part=Part.IDENTITY, method=name, eps=e, quantity=Q.MAX_ABS_ERR, value=v)
                 for e, v in zip(q.eps, err.tolist())]
    rows += [dict(part=Part.IDENTITY, method=Method.CLOSED_FORM, eps=e, quantity=Q.MAX_PI, value=v)
             for e, v in zip(q.eps, pi.reshape(R, E, -1).amax((0, 2)).tolist())]
    return rows


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock_for(device: torch.device):
    """CPU time of the process on a CPU run: time spent descheduled while other jobs share the
    cores is not counted (cost = work done), so the exponent does not drift with the machine's
    load; wall time with synchronisation on CUDA, where the work is not on the CPU."""
    return (time.perf_counter, Clock.WALL) if device.type == "cuda" else (time.process_time, Clock.PROCESS_CPU)


def time_per_call(fn, device: torch.device, reps: int, min_batch_s: float) -> float:
    """Smallest mean time of one call over ``reps`` batches (disturbances only add time, so the
    minimum is the least disturbed reading); each batch repeats fn until it lasts ≥ ``min_batch_s``."""
    clock, _ = clock_for(device)
    _sync(device)
    start = clock()
    fn()  # warm-up, and a first estimate of the call time
    _sync(device)
    once = clock() - start
    inner = max(1, math.ceil(min_batch_s / max(once, 1e-7)))
    best = math.inf
    for _ in range(reps):
        _sync(device)
        start = clock()
        for _ in range(inner):
            fn()
        _sync(device)
        best = min(best, (clock() - start) / inner)
    return best


def time_costs(ctx: RunContext, p) -> pd.DataFrame:
    """Seconds per query against N for the closed form, autograd, and leave-one-out (pass
    threads=1: with more threads the process clock also counts idle-spinning workers)."""
    q, gen, rows = p.timing, ctx.generator(2), []
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    eps = float(q.eps)
    sizes = [2**k for k in range(q.log2_n_min, q.log2_n_max + 1)]
    with ctx.progress("timing per query vs N", len(sizes)) as advance:
        for N in sizes:
            W, b = torch.randn(N, p.d, **kw), torch.randn(N, **kw)
            x = torch.randn(q.n_queries, p.d, **kw)  # [n, d]
            methods = {Method.CLOSED_FORM: (lambda: closed_form(x, W[None], b[None], eps), q.n_queries),
                       Method.AUTOGRAD: (lambda: by_autograd(L.logits(x, W[None], b[None]), eps), q.n_queries)}
            if N <= 2**q.log2_n_max_brute:
                methods[Method.LEAVE_ONE_OUT] = (lambda: leave_one_out(L.logits(x[:1], W[None], b[None]), eps), 1)
            for name, (fn, per_call) in methods.items():
                seconds = time_per_call(fn, ctx.device, q.reps, q.min_batch_s) / per_call
                rows.append(dict(method=name, N=N, queries_per_call=per_call, clock=clock_for(ctx.device)[1],
                                 seconds_per_query=seconds))
            advance(1)
    return pd.DataFrame(rows)


def measure(ctx: RunContext) -> None:
    p = ctx.params
    ctx.add_rows([dtype_row(ctx.dtype)])
    ctx.add_rows(ctx.cached("identities", lambda: check_identities(ctx, p)))
    ctx.save_table("timings", ctx.cached("timings", lambda: time_costs(ctx, p)))
    from .counts import count_costs  # counts imports this module's methods
    from .loo import measure_loo

    ctx.save_table("op_counts", ctx.cached("op_counts", lambda: count_costs(p, ctx.dtype)))
    rows, table = ctx.cached("loo", lambda: measure_loo(ctx, p))
    ctx.add_rows(rows)
    ctx.save_table("loo", table)
