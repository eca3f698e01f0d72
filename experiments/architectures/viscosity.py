"""Architecture-dependent viscosity, the case that admits a check: an Elman RNN with Gaussian state noise,
    h_{k+1} = h_k + Δ tanh(w h_k + u x(t_k) + b) + √(2εΔ) ξ_k,
whose expected terminal loss V(h_0) = E Φ(h_K), Φ(h) = ½(h − y)², tends as Δ → 0 to the solution of the
viscous HJ (backward Kolmogorov) equation  −∂_t V = F(h, t) ∂_h V + ε ∂²_h V,  V(T) = Φ,
with Hamiltonian ℋ = p·F and viscosity ε.  Monte Carlo (K and 2K steps on shared Brownian increments,
Richardson-extrapolated to remove the O(Δ) weak bias) against a Crank–Nicolson grid solve in numpy.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.linalg import solve_banded

from .contract import Part, Q
from .draws import randn


def drift(h, t, c):
    """F(h, t) = tanh(w h + u sin(2πt/T) + b), numpy or torch."""
    lib = torch if isinstance(h, torch.Tensor) else np
    return lib.tanh(c["w"] * h + c["u"] * math.sin(2 * math.pi * t / c["T"]) + c["b"])


def monte_carlo(c, eps: float, h0: torch.Tensor, n: int, K: int, gen, like) -> tuple[np.ndarray, np.ndarray]:
    """Richardson-extrapolated E Φ(h_K) per starting point and its standard error.  h0 [P]."""
    dt = c["T"] / (2 * K)
    fine = h0[:, None].expand(-1, n).clone()
    coarse = fine.clone()
    for k in range(K):
        xi = randn(gen, like, 2, *fine.shape) * math.sqrt(2 * eps * dt)
        for half in range(2):
            fine = fine + dt * drift(fine, (2 * k + half) * dt, c) + xi[half]
        coarse = coarse + 2 * dt * drift(coarse, 2 * k * dt, c) + xi[0] + xi[1]
    phi = lambda h: 0.5 * (h - c["y"]) ** 2  # noqa: E731
    rich = (2 * phi(fine) - phi(coarse)).cpu().double().numpy()
    return rich.mean(1), rich.std(1, ddof=1) / math.sqrt(n)


def pde_value(c, eps: float, h0: np.ndarray, N: int, nt: int, L: float) -> np.ndarray:
    """V(0, h0) from Crank–Nicolson in τ = T − t on N nodes of [−L, L] (central differences; the boundary
    values stay at Φ, far outside where the paths go)."""
    h = np.linspace(-L, L, N)
    dx, dtau = h[1] - h[0], c["T"] / nt
    V = 0.5 * (h - c["y"]) ** 2
    for i in range(nt):
        t_mid = c["T"] - (i + 0.5) * dtau
        F = drift(h[1:-1], t_mid, c)
        lo, di, up = eps / dx**2 - F / (2 * dx), -2 * eps / dx**2 * np.ones_like(F), eps / dx**2 + F / (2 * dx)
        rhs = V.copy()
        rhs[1:-1] += 0.5 * dtau * (lo * V[:-2] + di * V[1:-1] + up * V[2:])
        ab = np.zeros((3, N))
        ab[1] = 1.0
        ab[1, 1:-1] -= 0.5 * dtau * di
        ab[0, 2:] = -0.5 * dtau * up
        ab[2, :-2] = -0.5 * dtau * lo
        V = solve_banded((1, 1), ab, rhs)
    return np.interp(h0, h, V)


def inviscid_value(c, h0: np.ndarray, steps: int = 4096) -> np.ndarray:
    """ε = 0: Φ of the deterministic trajectory (RK4), the negative control."""
    h, dt = h0.astype(float).copy(), c["T"] / steps
    for i in range(steps):
        t = i * dt
        k1 = drift(h, t, c)
        k2 = drift(h + dt / 2 * k1, t + dt / 2, c)
        k3 = drift(h + dt / 2 * k2, t + dt / 2, c)
        k4 = drift(h + dt * k3, t + dt, c)
        h = h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return 0.5 * (h - c["y"]) ** 2


def check_viscosity(gen, like, q, T: float) -> list[dict]:
    coef = torch.randn(4, generator=gen, dtype=torch.float64, device=gen.device).tolist()
    c = dict(w=coef[0], u=coef[1], b=0.5 * coef[2], y=coef[3], T=T)
    h0 = np.asarray(q.h0, dtype=float)
    V0 = inviscid_value(c, h0)
    rows = []
    for eps in q.eps:
        mc, se = monte_carlo(c, eps, torch.tensor(h0, **like), q.paths, q.K, gen, like)
        fine = pde_value(c, eps, h0, q.grid, q.time_steps, q.half_width)
        half = pde_value(c, eps, h0, (q.grid + 1) // 2, q.time_steps // 2, q.half_width)
        for i, x in enumerate(h0):
            rows += [dict(part=Part.VISCOSITY, eps=eps, h0=x, quantity=qn, value=float(v)) for qn, v in (
                (Q.MC, mc[i]), (Q.MC_SE, se[i]), (Q.PDE, fine[i]), (Q.PDE_SELF_DIFF, abs(fine[i] - half[i])),
                (Q.INVISCID, V0[i]))]
    return rows
