"""identity, measure: every check compares two independently computed quantities — f from (W, b)
against u from atoms (y, g) via distances; PDE derivatives from autograd; semigroups from direct
minimisation / heat-kernel quadrature against the closed-form solution. Rows only; judge.py decides.
"""

from __future__ import annotations

import math

import torch

from hjexp.claims.roundoff import dtype_row
from hjexp.context import RunContext
from hjexp.engine import closed as L

from .contract import Part, Q, Setup


def _half_sq(x: torch.Tensor, t: float) -> torch.Tensor:
    return (x * x).sum(-1) / (4.0 * t)


def identity_error(x, W, b, y, g, eps, t) -> torch.Tensor:
    """|f_ε(x) + u_ε(x,t) − |x|²/4t| per member: f from (W,b), u from (y,g).  [E]."""
    f = L.lse(L.logits(x, W, b), eps)  # [E, n]
    u = L.hopf_cole(x, y, g, eps, t)  # [E, n]
    return (f + u - _half_sq(x, t)).abs().amax(-1)


def check_identity(ctx: RunContext, p) -> None:
    t, rows = p.t, []
    eps = ctx.tensor(list(p.paper.eps))
    E = len(eps)
    y = ctx.tensor(list(p.paper.y)).reshape(1, -1, 1).expand(E, -1, -1)  # [E, N, 1]
    g = ctx.tensor(list(p.paper.g)).expand(E, -1)
    W, b = L.atoms_to_lse(y, g, t)
    x = torch.linspace(*p.paper.x_range, p.paper.n_points, dtype=ctx.dtype, device=ctx.device)[:, None]
    for e, err in zip(eps.tolist(), identity_error(x, W, b, y, g, eps, t).tolist()):
        rows.append(dict(part=Part.HOPF_COLE, setup=Setup.PAPER, d=1, eps=e, quantity=Q.MAX_ABS_ERR, value=err))
    gen, inverse = ctx.generator(1), []
    eps = ctx.tensor(list(p.random.eps))
    E, N = len(eps), p.random.n_neurons
    for d in p.random.dims:
        W = (torch.randn(N, d, generator=gen, dtype=ctx.dtype, device=ctx.device) / math.sqrt(d)).expand(E, -1, -1)
        b = torch.randn(N, generator=gen, dtype=ctx.dtype, device=ctx.device).expand(E, -1)
        x = torch.randn(p.random.n_points, d, generator=gen, dtype=ctx.dtype, device=ctx.device)
        y, g = L.lse_to_atoms(W, b, t)
        for e, err in zip(eps.tolist(), identity_error(x, W, b, y, g, eps, t).tolist()):
            rows.append(dict(part=Part.HOPF_COLE, setup=Setup.RANDOM, d=d, eps=e, quantity=Q.MAX_ABS_ERR, value=err))
        W2, b2 = L.atoms_to_lse(y, g, t)  # (W,b) -> (y,g) -> (W,b)
        y2, g2 = L.lse_to_atoms(W2, b2, t)  # and once more round to (y,g)
        inverse.append(max((W2 - W).abs().max().item(), (b2 - b).abs().max().item(),
                           (y2 - y).abs().max().item(), (g2 - g).abs().max().item()))
        rows.append(dict(part=Part.INVERSE_MAP, setup=Setup.RANDOM, d=d, quantity=Q.MAX_ABS_ERR, value=inverse[-1]))
    ctx.add_rows(rows)


def pde_residual(x, tt, y, g, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Autograd residual of u_t + |∇u|² − εΔu for the prefactor-normalised solution
    u + (εd/2) log(4πεt), and the scale |u_t| + |∇u|² + ε|Δu| it is a difference of.  [n]."""
    d = x.shape[-1]
    x = x.clone().requires_grad_(True)
    tt = tt.clone().requires_grad_(True)
    u = L.hopf_cole(x[:, None, :], y[None], g[None], eps, tt)[:, 0]  # one member per point: own t
    u = u + 0.5 * eps * d * torch.log(4 * math.pi * eps * tt)
    u_t, grad = torch.autograd.grad(u.sum(), (tt, x), create_graph=True)
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(d))
    res = u_t + (grad * grad).sum(-1) - eps * lap
    return res.detach(), (u_t.abs() + (grad * grad).sum(-1) + eps * lap.abs()).detach()


def check_pde(ctx: RunContext, p) -> None:
    gen, rows = ctx.generator(2), []
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    for d in p.pde.dims:
        y = torch.randn(p.pde.n_atoms, d, **kw)
        g = torch.rand(p.pde.n_atoms, **kw)
        x = 1.5 * torch.randn(p.pde.n_points, d, **kw)
        lo, hi = p.pde.t_range
        tt = lo + (hi - lo) * torch.rand(p.pde.n_points, **kw)
        for eps in p.pde.eps:
            res, scale = pde_residual(x, tt, y, g, eps)
            rel = (res.abs() / scale).max().item()
            rows += [dict(part=Part.PDE_RESIDUAL, d=d, eps=eps, quantity=Q.MAX_ABS, value=res.abs().max().item()),
                     dict(part=Part.PDE_RESIDUAL, d=d, eps=eps, quantity=Q.MAX_REL, value=rel)]
    ctx.add_rows(rows)


def check_tropical(ctx: RunContext, p) -> None:
    q, rows = p.tropical, []
    eps = ctx.tensor(list(q.eps))
    E = len(eps)
    z = torch.linspace(-3, 3, 601, dtype=ctx.dtype, device=ctx.device)  # contains z = 0, the worst case
    pair = torch.stack([z, torch.zeros_like(z)], -1).expand(E, -1, -1)  # softplus_ε(z) = LSE_ε(z, 0)
    sp_gap = L.lse(pair, eps) - z.clamp_min(0)  # [E, 601]
    zr = 2 * torch.randn(256, q.lse_neurons, generator=ctx.generator(3), dtype=ctx.dtype, device=ctx.device)
    lse_gap = L.lse(zr.expand(E, -1, -1), eps) - zr.amax(-1)  # [E, 256]
    # 2-layer nets: the sup of the gap sits on the kinks, which a grid coarser than ε misses;
    # evaluate on the authors' grid plus the kinks and keep both.
    W1, b1, w2 = (ctx.tensor(list(v)) for v in (q.W1, q.b1, q.w2))
    grid = torch.linspace(*q.x_range, q.n_points, dtype=ctx.dtype, device=ctx.device)
    x = torch.cat([grid, -b1 / W1])
    h = x[:, None] * W1 + b1  # [n, 3]
    relu_net = h.clamp_min(0) @ w2
    sp_net = torch.stack([h, torch.zeros_like(h)], -1).expand(E, -1, -1, -1)
    sp_net = (eps[:, None, None] * torch.logsumexp(sp_net / eps[:, None, None, None], -1)) @ w2  # [E, n]
    net_gap = (sp_net - relu_net).abs()
    for i, e in enumerate(eps.tolist()):
        rows += [dict(part=Part.SOFTPLUS_GAP, eps=e, quantity=Q.MAX, value=sp_gap[i].max().item()),
                 dict(part=Part.SOFTPLUS_GAP, eps=e, quantity=Q.MIN, value=sp_gap[i].min().item()),
                 dict(part=Part.LSE_MAX_GAP, eps=e, quantity=Q.MAX, value=lse_gap[i].max().item()),
                 dict(part=Part.LSE_MAX_GAP, eps=e, quantity=Q.MIN, value=lse_gap[i].min().item()),
                 dict(part=Part.TWO_LAYER_GAP, eps=e, quantity=Q.SUP_WITH_KINKS, value=net_gap[i].max().item()),
                 dict(part=Part.TWO_LAYER_GAP, eps=e, quantity=Q.SUP_GRID_ONLY,
                      value=net_gap[i, : q.n_points].max().item())]
    # ReLU is the two-atom Hopf–Lax solution: max(x,0) = x²/4t − u_0 with y = {0, 2t}, g = {0, −t}.
    t = p.t
    xs = grid[:, None]
    y = ctx.tensor([[0.0], [2 * t]])[None]
    g = ctx.tensor([0.0, -t])[None]
    u0 = L.hopf_lax(xs, y, g, t)[0]
    relu_err = (xs[:, 0].clamp_min(0) - (_half_sq(xs, t) - u0)).abs().max().item()
    authors = (u0 - xs[:, 0].clamp_min(0)).abs().max().item()
    rows += [dict(part=Part.RELU_TWO_ATOMS, quantity=Q.MAX_ABS_ERR, value=relu_err),
             dict(part=Part.RELU_TWO_ATOMS, quantity=Q.AUTHORS_U0_VS_RELU, value=authors)]
    ctx.add_rows(rows)


def check_semigroups(ctx: RunContext, p) -> None:
    t, s, q, rows = p.t, p.semigroup.s, p.semigroup, []
    y = ctx.tensor(list(p.paper.y))[:, None]
    g = ctx.tensor(list(p.paper.g))
    x = torch.linspace(*p.paper.x_range, q.n_eval, dtype=ctx.dtype, device=ctx.device)[:, None]
    exact = L.hopf_lax(x, y, g, t + s)  # [n]
    lo, hi = q.z_range
    for G in q.grid_sizes:
        z = torch.linspace(lo, hi, G, dtype=ctx.dtype, device=ctx.device)
        h = (hi - lo) / (G - 1)
        v = L.hopf_lax(z[:, None], y, g, t)  # u_0(z, t)  [G]
        stepped = (v + (x - z) ** 2 / (4 * s)).amin(-1)  # HL_s on the grid  [n]
        err = stepped - exact  # ≥ 0: a grid minimum never undercuts the true infimum
        # The minimiser is the vertex of one quadratic of curvature 1/2t + 1/2s, so the
        # nearest grid point (|δ| ≤ h/2) costs at most h²(1/t + 1/s)/16.
        bound = h * h * (1 / t + 1 / s) / 16
        rows += [dict(part=Part.HOPF_LAX_SEMIGROUP, grid=G, h=h, quantity=Q.MAX_ABS_ERR, value=err.abs().max().item()),
                 dict(part=Part.HOPF_LAX_SEMIGROUP, grid=G, h=h, quantity=Q.MIN_SIGNED_ERR, value=err.min().item()),
                 dict(part=Part.HOPF_LAX_SEMIGROUP, grid=G, h=h, quantity=Q.BOUND, value=bound)]
    for G in q.viscous_grid_sizes:
        z = torch.linspace(lo, hi, G, dtype=ctx.dtype, device=ctx.device)
        h = (hi - lo) / (G - 1)
        w = torch.full_like(z, h)
        w[0] = w[-1] = h / 2  # trapezoid weights
        for eps in q.eps_viscous:
            # Prefactor-normalised u solves the clean equation, so u(·,t+s) = −ε log(K_s * e^{−u(·,t)/ε}).
            def clean(pts, tau, eps=eps):
                return L.hopf_cole(pts, y[None], g[None], eps, tau)[0] + 0.5 * eps * math.log(4 * math.pi * eps * tau)
            log_k = -(x - z) ** 2 / (4 * eps * s) - 0.5 * math.log(4 * math.pi * eps * s)  # [n, G]
            stepped = -eps * torch.logsumexp(torch.log(w) + log_k - clean(z[:, None], t) / eps, -1)
            err = (stepped - clean(x, t + s)).abs().max().item()
            rows.append(dict(part=Part.VISCOUS_SEMIGROUP, grid=G, h=h, eps=eps, quantity=Q.MAX_ABS_ERR, value=err))
    ctx.add_rows(rows)


def _rows_of(ctx: RunContext, check, p) -> list[dict]:
    """The rows one check adds, collected apart so they can be checkpointed as a unit."""
    saved, ctx.rows = ctx.rows, []
    try:
        check(ctx, p)
        return ctx.rows
    finally:
        ctx.rows = saved


def measure(ctx: RunContext) -> None:
    p = ctx.params
    ctx.add_rows([dtype_row(ctx.dtype)])
    with ctx.progress("identity checks", 4) as advance:
        for check in (check_identity, check_pde, check_tropical, check_semigroups):
            ctx.add_rows(ctx.cached(check.__name__, lambda check=check: _rows_of(ctx, check, p)))
            advance(1)
