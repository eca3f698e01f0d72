"""The torch pass captured with torch.compile (``engine=compiled``): a chunk of the fused pass (``chunk``)
and Adam's update (torch_pass.adam_update_) each become one generated program (C++ with OpenMP on a
CPU, Triton on a GPU).

Why torch.compile and not CUDA graphs: a graph replays a fixed launch sequence but still launches every
op, and it can neither be built nor measured without a GPU; inductor fuses the ~15 ops of a chunk
(logits, max, exp, sums, residual, loss) into a few loops and runs on a CPU too, where it was measured:
the authors' d = 2 sweep's widest group (5 members × N = 500, n = 4000, 1M-element chunks) took 2.09
ns per element-step eager and 1.09 compiled at 2 threads (AMD EPYC, AVX2). CUDA graphs on top
(``mode="reduce-overhead"``) are ``engine=graphs``, CUDA only: gpu-check and ``hjexp bench device=cuda``
time it beside ``compiled``, so the first GPU run measures which capture to keep.

Shapes are dynamic (``dynamic=True``), so one graph serves every group, width and chunk size: after
the first call of each variant (which inputs are None, the dtype: see VARIANTS) nothing recompiles, and
``fullgraph=True`` makes any graph break an error. tests/test_compiled.py checks both.

For d + 1 ≤ SMALL_K the logits are written as d + 1 products instead of a matmul, so inductor computes
them in its own generated loop (it stores z there, then reads it for the max and again for the exp)
instead of a library call to a memory-bound [rows, 3]·[3, N] GEMM; wider rows keep the matmul. The gradient Σ_i q_i x_i e_ij stays a batched matmul over materialised weights e: written
as a reduction, inductor recomputes the exp once per input column.

Tried on the d = 2 sweep and not kept (AMD EPYC, AVX2, 2 threads; ms per step, this form vs the other,
alternating in one process):
the C pass's polynomial exp in torch ops instead of torch.exp, 24.1–26.1 vs 24.5–26.3 (the chunk is
bound by memory: inductor stores z, reads it for the max and again for the exp, and the bmm reads e back);
the gradient as d + 1 reductions over rows in one loop with the exponentials recomputed, never stored
(inductor's realize thresholds raised so nothing is materialised), 26–35 vs 43–60 (its loops split only
over members, and each exp is computed twice).
"""

from __future__ import annotations

from functools import cache

import torch
from torch import Tensor

SMALL_K = 8  # d + 1 up to which the logits are fused products (above: a matmul)
EXP_FLOOR = -80.0  # engine.kernel.EXP_FLOOR (not imported: kernel imports this module's caller)


def available(device: torch.device) -> tuple[bool, str]:
    """Whether torch.compile can generate code here: a C++ compiler on a CPU, Triton on CUDA."""
    import shutil

    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return False, "Triton is not installed (torch.compile needs it on CUDA)"
        return True, "torch.compile with Triton"
    if device.type == "cpu":
        if not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):
            return False, "no C++ compiler on PATH (torch.compile's CPU backend needs one)"
        return True, "torch.compile with its C++ backend"
    return False, f"torch.compile is not set up for device type {device.type}"


def _logits(xa: Tensor, thT: Tensor) -> Tensor:
    """z = xa·thT [E, rows, N] from xa [rows, K] or [E, rows, K] and thT [E, K, N]."""
    K = xa.shape[-1]
    if K > SMALL_K:
        return torch.matmul(xa, thT)
    xs = xa if xa.ndim == 3 else xa[None]
    z = xs[:, :, 0, None] * thT[:, None, 0]
    for k in range(1, K):
        z = z + xs[:, :, k, None] * thT[:, None, k]
    return z


def chunk(xa: Tensor, thT: Tensor, keep: Tensor | None, base: Tensor | None, given: Tensor | None,
           w: Tensor | None, coef: Tensor, fac: Tensor | None, cfac: Tensor | None):
    """One chunk of torch_pass.run, functional: (loss part [E] or None, dL/dc part [E] or None,
    dL/d[W, b]ᵀ part [E, K, N] or None). ``base`` = offset − target (MSE) or ``given`` = dL/dpred;
    ``fac``: the gradient's factor per member (None: loss only); ``cfac``: the readout's (None: none)."""
    z = _logits(xa, thT)
    mx = z.amax(-1, keepdim=True)
    e = (z - mx).clamp_min(EXP_FLOOR).exp()
    if keep is not None:
        e = e * keep
    tot = e.sum(-1)
    lse = tot.log() + mx.squeeze(-1)
    loss = None
    if given is None:
        res = base + lse * coef  # pred − target
        r = res if w is None else res * w
        loss = (r * res).sum(-1)
    else:
        r = given if w is None else given * w
    if fac is None:
        return loss, None, None
    g_c = None if cfac is None else (r * cfac * lse).sum(-1)
    q = r * fac / tot
    xs = xa if xa.ndim == 3 else xa[None]
    g = torch.bmm((xs * q.unsqueeze(-1)).transpose(1, 2), e)
    return loss, g_c, g


VARIANTS = 64  # graphs one function may need: masks, weights, readout, given or MSE, loss or gradient, x per member, dtype


def _allow_variants() -> None:
    """Each combination of absent inputs (None) and dtypes is its own graph; dynamo's default limit of 8
    per function would then raise (fullgraph) where a run mixes many, so allow VARIANTS. Shapes never
    add graphs (dynamic=True)."""
    import torch._dynamo

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, VARIANTS)


@cache
def compiled_version(fn, mode: str | None = None):
    """``fn`` compiled once per process and ``mode`` (dynamic shapes, no graph break allowed); inductor also
    caches its graphs on disk. ``mode="reduce-overhead"`` (engine=graphs) records each shape's kernels as a
    CUDA graph and replays it: its outputs live in the graph's memory and are overwritten by the next replay
    after torch.compiler.cudagraph_mark_step_begin(), so callers clone what they keep (torch_pass)."""
    _allow_variants()
    return torch.compile(fn, dynamic=True, fullgraph=True, mode=mode)


__all__ = ["available", "chunk", "compiled_version", "SMALL_K"]
