"""Pontryagin's stationarity at a trained optimum: an Elman RNN (shared θ) fitted by L-BFGS to noisy
targets, then Σ_k Δ ∂ℋ_k/∂θ from the hand co-state, which must vanish at the optimum although the
individual terms Δ ∂ℋ_k/∂θ do not (the residuals are not zero, so neither are the co-states)."""

from __future__ import annotations

import torch
from omegaconf import OmegaConf

from .contract import Part, Q
from .draws import randn, random_problem
from .driver import costate, forward, loss, terminal_costate
from .recurrent import RNN


def _norm(grads: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-net Euclidean norm of a gradient dict  [R]."""
    return torch.sqrt(sum((g.flatten(1) ** 2).sum(1) for g in grads.values()))


def _hand_terms(fam, theta, xs, s0, y, dt, K):
    """Σ_k Δ ∂ℋ_k/∂θ (hand co-state) and the largest single term's norm, per net."""
    with torch.no_grad():
        states = forward(fam, s0, theta, xs, dt, K)
        ps, total = costate(fam, states, theta, xs, dt, K, terminal_costate(fam, states[-1], y))
        largest = torch.zeros(s0.shape[0], dtype=s0.dtype, device=s0.device)
        for k in range(K):
            _, dth = fam.vjp(states[k], theta, xs[:, k], 0, dt, ps[k + 1])
            largest = torch.maximum(largest, dt * _norm(dth))
    return total, largest, loss(fam, states[-1], y)


def check_pontryagin(gen, like, q, T: float) -> list[dict]:
    fam = RNN(OmegaConf.create(dict(D=q.D, n_in=q.n_in)))
    R, B, K, dt = q.n_nets, q.n_inputs, q.K, T / q.K
    teacher, xs, s0, _ = random_problem(fam, gen, like, R, B, K)
    with torch.no_grad():  # targets: a teacher of the same form, plus noise the student cannot fit
        y = forward(fam, s0, teacher, xs, dt, K)[-1] + q.noise * randn(gen, like, R, B, fam.readout)
    student = {n: v.clone().requires_grad_(True) for n, v in random_problem(fam, gen, like, R, B, K)[0].items()}
    g0, _, loss0 = _hand_terms(fam, {n: v.detach() for n, v in student.items()}, xs, s0, y, dt, K)
    opt = torch.optim.LBFGS(list(student.values()), lr=1, max_iter=q.max_iter, tolerance_grad=0, tolerance_change=0,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        with torch.enable_grad():
            value = loss(fam, forward(fam, s0, student, xs, dt, K)[-1], y).sum()
            value.backward()
        return value

    for _ in range(q.rounds):  # L-BFGS stops early on a flat line search; restarting costs nothing
        opt.step(closure)
    total, largest, loss1 = _hand_terms(fam, {n: v.detach() for n, v in student.items()}, xs, s0, y, dt, K)
    scale = _norm(g0)
    rows = []
    for r in range(R):
        rows += [dict(part=Part.PONTRYAGIN, net=r, quantity=qn, value=v) for qn, v in (
            (Q.REL_SUM_DH_DTHETA, (_norm(total)[r] / scale[r]).item()),
            (Q.REL_LARGEST_TERM, (largest[r] / scale[r]).item()),
            (Q.LOSS_INIT, loss0[r].item()), (Q.LOSS_FINAL, loss1[r].item()))]
    return rows
