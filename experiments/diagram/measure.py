"""diagram, measure: each corner of the diagram computed independently, every edge measured; rows only.

Per layer size (d, N): R replicates (seeds that redraw W, b and the points) × E viscosities in one
tensor program. judge.py decides; nothing here compares against a threshold.
"""

from __future__ import annotations

import math

import torch

from hjexp.claims.roundoff import dtype_row
from hjexp.context import RunContext
from hjexp.engine import closed as L

from . import activations as A
from . import corners as K
from . import legendre, lipschitz, solver
from .contract import Corner, Edge, How, Name, Part, Q


def _grid(lo: float, hi: float, m: int, d: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The axis [m] and the points of the d-dim product grid (d ≤ 2), ordered (x₂ row, x₁ column).  [m^d, d]."""
    axis = torch.linspace(lo, hi, m, dtype=dtype, device=device)
    if d == 1:
        return axis, axis[:, None]
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")
    return axis, torch.stack([x1.reshape(-1), x2.reshape(-1)], -1)


def _per_eps(rows, eps, values, **common):
    rows += [dict(**common, eps=e, value=v) for e, v in zip(eps.tolist(), values.tolist())]


def check_layer(ctx: RunContext, p, d: int, N: int) -> list[dict]:
    t, R, rows = p.t, p.replicates, []
    eps = ctx.tensor(list(p.eps))
    logN = math.log(N)
    kw = dict(dtype=ctx.dtype, device=ctx.device)
    gen = ctx.generator(1000 * d + N)
    W, b = K.draw_layers(R, N, d, gen, **kw)
    y, g = L.lse_to_atoms(W, b, t)
    x = torch.randn(R, p.n_points, d, generator=gen, **kw)
    tag = dict(d=d, N=N)

    # The square network/tropical × PDE: horizontal edges at ε > 0 and ε = 0, vertical ε → 0 gaps.
    half = (x * x).sum(-1) / (4 * t)  # [R, n]
    f, u = K.network(x, W, b, eps), K.pde(x, y, g, eps, t)  # [R, E, n]
    f0, u0 = K.tropical(x, W, b), K.hopf_lax(x, y, g, t)  # [R, n]
    _per_eps(rows, eps, (f + u - half[:, None]).abs().amax((0, 2)), part=Part.EDGE, edge=Edge.NETWORK_PDE, **tag)
    rows.append(dict(part=Part.EDGE, edge=Edge.TROPICAL_HOPFLAX, value=(f0 + u0 - half).abs().max().item(), **tag))
    scale = eps * logN
    for corner, gap in ((Corner.NETWORK, f - f0[:, None]), (Corner.PDE, u0[:, None] - u)):
        _per_eps(rows, eps, gap.amax((0, 2)) / scale, part=Part.VERTICAL, corner=corner, quantity=Q.MAX_RATIO, **tag)
        _per_eps(rows, eps, gap.amin((0, 2)), part=Part.VERTICAL, corner=corner, quantity=Q.MIN_GAP, **tag)

    # The order in ε: the gap's sup sits on the tie sets, so measure it on points moved onto them.
    xt, tied = K.tie_points(x, W, b)
    ft, ut = K.network(xt, W, b, eps), K.pde(xt, y, g, eps, t)
    f0t, u0t = K.tropical(xt, W, b), K.hopf_lax(xt, y, g, t)
    for corner, gap in ((Corner.NETWORK, ft - f0t[:, None]), (Corner.PDE, u0t[:, None] - ut)):
        sup = gap.masked_fill(~tied[:, None], -math.inf).amax(-1)  # [R, E]
        for r in range(R):
            _per_eps(rows, eps, sup[r], part=Part.GAP_SUP, corner=corner, replicate=r, **tag)
    rows.append(dict(part=Part.GAP_SUP, quantity=Q.TIED_FRACTION, value=tied.double().mean().item(), **tag))

    # Tightness: biases that tie all N logits at x0 make the gap ε log N exactly.
    x0 = x[:, 0]
    bt = K.full_tie(W, x0)
    yt, gt = L.lse_to_atoms(W, bt, t)
    tie_f = K.network(x0[:, None], W, bt, eps)[..., 0] - K.tropical(x0[:, None], W, bt)
    tie_u = K.hopf_lax(x0[:, None], yt, gt, t) - K.pde(x0[:, None], yt, gt, eps, t)[..., 0]
    for corner, gap in ((Corner.NETWORK, tie_f), (Corner.PDE, tie_u)):
        _per_eps(rows, eps, (gap / scale).amin(0), part=Part.TIE_TIGHTNESS, corner=corner, **tag)

    rows += check_convex(ctx, p, d, N, W, b, y, g, x, eps)
    rows += check_lipschitz(ctx, p, d, N, W, b, x, eps)
    return rows


def check_convex(ctx, p, d, N, W, b, y, g, x, eps) -> list[dict]:
    """The convex corner (mirror ascent) and, for d ≤ 2, its ε = 0 dual by the fast Legendre transform."""
    t, R, E, rows, tag = p.t, W.shape[0], len(eps), [], dict(d=d, N=N)
    q, lg = p.solver, p.legendre
    on_grid = d in lg.dims
    if on_grid:  # the solver's points are nodes of the Legendre grid, so the ε = 0 edge compares like with like
        axis, grid = _grid(*lg.x_range, lg[f"grid_{d}d"], d, ctx.dtype, ctx.device)
        pick = torch.randperm(len(grid), generator=ctx.generator(7 + 1000 * d + N), device=ctx.device)[: q.n_points]
        xs = grid[pick].expand(R, -1, -1)
    else:
        xs = x[:, : q.n_points]
    z = L.logits(K.members(xs, E), K.members(W, E), K.members(b, E))  # [R·E, n, N]
    member_eps = eps.repeat(R)
    value, gradient = solver.entropic_objective(z, member_eps)
    tol = q.tol if ctx.dtype == torch.float64 else q.tol_float32  # a certificate below roundoff is unreachable
    sol = solver.mirror_ascent(value, gradient, tuple(z.shape), member_eps, step=q.step, tol=tol,
                               max_iter=q.max_iter, dtype=ctx.dtype, device=ctx.device)
    zg = z.clone().requires_grad_(True)
    f = L.lse(zg, member_eps)
    (pi,) = torch.autograd.grad(f.sum(), zg)  # the maximiser the theory names: ∇_z LSE_ε, by autograd
    diff = (f.detach() - sol.value).reshape(R, E, -1)
    pinsker = (2 * tol / member_eps).sqrt()[:, None]  # |p − p*|₁ ≤ (2 (F* − F)/ε)^{1/2}, and F* − F ≤ tol
    l1 = ((sol.log_p.exp() - pi).abs().sum(-1) / pinsker).reshape(R, E, -1)
    _per_eps(rows, eps, diff.amax((0, 2)), part=Part.CONVEX, quantity=Q.VALUE_ERR_MAX, **tag)
    _per_eps(rows, eps, diff.amin((0, 2)), part=Part.CONVEX, quantity=Q.VALUE_ERR_MIN, **tag)
    _per_eps(rows, eps, l1.amax((0, 2)), part=Part.CONVEX, quantity=Q.MAXIMISER_OVER_PINSKER, **tag)
    _per_eps(rows, eps, sol.gap.reshape(R, E, -1).amax((0, 2)), part=Part.CONVEX, quantity=Q.CERTIFICATE, **tag)
    rows += [dict(part=Part.CONVEX, quantity=Q.ITERATIONS, value=sol.iterations, **tag),
             dict(part=Part.CONVEX, quantity=Q.TOL, value=tol, **tag)]
    if not on_grid:
        return rows
    R = min(R, lg.replicates)  # the direct max on the grid is an [R, m^d, N] table: a few replicates suffice
    W, b, y, g, sol_value = W[:R], b[:R], y[:R], g[:R], sol.value.reshape(-1, E, len(pick))[:R]
    phi = K.legendre_data(y, g, t)
    slopes = axis / (2 * t)
    if d == 1:
        star = legendre.conjugate_1d(y[..., 0], phi, slopes.expand(R, -1))  # [R, m]
    else:
        star = legendre.conjugate_2d(y, phi, slopes, slopes).reshape(R, -1)  # [R, m²], x₂ row-major
    gx = grid.expand(R, -1, -1)
    f0, u0 = K.tropical(gx, W, b), K.hopf_lax(gx, y, g, t)
    half = (grid * grid).sum(-1) / (4 * t)
    rows += [dict(part=Part.EDGE, edge=Edge.TROPICAL_LEGENDRE, value=(star - f0).abs().max().item(), grid=len(grid),
                  **tag),
             dict(part=Part.EDGE, edge=Edge.HOPFLAX_LEGENDRE, value=(half - u0 - star).abs().max().item(),
                  grid=len(grid), **tag)]
    conv_gap = sol_value - star[:, pick][:, None]  # F_ε(p_K) − φ*(x/2t)  [R, E, n]
    _per_eps(rows, eps, conv_gap.amax((0, 2)) / (eps * math.log(N)), part=Part.VERTICAL, corner=Corner.CONVEX,
             quantity=Q.MAX_RATIO, **tag)
    _per_eps(rows, eps, conv_gap.amin((0, 2)), part=Part.VERTICAL, corner=Corner.CONVEX, quantity=Q.MIN_GAP, **tag)
    return rows


def check_lipschitz(ctx, p, d, N, W, b, x, eps) -> list[dict]:
    """sup |∇f_ε| of one layer against max_j |w_j|, sampled and by ascent, for every ε."""
    q, E, rows = p.lipschitz, len(eps), []
    R = min(q.replicates, W.shape[0])
    Wm, bm, em = K.members(W[:R], E), K.members(b[:R], E), eps.repeat(R)

    def fn(xx):
        return L.lse(L.logits(xx, Wm, bm), em)

    xm = K.members(x[:R], E)  # [R·E, n, d]
    sampled = lipschitz.grad_norms(fn, xm)  # [R·E, n]
    starts = xm.gather(1, sampled.topk(min(q.starts, xm.shape[1]), dim=-1).indices[..., None].expand(-1, -1, d))
    climbed = lipschitz.ascent(fn, starts, steps=q.steps, step=q.step)
    bound = K.members(W[:R].norm(dim=-1).amax(-1), E)  # [R·E]
    for how, val in ((How.SAMPLED, sampled), (How.ASCENT, climbed)):
        ratio = (val.amax(-1) / bound).reshape(R, E).amax(0)
        _per_eps(rows, eps, ratio, part=Part.LIPSCHITZ, layers=1, how=how, d=d, N=N)
    return rows


def check_composition(ctx, p, d: int) -> list[dict]:
    """A stack of vector LSE layers d -> k -> … -> 1: sup |∇F| against the product of the layers' bounds."""
    q, rows = p.composition, []
    eps = ctx.tensor(list(p.eps))
    E, R = len(eps), q.replicates
    gen = ctx.generator(50_000 + d)
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    widths = [d] + [q.width] * (q.layers - 1) + [1]
    layers, bound = [], torch.ones(R * E, dtype=ctx.dtype, device=ctx.device)
    for d_in, d_out in zip(widths, widths[1:]):
        W = torch.randn(R, d_out, q.neurons, d_in, **kw) / math.sqrt(d_in)
        b = torch.randn(R, d_out, q.neurons, **kw)
        layers.append((K.members(W, E), K.members(b, E)))
        bound = bound * lipschitz.layer_constant(layers[-1][0])

    def fn(xx):
        return lipschitz.stack(xx, layers, eps.repeat(R))

    x = K.members(torch.randn(R, q.n_points, d, **kw), E)
    sampled = lipschitz.grad_norms(fn, x)
    starts = x.gather(1, sampled.topk(q.starts, dim=-1).indices[..., None].expand(-1, -1, d))
    climbed = lipschitz.ascent(fn, starts, steps=q.steps, step=q.step)
    for how, val in ((How.SAMPLED, sampled), (How.ASCENT, climbed)):
        _per_eps(rows, eps, (val.amax(-1) / bound).reshape(R, E).amax(0), part=Part.LIPSCHITZ, layers=q.layers,
                 how=how, d=d, N=q.neurons)
    return rows


def check_control(ctx, p) -> list[dict]:
    """Negative control for the order fit: the mean gap over a fine 1-D grid is O(ε²), not O(ε)."""
    q, rows = p.control, []
    eps = ctx.tensor([e for e in p.eps if q.eps_range[0] <= e <= q.eps_range[1]])
    _, grid = _grid(*q.x_range, q.grid, 1, ctx.dtype, ctx.device)
    for N in q.widths:
        W, b = K.draw_layers(p.replicates, N, 1, ctx.generator(70_000 + N), ctx.dtype, ctx.device)
        for r in range(p.replicates):  # one seed at a time: the grid × N × ε table is the large one here
            Wr, br, gx = W[r : r + 1], b[r : r + 1], grid[None]
            mean = (K.network(gx, Wr, br, eps) - K.tropical(gx, Wr, br)[:, None]).mean(-1)[0]  # [E]
            _per_eps(rows, eps, mean, part=Part.CONTROL, N=N, d=1, replicate=r)
    return rows


def check_activations(ctx, p) -> list[dict]:
    q, rows = p.activations, []
    eps = ctx.tensor(list(p.eps))
    pos = torch.logspace(math.log10(q.x_min), math.log10(q.x_max), q.x_points, dtype=ctx.dtype, device=ctx.device)
    x = torch.cat([-pos.flip(0), torch.zeros(1, dtype=ctx.dtype, device=ctx.device), pos])
    _per_eps(rows, eps, A.sigmoid_error(x, eps), part=Part.ACTIVATION, name=Name.SIGMOID, quantity=Q.MAX_ABS_ERR)
    _per_eps(rows, eps, A.tanh_error(x, eps), part=Part.ACTIVATION, name=Name.TANH, quantity=Q.MAX_ABS_ERR)
    s = torch.linspace(-q.s_range, q.s_range, q.s_points, dtype=ctx.dtype, device=ctx.device)
    for name in (Name.SILU, Name.GELU, Name.SOFTPLUS, Name.SIGMOID, Name.TANH):
        sup, l1 = A.relu_gaps(name, x, eps)
        _per_eps(rows, eps, sup, part=Part.ACTIVATION, name=name, quantity=Q.RELU_SUP_GAP)
        _per_eps(rows, eps, l1, part=Part.ACTIVATION, name=name, quantity=Q.RELU_L1_GAP)
        rows.append(dict(part=Part.ACTIVATION, name=name, quantity=Q.MIN_DERIVATIVE,
                         value=A.min_derivative(name, s)))
    z = q.vector_scale * torch.randn(q.vector_points, q.vector_dim, generator=ctx.generator(90_000),
                                     dtype=ctx.dtype, device=ctx.device)
    for field in A.FIELDS:
        asym = A.jacobian_asymmetry(field, z)
        rows += [dict(part=Part.ASYMMETRY, name=field, quantity=Q.MAX, value=asym.max().item()),
                 dict(part=Part.ASYMMETRY, name=field, quantity=Q.MEDIAN, value=asym.median().item())]
    return rows


def measure(ctx: RunContext) -> None:
    p = ctx.params
    ctx.add_rows([dtype_row(ctx.dtype)])
    sizes = [(d, N) for d in p.dims for N in p.widths]
    with ctx.progress("diagram", len(sizes) + len(p.composition.dims) + 2) as advance:
        for d, N in sizes:
            ctx.add_rows(ctx.cached(f"layer_d{d}_N{N}", lambda d=d, N=N: check_layer(ctx, p, d, N)))
            advance(1)
        for d in p.composition.dims:
            ctx.add_rows(ctx.cached(f"composition_d{d}", lambda d=d: check_composition(ctx, p, d)))
            advance(1)
        ctx.add_rows(ctx.cached("control", lambda: check_control(ctx, p)))
        advance(1)
        ctx.add_rows(ctx.cached("activations", lambda: check_activations(ctx, p)))
        advance(1)
