"""scaling-dim, measure: test RMSE of trained one-layer models against width N; rows only, judge.py decides.

Two parts, each one batched tensor program per data setting (every width × seed × ε member
stacked, narrower members masked; seeds redraw the data, so they are independent replicates):

- ``authors``: the paper's setup — target ‖x‖ on U(−2, 2)^d, the LSE form f = ε·LSE(Wx + b),
  ε tied to N^(−1/d) as in the paper, and beside it ε fixed (with ε tied to N the smoothing
  error alone, ≤ ε log N, is O(N^(−1/d)): α = 1/d could come from the prescription).
- ``manifold``: data on a d_int-manifold in R^D (linear or curved embedding), noiseless target
  u*(x) = min_k [c_k + h_{L_k,t}(|x − a_k|)]: the exact Hopf–Lax solution at time t from the
  initial data g0(y) = min_k [c_k + L_k|y − a_k|] whose cone tips a_k lie on the manifold
  (hjexp/data/targets.py, ConeHopfLax). It is Lipschitz and non-convex (a minimum of cones) and
  lies in the closure of the Hopf–Cole class at the same t, which is the model fitted here
  (atoms y_j and values g_j trained, t fixed), to the convergence rule of hjexp.engine.train. ε is
  chosen per (width, seed) on a validation split, or fixed, or tied to N^(−1/d_int).
  TwoNN and Levina–Bickel estimates of each training set go beside.
"""

from __future__ import annotations

import math
import zlib

import pandas as pd
import torch

from hjexp import engine
from hjexp.context import RunContext
from hjexp.data.manifolds import manifold_sample, uniform_box
from hjexp.data.targets import ConeHopfLax
from hjexp.intrinsic_dim import levina_bickel, twonn

from .contract import Embedding, EpsMode, Setup


def offset(*keys) -> int:
    """A generator offset per named unit (part, setting, seed): stable, and distinct across units."""
    return zlib.crc32("/".join(map(str, keys)).encode()) % (1 << 30)


def members(widths, seeds: int, mode: str, d: int, q) -> pd.DataFrame:
    """One row per ensemble member: ε mode, width, seed and ε value."""
    rows = []
    for N in widths:
        eps_list = {EpsMode.TIED: [q.eps_c * N ** (-1 / d)], EpsMode.FIXED: [q.eps_fixed]}.get(mode, list(q.eps_grid))
        for eps in eps_list:
            for s in range(seeds):
                rows.append(dict(eps_mode=mode, width=N, seed=s, eps=eps))
    return pd.DataFrame(rows)


def select_on_validation(tab: pd.DataFrame) -> pd.DataFrame:
    """Validation members: per (ε mode, width, seed) the ε with the lowest validation RMSE is selected."""
    tab = tab.assign(selected=tab.eps_mode != EpsMode.VALIDATION)
    v = tab[tab.eps_mode == EpsMode.VALIDATION]
    if len(v):
        tab.loc[v.groupby(["width", "seed"]).val_rmse.idxmin(), "selected"] = True
    return tab


def rmse(model: engine.Model, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Per-member RMSE on points x [E, n, D] with targets y [E, n]."""
    return ((engine.predict(model, x) - y) ** 2).mean(-1).sqrt().cpu().tolist()


# --- the authors' setup --------------------------------------------------------------------

def authors_unit(ctx: RunContext, q, d: int) -> pd.DataFrame:
    """All members for input dimension d: ε modes × widths × seeds, trained for q.steps Adam steps."""
    tab = pd.concat([members(list(q.widths[str(d)]), q.seeds, m, d, q) for m in q.eps_modes], ignore_index=True)
    n_val = q.n_test if EpsMode.VALIDATION in q.eps_modes else 0
    n_all = q.n_train + n_val + q.n_test
    x = torch.stack([uniform_box(n_all, d, -2.0, 2.0, ctx.generator(offset("authors", d, s)),
                                 dtype=ctx.dtype, device=ctx.device) for s in range(q.seeds)])  # [S, n, d]
    y = x.norm(dim=-1)  # [S, n]
    seed = torch.tensor(tab.seed.to_numpy(), device=ctx.device)
    xs, ys = x[seed], y[seed]  # [E, n, d], [E, n]: each member sees its own seed's data
    a, b = q.n_train, q.n_train + n_val
    E, N = len(tab), int(tab.width.max())
    gen = ctx.generator(offset("authors-init", d))
    # One init per seed; members differing in width or ε share its prefix (W ~ N(0,1)·w_scale/√d, b ~ b_scale·N(0,1)).
    W0 = torch.randn(q.seeds, N, d, generator=gen, dtype=ctx.dtype, device=ctx.device)[seed]  # [E, N, d]
    b0 = torch.randn(q.seeds, N, generator=gen, dtype=ctx.dtype, device=ctx.device)[seed]  # [E, N]
    mask = torch.arange(N, device=ctx.device)[None, :] < torch.tensor(tab.width.to_numpy(), device=ctx.device)[:, None]
    model = engine.LSE((q.w_scale / math.sqrt(d)) * W0, q.b_scale * b0, ctx.tensor(tab.eps.to_numpy()),
                       neuron_mask=mask)
    with ctx.progress(f"authors d={d}: {E} members", q.steps) as advance:
        loss = engine.train(model, xs[:, :a], ys[:, :a], max_steps=q.steps, lr=q.lr, progress=advance).loss
    tab["train_rmse"] = loss.sqrt().cpu().tolist()
    if n_val:
        tab["val_rmse"] = rmse(model, xs[:, a:b], ys[:, a:b])
    tab["test_rmse"] = rmse(model, xs[:, b:], ys[:, b:])
    tab["steps"], tab["converged"] = q.steps, False  # the authors' protocol: a fixed step count
    return select_on_validation(tab)


def measure_authors(ctx: RunContext, q) -> None:
    for d in q.dims:
        tab = ctx.cached(f"authors_d{d}", lambda d=d: authors_unit(ctx, q, d))
        ctx.add_rows(tab, setup=Setup.AUTHORS, d=d, embedding=Embedding.BOX, D=d)


# --- data on a manifold, in-class non-convex target ------------------------------------------

def manifold_problem(q, kind: str, D: int, d: int, generator: torch.Generator, *, dtype, device):
    """One draw: points x [n, D] on a d-manifold (train + val + test), the target ConeHopfLax
    with its cone tips on the same manifold, and u*(x) [n]."""
    qt = q.target
    n_all = q.n_train + q.n_val + q.n_test
    # One call draws the frame, then points and tips together: the tips lie on the same manifold.
    _, pts, _ = manifold_sample(n_all + qt.n_cones, d, D, kind, generator, half_width=q.half_width,
                                radius=q.radius, dtype=dtype, device=device)
    kw = dict(generator=generator, dtype=dtype, device=device)
    c = qt.value_range * torch.rand(qt.n_cones, **kw)  # [K]
    lip = qt.lip * (0.5 + 0.5 * torch.rand(qt.n_cones, **kw))  # slopes in [L/2, L]
    target = ConeHopfLax(pts[n_all:], c, lip, qt.t)
    x = pts[:n_all]
    return x, target, target(x)


def manifold_unit(ctx: RunContext, q, kind: str, D: int, d: int) -> tuple[pd.DataFrame, list[dict]]:
    """All members of one (embedding, D, d_int): widths × seeds × ε, one batched program."""
    draws = [manifold_problem(q, kind, D, d, ctx.generator(offset("manifold", kind, D, d, s)),
                              dtype=ctx.dtype, device=ctx.device) for s in range(q.seeds)]
    x = torch.stack([dr[0] for dr in draws])  # [S, n, D]
    y = torch.stack([dr[2] for dr in draws])  # [S, n]
    a, b = q.n_train, q.n_train + q.n_val
    dims = [dict(seed=s, twonn=twonn(x[s, :a]), twonn_discard10=twonn(x[s, :a], 0.1),
                 levina_bickel=levina_bickel(x[s, :a], q.lb_k), target_sd=float(y[s, :a].std()))
            for s in range(q.seeds)]
    tab = members(list(q.widths), q.seeds, q.eps_mode, d, q)
    seed = torch.tensor(tab.seed.to_numpy(), device=ctx.device)
    E, N = len(tab), int(tab.width.max())
    # Atoms start on N random training points of their seed with g = u* there (nested over widths).
    gen = ctx.generator(offset("manifold-init", kind, D, d))
    pick = torch.stack([torch.randperm(a, generator=gen, device=ctx.device)[:N] for _ in range(q.seeds)])  # [S, N]
    y0 = torch.stack([x[s, pick[s]] for s in range(q.seeds)])[seed]  # [E, N, D]
    g0 = torch.stack([y[s, pick[s]] for s in range(q.seeds)])[seed]  # [E, N]
    mask = torch.arange(N, device=ctx.device)[None, :] < torch.tensor(tab.width.to_numpy(), device=ctx.device)[:, None]
    model = engine.HopfCole(y0.clone(), g0.clone(), ctx.tensor(tab.eps.to_numpy()), q.target.t, mask)
    xs, ys = x[seed], y[seed]  # [E, n, D], [E, n]
    with ctx.progress(f"manifold {kind} D={D} d_int={d}: {E} members", q.max_steps) as advance:
        fit = engine.train(model, xs[:, :a], ys[:, :a], lr=q.lr, max_steps=q.max_steps,
                           check_every=q.check_every, rel_tol=q.rel_tol, progress=advance)
    loss, steps, conv = fit.loss, fit.steps, fit.converged
    tab["train_rmse"] = loss.sqrt().cpu().tolist()
    tab["val_rmse"] = rmse(model, xs[:, a:b], ys[:, a:b])
    tab["test_rmse"] = rmse(model, xs[:, b:], ys[:, b:])
    tab["steps"], tab["converged"] = steps.cpu().tolist(), conv.cpu().tolist()
    tab["diverged"] = fit.diverged.cpu().tolist()
    ctx.log(f"manifold {kind} D={D} d_int={d}: {int(conv.sum())}/{E} members converged, "
            f"median {int(steps.median())} steps")
    return select_on_validation(tab), dims


def measure_manifold(ctx: RunContext, q) -> None:
    dims_rows = []
    for kind in q.embeddings:
        for D in q.D:
            for d in q.d_int:
                tab, dims = ctx.cached(f"manifold_{kind}_D{D}_dint{d}", lambda k=kind, D=D, d=d: manifold_unit(ctx, q, k, D, d))
                ctx.add_rows(tab, setup=Setup.MANIFOLD, d=d, embedding=kind, D=D)
                dims_rows += [dict(embedding=kind, D=D, d_int=d, **r) for r in dims]
    ctx.save_table("intrinsic_dim", pd.DataFrame(dims_rows))


def measure(ctx: RunContext) -> None:
    p = ctx.params
    if p.authors.enabled:
        measure_authors(ctx, p.authors)
    if p.manifold.enabled:
        measure_manifold(ctx, p.manifold)
    if p.worst.enabled:
        from .worst import measure_worst

        measure_worst(ctx, p.worst, offset)
    if p.real.enabled:
        from .real import measure_real

        measure_real(ctx, p.real, offset)
