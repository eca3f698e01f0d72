"""architectures, measure: per family (1) the hand co-state and Σ Δ ∂ℋ/∂θ against whole-network autograd,
(2) the discrete co-state against the RK4 adjoint as Δ → 0; then Pontryagin's stationarity at a trained
RNN and the noisy RNN's expected loss against the viscous HJ equation.  Rows only; judge.py decides."""

from __future__ import annotations

import pandas as pd
from omegaconf import OmegaConf

from hjexp.claims.roundoff import dtype_row
from hjexp.context import RunContext

from .convergence import check_convergence
from .driver import families
from .identity import check_identity
from .pontryagin import check_pontryagin
from .viscosity import check_viscosity


def _convergence_settings(p, arch: str):
    """Depths and reference steps, with the per-architecture caps of params.convergence.limits."""
    q, lim = p.convergence, p.convergence.limits.get(arch, {})
    depths = [K for K in q.depths if K <= lim.get("max_depth", max(q.depths))]
    return depths, OmegaConf.merge(q, {"reference_steps": lim.get("reference_steps", q.reference_steps)})


def measure(ctx: RunContext) -> None:
    p, like = ctx.params, dict(dtype=ctx.dtype, device=ctx.device)
    fams = families(p.sizes)
    ctx.add_rows([dtype_row(ctx.dtype)])
    curves = []
    with ctx.progress("architectures", 2 * len(p.archs) + 2) as advance:
        for i, arch in enumerate(p.archs):
            fam = fams[arch]
            rows = ctx.cached(f"identity_{arch}", lambda: [
                r for K in p.identity.depths
                for r in check_identity(fam, ctx.generator(100 * i + K), like, p.identity.n_nets, p.n_inputs, K, p.T)])
            ctx.add_rows(rows)
            advance(1)
            depths, q = _convergence_settings(p, arch)
            rows, c = ctx.cached(f"convergence_{arch}", lambda: check_convergence(
                fam, ctx.generator(5000 + i), like, q, p.n_inputs, p.T, depths))
            ctx.add_rows(rows)
            curves += c
            advance(1)
        ctx.add_rows(ctx.cached("pontryagin", lambda: check_pontryagin(ctx.generator(9000), like, p.pontryagin, p.T)))
        advance(1)
        ctx.add_rows(ctx.cached("viscosity", lambda: check_viscosity(ctx.generator(9100), like, p.viscosity, p.T)))
        advance(1)
    ctx.save_table("costate_curves", pd.DataFrame(
        [dict(arch=c["arch"], variant=c["variant"], K=c["K"], k=k, t=k * p.T / (len(c["p"]) - 1), p=v)
         for c in curves for k, v in enumerate(c["p"])]))
