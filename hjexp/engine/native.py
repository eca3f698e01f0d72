"""The C kernels — the fused pass (fused.c), the trainer's parameter step (param.c) and
eps-robustness's PGD step (attack.c) — with torch paths as the fallback.

Built and cached by engine/native_build.py (once per machine type; the cache key, lock and
rebuild rules are there). Set HJEXP_NATIVE=0 to keep to the torch path. When the kernels cannot be
used here, ``availability()`` says why in a few words, the engine logs it once and runs the torch
path: results agree to roundoff (tests/test_fast_train.py, tests/test_eps_robustness.py).
"""

from __future__ import annotations

import ctypes
import logging
import os

import torch

from hjexp.engine import native_abi as abi
from hjexp.engine import native_build as build

log = logging.getLogger("hjexp")
TYPES = {torch.float32: build.PRECISIONS["float32"], torch.float64: build.PRECISIONS["float64"]}
MAX_K = 72  # KMAX of fused.c
UNKNOWN_MAX = 1e30  # a row maximum not known yet (fused.c's UNKNOWN_MAX and above)
NativeError = abi.NativeError  # a kernel's error status: one line (a UserError, so the CLI prints just that)
_state: dict = {}  # once per process: "lib" (CDLL or None), "why" (reason it is None), "path"


def availability() -> tuple[bool, str]:
    """(whether the C kernels can run here, and if not why in a few words); builds on first call."""
    if "lib" not in _state:
        _state.update(_open())
        if _state["lib"] is None and _state["why"] != "HJEXP_NATIVE=0":
            log.warning("hjexp: C kernels unavailable (%s); using the torch path", _state["why"])
    return _state["lib"] is not None, _state["why"]


def _open() -> dict:
    if os.environ.get("HJEXP_NATIVE", "1") == "0":
        return dict(lib=None, why="HJEXP_NATIVE=0")
    why = build.unsupported_platform()
    cc = build.compiler()
    if why is None and cc is None:
        why = "no C compiler (set CC or install gcc)"
    if why:
        return dict(lib=None, why=why)
    try:
        lib, path = build.load(cc)
    except build.BuildError as err:
        return dict(lib=None, why=f"build failed: {err}")
    except OSError as err:
        return dict(lib=None, why=f"library failed to load: {str(err).strip()[:200]}")
    _bind(lib)
    return dict(lib=lib, why="", path=path)


def build_info() -> dict[str, str]:
    """What the kernels' build depends on (for a run's meta.json): cache_key, compiler (its version
    line), march (the CPU -march=native targets), cpu_model. Empty strings where no compiler is found."""
    cc = build.compiler()
    return dict(cache_key=build.cache_key(cc) if cc else "", compiler=build.compiler_version(cc) if cc else "",
                march=build.march(cc) if cc else "", cpu_model=build.cpu_model())


def library() -> ctypes.CDLL | None:
    """The loaded library, or None (torch path) — built on first use."""
    availability()
    return _state["lib"]


def vec_bytes() -> int:
    """Bytes in one of the kernels' vectors (simd.h: 64 with AVX-512, else 32); callers pad layouts to it."""
    lib = library()
    if lib is None:
        raise NativeError("the C kernels are not loaded (hjexp.engine.native.availability() says why)")
    return ctypes.c_int.in_dll(lib, "hj_vec_bytes").value


def _bind(lib: ctypes.CDLL) -> None:
    for entry in abi.ALL:  # argtypes from the one declaration (engine/native_abi.py)
        entry.bind(lib)


def fused_pass(xa: torch.Tensor, thT: torch.Tensor, keep: torch.Tensor | None, width: torch.Tensor | None,
               eps: torch.Tensor,
               scale: torch.Tensor, norm: torch.Tensor, off: torch.Tensor | None, target: torch.Tensor | None,
               w: torch.Tensor | None, mode: int, out: torch.Tensor, gthT: torch.Tensor | None,
               gf: torch.Tensor | None, active: torch.Tensor | None = None, cull: torch.Tensor | None = None,
               row_max: torch.Tensor | None = None) -> torch.Tensor:
    """Call the C pass on contiguous CPU tensors of one dtype (see fused.c for the shapes).
    ``active`` (int64 member indices) restricts the pass to those members; ``cull`` [E] bool: those
    members skip, per super-block of rows, neurons more than e^80 below the row maximum (pays on
    spatially sorted rows).
    ``row_max`` [E, n] holds shifts to try (any values: last call's row maxima pay) and receives
    each row's logit maximum; it lets the pass take logits and exponentials in one sweep (fused.c).
    Returns per member the fraction of neurons culling kept [E] (1.0 where it did not cull), or
    None when no member culls (a minibatch step then allocates nothing for it)."""
    E, K, N = thT.shape
    n = xa.shape[-2]
    if K > MAX_K:
        raise ValueError(f"the C pass takes d + 1 ≤ {MAX_K} columns, got {K}")
    if active is not None:
        active = active.to(torch.int64).contiguous()
        if active.numel() == 0:  # nobody to compute (a null pointer would mean everybody)
            return None
    cull_flags = None if cull is None or not bool(cull.any()) else cull.to(torch.uint8).contiguous()
    kept = None if cull_flags is None else torch.zeros(E, 2, dtype=torch.float64, device="cpu")
    abi.PASS.call(thT.dtype, E=E, active=active, n_act=0 if active is None else len(active), cull=cull_flags, n=n, N=N,
             K=K, xa=xa, xa_es=0 if xa.ndim == 2 else n * K, thT=thT, keep=keep, width=width, eps=eps, scale=scale,
             norm=norm, off=off, off_es=0 if off is None or off.ndim == 1 else n, target=target, w=w, mode=mode,
             out=out, gthT=gthT, gf=gf, nthreads=torch.get_num_threads(), kept=kept, mrow=row_max)
    return None if kept is None else torch.where(kept[:, 1] > 0, kept[:, 0] / kept[:, 1].clamp_min(1), 1.0)


def adam_network(form: int, t: float, eps: torch.Tensor, width: torch.Tensor | None, bmask: torch.Tensor | None,
                 g: torch.Tensor | None, th: torch.Tensor, m: torch.Tensor, v: torch.Tensor, live: torch.Tensor | None,
                 step: int, lr: float, betas: tuple[float, float], adam_eps: float, thT: torch.Tensor,
                 bad: torch.Tensor, readout: tuple[torch.Tensor, ...] | None = None) -> int:
    """param.c on contiguous [E, K, N] tensors: pull g = dL/d[W, b]ᵀ back to θ (model form ``form``),
    Adam's step ``step`` on th (m, v its moments; live [E] 0/1 freezes), then the next pass's
    network into thT; g None: only the network. bad [E] uint8 flags members with a non-finite
    present neuron; returns their count. ``readout`` (c, m_c, v_c, dL/dc), each [E] contiguous:
    Adam's step on a per-member readout scale too."""
    E, K, N = th.shape
    b1, b2 = betas
    c, cm, cv, cg = readout or (None,) * 4
    return abi.ADAM.call(th.dtype, E=E, N=N, K=K, form=form, t=t, eps=eps, width=width, bmask=bmask, g=g, th=th, m=m,
                    v=v, live=live, lr_t=lr / (1 - b1**step) if step else 0.0, b1=b1, b2=b2,
                    vcorr=(1 - b2**step) ** -0.5 if step else 1.0, eps_adam=adam_eps, thT=thT, bad=bad,
                    c=c, cm=cm, cv=cv, cg=cg, nthreads=torch.get_num_threads())


def pgd_step(layout: dict, xa: torch.Tensor, x0: torch.Tensor, lo: torch.Tensor | None, hi: torch.Tensor | None,
             member: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor, radius: torch.Tensor, *, norm: str,
             loss: str, update: bool, box: tuple[float, float] | None) -> torch.Tensor:
    """One PGD step of an LSE classifier in C (attack.c), in place on xa [P, D]; returns the margins [P]
    at the iterate on entry (rows with a negative margin are not moved). ``layout`` holds the model
    padded for the kernel (experiments/eps_robustness/attacks.native_layout)."""
    P, D = xa.shape
    gap = torch.empty(P, dtype=xa.dtype, device="cpu")
    lay = layout
    blo, bhi = box or (0.0, 1.0)
    abi.PGD.call(xa.dtype, P=P, D=D, Dp=lay["PcT"].shape[1], k=lay["k"], kp=lay["Pc"].shape[1], C=lay["C"], N=lay["N"],
            CNp=lay["WT"].shape[2], xa=xa, x0=x0, lo=lo, hi=hi, Pc=lay["Pc"], PcT=lay["PcT"], muP=lay["muP"],
            WT=lay["WT"], Wk=lay["Wk"], bias=lay["bias"], eps=lay["eps"], member=member, y=y, alpha=alpha,
            radius=radius, norm=0 if norm == "linf" else 1, loss=0 if loss == "ce" else 1, update=int(update),
            box=int(box is not None), blo=blo, bhi=bhi, gap=gap, nthreads=torch.get_num_threads())
    return gap
