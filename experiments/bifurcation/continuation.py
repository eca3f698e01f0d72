"""Critical points of a potential V(x; λ) and their branches in (x, λ), on torch autograd.

V is given batched, ``v(x [B, d], lam [B]) -> [B]`` (points independent); everything here works
on many points or branches at once (float64 recommended). Three tools:

- ``newton_critical``: Newton on ∇ₓV = 0 at fixed λ from many starts at once;
- ``trace``: pseudo-arclength continuation of many branches at once — tangent from the null vector
  of J = [∇ₓ²V | ∂_λ∇ₓV], Euler predictor, Newton corrector on {∇ₓV = 0, τ·(z − z_pred) = 0},
  per-branch step control, orientation kept (τ_new·τ_old > 0); folds flagged where τ's
  λ-component changes sign;
- ``refine_folds``: Newton on {∇ₓV = 0, det ∇ₓ²V = 0} in (x, λ) from the secant estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .contract import Type

Potential = Callable[[Tensor, Tensor], Tensor]  # v(x [B, d], lam [B]) -> [B]


def _grad(out: Tensor, x: Tensor, lam: Tensor) -> tuple[Tensor, Tensor]:
    """d out / d(x, λ), zeros where out does not depend on one of them (kept differentiable)."""
    gx, gl = torch.autograd.grad(out, (x, lam), create_graph=True, allow_unused=True)
    return (torch.zeros_like(x) if gx is None else gx), (torch.zeros_like(lam) if gl is None else gl)


class Derivatives:
    """V, ∇ₓV, ∇ₓ²V, ∂_λ∇ₓV and the fold system of a batched potential, by reverse-mode autograd.

    ``v(x [B, d], lam [B]) -> [B]`` with every point independent, so the gradient of the sum is
    the per-point gradient and one backward pass per coordinate gives a Hessian row for every
    point at once (d + 1 passes in all; d is 1 or 2 here, and eager autograd has far less
    per-call overhead than torch.func transforms).
    """

    def __init__(self, v: Potential):
        self.v = v

    def value(self, x: Tensor, lam: Tensor) -> Tensor:
        with torch.no_grad():
            return self.v(x, lam)

    def _graph(self, x: Tensor, lam: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        x = x.detach().requires_grad_(True)
        lam = lam.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.v(x, lam).sum(), x, create_graph=True)  # [B, d]
        rows = [_grad(g[:, i].sum(), x, lam) for i in range(x.shape[-1])]
        hxx = torch.stack([r[0] for r in rows], -2)  # [B, d, d]
        hxl = torch.stack([r[1] for r in rows], -1)  # [B, d]
        return x, lam, g, hxx, hxl

    def jacobian(self, x: Tensor, lam: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """∇ₓV [B, d], ∇ₓ²V [B, d, d], ∂_λ∇ₓV [B, d]."""
        with torch.enable_grad():
            _, _, g, hxx, hxl = self._graph(x, lam)
        return g.detach(), hxx.detach(), hxl.detach()

    def fold_system(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """F(z) = [∇ₓV, det ∇ₓ²V] at z = (x, λ) [B, d+1] and its Jacobian dF/dz [B, d+1, d+1]."""
        with torch.enable_grad():
            x, lam, g, hxx, hxl = self._graph(z[:, :-1], z[:, -1])
            det = torch.linalg.det(hxx)  # [B]
            dx, dl = _grad(det.sum(), x, lam)
        top = torch.cat([hxx, hxl[..., None]], -1)  # d∇ₓV/dz
        bottom = torch.cat([dx, dl[:, None]], -1)[:, None, :]
        F = torch.cat([g, det[:, None]], -1)
        return F.detach(), torch.cat([top, bottom], -2).detach()


def newton_critical(D: Derivatives, x0: Tensor, lam: Tensor, *, iters: int = 60, tol: float = 1e-10,
                    max_step: float = 0.5) -> tuple[Tensor, Tensor]:
    """Newton on ∇ₓV(x; λ) = 0 from every start.  x0 [B, d], lam [B] -> (x [B, d], converged [B]).

    Steps are capped at ``max_step`` (a damped Newton: far starts do not jump across the set).
    Converged means the last full Newton step was below ``tol``: where roundoff swamps the
    gradient (a numerically flat landscape) the steps never settle and the point is dropped.
    """
    x, done = x0.clone(), torch.zeros(len(x0), dtype=torch.bool, device=x0.device)
    for _ in range(iters):
        g, hxx, _ = D.jacobian(x, lam)
        step, info = torch.linalg.solve_ex(hxx, g)
        norm = step.norm(dim=-1)
        ok = (info == 0) & torch.isfinite(norm)
        shrink = (max_step / norm.clamp_min(1e-300)).clamp(max=1.0)
        move = ok & ~done
        x = torch.where(move[:, None], x - step * shrink[:, None], x)
        done = done | (ok & (norm < tol))
        if bool(done.all()):
            break
    return x, done


def unique_rows(x: Tensor, group: Tensor, tol: float) -> Tensor:
    """Mask keeping the first of every set of rows closer than ``tol`` within the same group.  [B]."""
    close = (torch.cdist(x, x) < tol) & (group[:, None] == group[None, :])  # [B, B]
    earlier = torch.tril(close, diagonal=-1)  # j < i close to i
    return ~earlier.any(-1)


def classify(hxx: Tensor, rel_tol: float = 1e-9) -> tuple[Tensor, Tensor]:
    """Eigenvalues [B, d] and type codes [B]: 0 min, 1 saddle, 2 max, 3 degenerate."""
    ev = torch.linalg.eigvalsh(hxx)
    scale = ev.abs().amax(-1, keepdim=True).clamp_min(1e-300)
    degenerate = (ev.abs() <= rel_tol * scale).any(-1) | (ev.abs().amax(-1) == 0)
    code = torch.where((ev > 0).all(-1), 0, torch.where((ev < 0).all(-1), 2, 1))
    return ev, torch.where(degenerate, 3, code)


TYPES = (Type.MIN, Type.SADDLE, Type.MAX, Type.DEGENERATE)  # indexed by classify's codes


@dataclass
class Settings:
    lam_range: tuple[float, float]
    box_lo: Tensor  # [d]
    box_hi: Tensor  # [d]
    h0: float = 0.02
    h_min: float = 1e-7
    h_max: float = 0.1
    max_steps: int = 4000
    corrector_iters: int = 8
    corrector_tol: float = 1e-11
    cos_min: float = 0.95  # successive tangents within ~18°: resolves the turn at a fold
    resolved: Callable[[Tensor, Tensor], Tensor] | None = None  # (x, λ) -> False where roundoff swamps V


@dataclass
class Traced:
    """Accepted points of every branch, in order, and the fold brackets found on the way."""

    branch: Tensor  # [P]
    step: Tensor  # [P]
    z: Tensor  # [P, d+1]
    tau_lam: Tensor  # [P]
    end_reason: list[str]
    folds: dict[str, Tensor] = field(default_factory=dict)  # branch, z_prev, z_next, tl_prev, tl_next, step

    def order(self) -> Tensor:
        """Permutation putting the points branch by branch, each along the curve (steps may be < 0)."""
        span = 2 * int(self.step.abs().max()) + 1 if len(self.step) else 1
        return torch.argsort(self.branch * span + self.step)


def _tangent(hxx: Tensor, hxl: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
    """Null vector τ of [hxx | hxl] with τ·ref = 1 before normalising (orientation kept).  [B, d+1]."""
    B, d = hxl.shape
    A = torch.cat([torch.cat([hxx, hxl[..., None]], -1), ref[:, None, :]], -2)  # [B, d+1, d+1]
    rhs = torch.zeros(B, d + 1, dtype=hxx.dtype, device=hxx.device)
    rhs[:, -1] = 1
    tau, info = torch.linalg.solve_ex(A, rhs)
    tau = tau / tau.norm(dim=-1, keepdim=True)
    return tau, info == 0


def _correct(D: Derivatives, zp: Tensor, tau: Tensor, s: Settings) -> tuple[Tensor, Tensor]:
    """Newton on {∇ₓV(z) = 0, τ·(z − zp) = 0} from the predictor zp.  -> (z [A, d+1], converged [A])."""
    zc = zp.clone()
    conv = torch.zeros(len(zp), dtype=torch.bool, device=zp.device)
    for _ in range(s.corrector_iters):
        g, hxx, hxl = D.jacobian(zc[:, :-1], zc[:, -1])
        G = torch.cat([g, ((zc - zp) * tau).sum(-1, keepdim=True)], -1)  # [A, d+1]
        A = torch.cat([torch.cat([hxx, hxl[..., None]], -1), tau[:, None, :]], -2)  # [A, d+1, d+1]
        dz, info = torch.linalg.solve_ex(A, G)
        good = (info == 0) & torch.isfinite(dz).all(-1) & ~conv
        zc = torch.where(good[:, None], zc - dz, zc)
        conv = conv | (good & (dz.norm(dim=-1) < s.corrector_tol * (1 + zc.norm(dim=-1))))
        if bool(conv.all()):
            break
    return zc, conv


def _seg_dist(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance from points p to segments [a, b].  [A, D] -> [A]."""
    ab = b - a
    w = (((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-300)).clamp(0, 1)
    return (a + w[:, None] * ab - p).norm(dim=-1)


def trace(D: Derivatives, x0: Tensor, lam0: Tensor, direction: Tensor, s: Settings) -> Traced:
    """Continue every seed (x0 [B, d] critical at lam0 [B]) in the λ direction ``direction`` [B] (±1).

    Each round works on the live branches only: predictor, corrector, new tangent; a branch
    accepts when the corrector converged, the tangent turned by less than acos(cos_min) and the
    corrector moved less than half a step; else its step halves. Accepted steps grow by 1.5×.
    """
    B, d = x0.shape
    z = torch.cat([x0, lam0[:, None]], -1)  # [B, d+1]
    e_lam = torch.zeros_like(z)
    e_lam[:, -1] = direction.to(z.dtype)
    _, hxx, hxl = D.jacobian(z[:, :-1], z[:, -1])
    tau, ok = _tangent(hxx, hxl, e_lam)
    h = torch.full((B,), s.h0, dtype=z.dtype, device=z.device)
    alive = ok.clone()
    reason = ["singular seed" if not o else "" for o in ok.tolist()]
    n_acc = torch.zeros(B, dtype=torch.long, device=z.device)
    start = z.clone()
    far = torch.zeros(B, dtype=torch.bool, device=z.device)
    lo, hi = s.lam_range
    rec_b, rec_s, rec_z, rec_t = [torch.arange(B, device=z.device)], [n_acc.clone()], [z.clone()], [tau[:, -1]]
    folds: dict[str, list[Tensor]] = {k: [] for k in ("branch", "z_prev", "z_next", "tl_prev", "tl_next", "step")}
    for _ in range(20 * s.max_steps):
        live = alive.nonzero().flatten()
        if len(live) == 0:
            break
        zl, tl, hl = z[live], tau[live], h[live]
        zp = zl + hl[:, None] * tl  # Euler predictor
        zc, conv = _correct(D, zp, tl, s)
        _, hxx, hxl = D.jacobian(zc[:, :-1], zc[:, -1])
        tn, ok = _tangent(hxx, hxl, tl)
        acc = conv & ok & ((tn * tl).sum(-1) >= s.cos_min) & ((zc - zp).norm(dim=-1) <= 0.5 * hl)
        flip = acc & (torch.sign(tn[:, -1]) * torch.sign(tl[:, -1]) < 0)  # τ_λ changed sign: a fold
        if bool(flip.any()):
            f = flip.nonzero().flatten()
            for k, v in (("branch", live[f]), ("z_prev", zl[f]), ("z_next", zc[f]), ("tl_prev", tl[f, -1]),
                         ("tl_next", tn[f, -1]), ("step", n_acc[live[f]] + 1)):
                folds[k].append(v)
        a = live[acc]
        z[a], tau[a] = zc[acc], tn[acc]
        far[a] |= (z[a] - start[a]).norm(dim=-1) > 4 * hl[acc]  # left the seed's neighbourhood
        n_acc[a] += 1
        h[live] = torch.where(acc, (hl * 1.5).clamp(max=s.h_max), hl * 0.5)
        rec_b.append(a), rec_s.append(n_acc[a]), rec_z.append(z[a]), rec_t.append(tau[a, -1])
        lam, x = z[a, -1], z[a, :-1]
        ends = {"left the ε range": (a, (lam < lo) | (lam > hi)),
                "left the box": (a, (x < s.box_lo).any(-1) | (x > s.box_hi).any(-1)),
                "closed loop": (a, far[a] & (_seg_dist(start[a], zl[acc], z[a]) < 0.1 * hl[acc])),
                "numerically flat": (a, ~s.resolved(x, lam) if s.resolved else torch.zeros_like(lam, dtype=torch.bool)),
                "step collapse": (live, h[live] < s.h_min),
                "step limit": (live, n_acc[live] >= s.max_steps)}
        for why, (idx, m) in ends.items():
            for i in idx[m & alive[idx]].tolist():
                reason[i] = why
            alive[idx[m]] = False
    empty = dict(branch=n_acc[:0], step=n_acc[:0], z_prev=z[:0], z_next=z[:0], tl_prev=z[:0, 0], tl_next=z[:0, 0])
    cat = {k: torch.cat(v) if v else empty[k] for k, v in folds.items()}
    return Traced(torch.cat(rec_b), torch.cat(rec_s), torch.cat(rec_z), torch.cat(rec_t), reason, cat)


def refine_folds(D: Derivatives, z0: Tensor, *, iters: int = 30, tol: float = 1e-13) -> tuple[Tensor, Tensor]:
    """Newton on {∇ₓV = 0, det ∇ₓ²V = 0} in z = (x, λ).  z0 [F, d+1] -> (z [F, d+1], converged [F])."""
    z, done = z0.clone(), torch.zeros(len(z0), dtype=torch.bool, device=z0.device)
    for _ in range(iters):
        F, J = D.fold_system(z)
        dz, info = torch.linalg.solve_ex(J, F)
        ok = (info == 0) & torch.isfinite(dz).all(-1)
        z = torch.where((ok & ~done)[:, None], z - dz, z)
        done = done | (ok & (dz.norm(dim=-1) < tol * (1 + z.norm(dim=-1))))
        if bool(done.all()):
            break
    return z, done


def slice_branches(D: Derivatives, t: Traced, lams: Tensor, **newton) -> tuple[Tensor, Tensor, Tensor]:
    """Where the traced polylines cross each λ in ``lams`` [K]: Newton-refined at that λ.

    Returns (x [C, d], slice index [C], branch [C]); a crossing counts on the half-open
    segment [z_i, z_{i+1}) so a vertex exactly on a slice is not counted twice.
    """
    order = t.order()
    b, z = t.branch[order], t.z[order]
    same = b[1:] == b[:-1]  # consecutive points of one branch
    l0, l1 = z[:-1, -1], z[1:, -1]  # [S]
    a0, a1 = l0[:, None] - lams[None], l1[:, None] - lams[None]  # [S, K]
    hit = same[:, None] & (((a0 <= 0) & (a1 > 0)) | ((a0 >= 0) & (a1 < 0)))
    seg, k = hit.nonzero(as_tuple=True)
    w = (a0[seg, k] / (a0[seg, k] - a1[seg, k]))[:, None]
    guess = z[:-1][seg, :-1] + w * (z[1:][seg, :-1] - z[:-1][seg, :-1])
    x, conv = newton_critical(D, guess, lams[k], **newton)
    return x[conv], k[conv], b[:-1][seg][conv]


def trace_both(D: Derivatives, x0: Tensor, lam0: Tensor, s: Settings) -> Traced:
    """Continue interior seeds both ways; each seed's two halves form one branch (down half: steps < 0)."""
    B = len(x0)
    up = torch.ones(B, dtype=x0.dtype, device=x0.device)
    both = trace(D, torch.cat([x0, x0]), torch.cat([lam0, lam0]), torch.cat([up, -up]), s)
    down = both.branch >= B
    closed = torch.tensor([r == "closed loop" for r in both.end_reason[:B]], device=x0.device)
    # the seed appears once; an isola closed by the up half needs no down half
    keep = ~(down & ((both.step == 0) | closed.repeat(2)[both.branch]))
    branch = torch.where(down, both.branch - B, both.branch)[keep]
    step = torch.where(down, -both.step, both.step)[keep]
    reasons = [a if a == "closed loop" else f"{a} / {b}" for a, b in zip(both.end_reason[:B], both.end_reason[B:])]
    f = dict(both.folds)
    if len(f["branch"]):
        fk = ~((f["branch"] >= B) & closed.repeat(2)[f["branch"]])
        f = {k: v[fk] for k, v in f.items()}
        f["branch"] = torch.where(f["branch"] >= B, f["branch"] - B, f["branch"])
    return Traced(branch, step, both.z[keep], both.tau_lam[keep], reasons, f)
