"""Δ → 0 at fixed horizon T: per-net errors of the discrete co-state against the RK4 adjoint, for each
family, the ZOH variants (held and midpoint inputs, constant input) and the dropped-term control."""

from __future__ import annotations

import torch

from .adjoint_ode import adjoint_reference, discrete_costates, errors_vs_reference
from .contract import Arch, Part, Q, Variant
from .draws import randn, smooth_drive
from .family import Family


def _rows(arch: str, variant: str, K: int, T: float, errs: torch.Tensor) -> list[dict]:
    return [dict(part=Part.CONVERGENCE, arch=arch, variant=variant, K=K, h=T / K, net=r, quantity=Q.MAX_REL_ERR,
                 value=e) for r, e in enumerate(errs.tolist())]


def reference_rows(arch: str, variant: str, ref: torch.Tensor, coarse: torch.Tensor, M: int) -> list[dict]:
    scale = ref.abs().max()
    return [dict(part=Part.REFERENCE, arch=arch, variant=variant, K=M, quantity=Q.REL_DIFF_HALF_STEPS,
                 value=((coarse - ref[::2]).abs().max() / scale).item())]


def variants(fam: Family) -> list[tuple[str, float, float, bool]]:
    """(variant, input amplitude of the sin/cos terms, input offset within the step, drop_term)."""
    out = [(Variant.SMOOTH, 0.5, 0.0, False)]
    if fam.name == Arch.SSM_ZOH:
        out += [(Variant.MIDPOINT, 0.5, 0.5, False), (Variant.CONSTANT_INPUT, 0.0, 0.0, False)]
    if fam.name == Arch.SSM_EULER:
        out += [(Variant.CONSTANT_INPUT, 0.0, 0.0, False)]
    if fam.name == Arch.RNN:
        out += [(Variant.DROP_TERM, 0.5, 0.0, True)]
    return out


def check_convergence(fam: Family, gen, like, q, B: int, T: float, depths) -> tuple[list[dict], list[dict]]:
    """Rows (per net, per depth, per variant), and one curve per variant (net 0, input 0, component 0)."""
    rows, curves, refs = [], [], {}
    for variant, amp, offset, drop in variants(fam):
        key = amp  # the continuous problem depends only on the input amplitude
        if key not in refs:
            g = torch.Generator(device=gen.device).manual_seed(int(torch.randint(2**62, (1,), generator=gen, device=gen.device)))
            drive = smooth_drive(fam, g, like, q.n_nets, B, T, input_amp=amp)
            s0, y = 0.5 * randn(g, like, q.n_nets, B, fam.state_dim), randn(g, like, q.n_nets, B, fam.readout)
            with torch.no_grad():
                ref = adjoint_reference(drive, s0, y, q.reference_steps)
                coarse = adjoint_reference(drive, s0, y, q.reference_steps // 2)
            refs[key] = (drive, s0, y, ref)
            rows += reference_rows(fam.name, variant, ref, coarse, q.reference_steps)
            curves.append(dict(arch=fam.name, variant=Variant.REFERENCE, K=q.reference_steps,
                               p=ref[:, 0, 0, 0].tolist()))
        drive, s0, y, ref = refs[key]
        for K in depths:
            with torch.no_grad():
                ps = discrete_costates(drive, s0, y, K, offset=offset, drop_term=drop)
            rows += _rows(fam.name, variant, K, T, errors_vs_reference(ps, ref))
            if K == depths[0]:
                curves.append(dict(arch=fam.name, variant=variant, K=K, p=ps[:, 0, 0, 0].tolist()))
    return rows, curves
