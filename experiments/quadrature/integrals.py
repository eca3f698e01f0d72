"""quadrature, the mathematics: rules, the layer as a quadrature, exact targets, predicted error terms.

    ū(x) = −ε log ∫_Ω exp(−(g(y) + |x−y|²/4t)/ε) dy/|Ω|,   Ω = [lo, hi]^d

With atoms y_k and normalised weights w_k (Σ w = 1) the layer f̄ = ε log Σ_k w_k exp(z_k/ε),
z = Wx + b, W = y/2t, b = −g − |y|²/4t, gives ū_N = |x|²/4t − f̄ (docs/theory.md §3, §4.2): the
N-point rule applied to the Hopf–Cole integral. Every tensor lives on the device and in the dtype
of the points ``x`` (or of the arguments given), so a run honours its device and dtype.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hjexp import engine

from .contract import Rule

GRID_RULES = (Rule.ENDPOINT, Rule.MIDPOINT, Rule.TRAPEZOID)
RULES = GRID_RULES + (Rule.MONTECARLO,)


def axis_rule(rule: str, n: int, lo: float, hi: float, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes [n] and log-weights [n] (Σ w = 1) of a 1-D rule on [lo, hi], on ``like``'s device/dtype.

    endpoint  — n nodes with both end points, equal weights (the authors' rule)
    trapezoid — the same nodes, end weights halved (the correctly weighted rule on them)
    midpoint  — n cell centres, equal weights
    gauss     — n Gauss–Legendre nodes on each half-axis, so the kink of |y| at 0 sits on a panel edge
    """
    kw = dict(dtype=like.dtype, device=like.device)
    if rule == "gauss":  # the reference rule only: never a results.csv row, so no Rule key
        t, w = np.polynomial.legendre.leggauss(n)
        mid = (lo + hi) / 2
        ax = np.concatenate([(lo + mid) / 2 + (mid - lo) / 2 * t, (mid + hi) / 2 + (hi - mid) / 2 * t])
        return torch.tensor(ax, **kw), torch.tensor(np.log(np.concatenate([w, w]) / 4), **kw)
    if rule == Rule.MIDPOINT:
        h = (hi - lo) / n
        return lo + h * (torch.arange(n, **kw) + 0.5), torch.full((n,), -math.log(n), **kw)
    if rule not in (Rule.ENDPOINT, Rule.TRAPEZOID):
        raise ValueError(f"unknown rule {rule!r}")
    w = torch.ones(n, **kw)
    if rule == Rule.TRAPEZOID:
        w[0] = w[-1] = 0.5
    return torch.linspace(lo, hi, n, **kw), torch.log(w / w.sum())


def grid_nodes(rule: str, n: int, d: int, lo: float, hi: float, like: torch.Tensor):
    """Tensor-product rule: atoms [n^d, d] and log-weights [n^d]."""
    ax, lw = axis_rule(rule, n, lo, hi, like)
    axes = torch.meshgrid(*([ax] * d), indexing="ij")
    lws = torch.meshgrid(*([lw] * d), indexing="ij")
    return torch.stack([a.reshape(-1) for a in axes], -1), sum(w.reshape(-1) for w in lws)


def random_nodes(repeats: int, N: int, d: int, lo: float, hi: float, gen: torch.Generator, like: torch.Tensor):
    """Monte Carlo: ``repeats`` independent sets of N uniform atoms [R, N, d], equal log-weights [R, N]."""
    kw = dict(dtype=like.dtype, device=like.device)
    Y = lo + (hi - lo) * torch.rand(repeats, N, d, generator=gen, **kw)
    return Y, torch.full((repeats, N), -math.log(N), **kw)


def g_lipschitz(Y: torch.Tensor) -> torch.Tensor:
    return Y.norm(dim=-1)


def g_smooth(Y: torch.Tensor) -> torch.Tensor:
    return 0.5 * (Y * Y).sum(-1)


def sawtooth(Y: torch.Tensor, n: int, lo: float, hi: float) -> torch.Tensor:
    """s(y) = (1/d) Σ_i dist(y_i, midpoint-node coordinates): 0 at every node of the n-per-axis
    midpoint grid, h/2 on cell faces, mean h/4 over Ω, and 1-Lipschitz (|∇s|₂ = 1/√d).  [..., N]."""
    h = (hi - lo) / n
    frac = torch.remainder((Y - lo) / h, 1.0)  # position inside the cell, in [0, 1)
    return (h * (frac - 0.5).abs()).mean(-1)


def layer_u(x: torch.Tensor, Y: torch.Tensor, logw: torch.Tensor, g: torch.Tensor, eps: float,
            t: float) -> torch.Tensor:
    """ū_N = |x|²/4t − f̄ with f̄ the weighted LSE layer of atoms (Y, g).  x [n, d]; Y [E, N, d] -> [E, n].

    A weight w_k is a shift of the atom's value, g_k − ε log w_k, so this is the Hopf–Cole model of
    the engine, evaluated by its fused chunked pass (no [E, n, N] tensor).
    """
    if Y.ndim == 2:
        Y, logw, g = Y[None], logw[None], g[None]
    eps_e = torch.full((Y.shape[0],), float(eps), dtype=Y.dtype, device=Y.device)  # [E]
    return engine.predict(engine.HopfCole(Y, g - eps * logw, eps_e, float(t)), x)


def sawtooth_exact(x: torch.Tensor, n: int, lo: float, hi: float, eps: float, t: float, gl: int) -> torch.Tensor:
    """ū for g = sawtooth of the n-grid: the integral is a product over axes, so ū(x) = Σ_i ū₁(x_i),
    each ū₁ by composite Gauss–Legendre (``gl`` nodes) on the 2n pieces where s is linear.  [n_eval]."""
    d = x.shape[-1]
    h = (hi - lo) / n
    t_gl, w_gl = np.polynomial.legendre.leggauss(gl)
    left = lo + 0.5 * h * np.arange(2 * n)[:, None]  # [2n, 1] piece starts
    y = (left + 0.25 * h * (t_gl + 1)).reshape(-1)  # [2n·gl]
    lw = np.log(np.tile(0.25 * h * w_gl, 2 * n) / (hi - lo))  # normalised by |Ω₁|
    Y = torch.tensor(y, dtype=x.dtype, device=x.device)[:, None]
    logw = torch.tensor(lw, dtype=x.dtype, device=x.device)
    g1 = sawtooth(Y, n, lo, hi) / d  # the 1-D share of s = (1/d) Σ_i s₁(y_i)
    u1 = layer_u(x.reshape(-1, 1), Y, logw, g1, eps, t)[0]  # [n_eval·d]
    return u1.reshape(x.shape).sum(-1)


def smooth_exact(x: torch.Tensor, eps: float, t: float, lo: float, hi: float) -> torch.Tensor:
    """Closed form of ū for g = |y|²/2 on the box (erf per axis).  [n_eval].

    |y|²/2 + |x−y|²/4t = a (y − m)² + c |x|², a = 1/2 + 1/4t, m = x/(4ta), c = 1/4t − 1/(16t²a).
    """
    a = 0.5 + 1 / (4 * t)
    c = 1 / (4 * t) - 1 / (16 * t * t * a)
    m = x / (4 * t * a)  # [n, d]
    return -eps * (-c * x * x / eps + torch.log(_box_mean(m, math.sqrt(eps / (2 * a)), lo, hi))).sum(-1)


def _box_mean(m: torch.Tensor, sigma: float, lo: float, hi: float) -> torch.Tensor:
    """(1/(hi−lo)) ∫_lo^hi exp(−(y − m)²/2σ²) dy, per entry of m."""
    s = sigma * math.sqrt(2)
    return 0.5 * math.sqrt(math.pi) * s * (torch.erf((hi - m) / s) - torch.erf((lo - m) / s)) / (hi - lo)


def aliasing_term(x: torch.Tensor, rule: str, n: int, eps: float, t: float, lo: float, hi: float):
    """Predicted error ū_N − ū of a grid rule on g = |y|²/2 (leading terms).  -> ([n_eval], amplitude).

    Per axis the integrand is a Gaussian of width σ = √(ε/2a) centred at m = x/(4ta); Poisson
    summation gives a relative error δ = 2 exp(−2π²σ²/h²) cos(2π(m − y₀)/h) for nodes y₀ + hℤ
    (the first aliasing term), so ū_N − ū ≈ −ε Σ_i δ_i: exp(−c·n) convergence, no power law. The
    endpoint rule's equal weights 1/n are the trapezoid weights times (n−1)/n, which adds exactly
    d·ε·log(n/(n−1)) ≈ d·ε/n (the endpoint weighting bias). Box-edge terms are O(exp(−a(hi−|m|)²/ε)),
    smaller still, and left out. ``amplitude`` = 2 exp(−2π²σ²/h²), the size of δ.
    """
    a = 0.5 + 1 / (4 * t)
    sigma2 = eps / (2 * a)
    if rule == Rule.MIDPOINT:
        h, y0 = (hi - lo) / n, lo + (hi - lo) / (2 * n)
    else:
        h, y0 = (hi - lo) / (n - 1), lo
    amplitude = 2 * math.exp(-2 * math.pi ** 2 * sigma2 / h ** 2)
    m = x / (4 * t * a)
    pred = -eps * (amplitude * torch.cos(2 * math.pi * (m - y0) / h)).sum(-1)
    if rule == Rule.ENDPOINT:
        pred = pred + x.shape[-1] * eps * math.log(n / (n - 1))
    return pred, amplitude


def montecarlo_term(x: torch.Tensor, N: int, eps: float, t: float, lo: float, hi: float) -> tuple[float, float]:
    """Predicted size of the Monte Carlo error on g = |y|²/2: ε·r, r the relative standard error of a
    mean of N uniform samples of the integrand, r² = (M₂/M₁² − 1)/N with M_k the box mean of the
    integrand's k-th power (products of erf terms). -> (ε·max_x r, max_x r)."""
    a = 0.5 + 1 / (4 * t)
    sigma = math.sqrt(eps / (2 * a))
    m = x / (4 * t * a)
    ratio = (_box_mean(m, sigma / math.sqrt(2), lo, hi) / _box_mean(m, sigma, lo, hi) ** 2).prod(-1)
    r = ((ratio - 1).clamp_min(0) / N).sqrt().max().item()
    return eps * r, r
