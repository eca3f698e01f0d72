"""Build and load the C kernels — the fused pass (fused.c), the trainer's parameter step (param.c)
and eps-robustness's PGD step (attack.c) — with torch paths as the fallback.

Compiled once per machine and source with the system C compiler (gcc -O3 -march=native -ffast-math
-fopenmp; GCC vector extensions, exp inlined), cached under ~/.cache/hjexp (or $HJEXP_CACHE), loaded with ctypes.
Set HJEXP_NATIVE=0 to keep to the torch path. When no compiler is found or the build fails, the
engine says so once and runs the torch path: results agree to roundoff (tests/test_fast_train.py,
tests/test_eps_robustness.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

log = logging.getLogger("hjexp")
HERE = Path(__file__).parent
SOURCES = [HERE / "fused.c", HERE / "param.c", HERE / "attack.c"]  # the engine's pass and parameter step; the eps-robustness PGD step
HEADERS = [HERE / "simd.h", HERE / "wide.h"]
FLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-ffast-math", "-fopenmp", "-fPIC"]
TYPES = {torch.float32: ("f32", "-DREAL=float -DIREAL=int32_t -DBIAS=127 -DMANT=23 -DDOUBLE=0 -DLOG=logf -DSQRT=sqrtf"),
         torch.float64: ("f64", "-DREAL=double -DIREAL=int64_t -DBIAS=1023 -DMANT=52 -DDOUBLE=1 -DLOG=log -DSQRT=sqrt")}
MAX_K = 72  # KMAX of fused.c
UNKNOWN_MAX = 1e30  # a row maximum not known yet (fused.c's UNKNOWN_MAX and above)
_lib: ctypes.CDLL | None | bool = None  # None: not tried yet; False: unavailable


def _cpu_id() -> str:
    try:
        flags = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith(("model name", "flags"))]
    except OSError:
        flags = []
    return platform.machine() + "".join(sorted(set(flags)))


def _cache_dir() -> Path:
    root = os.environ.get("HJEXP_CACHE") or Path.home() / ".cache" / "hjexp"
    return Path(root) / "native"


def _build(cc: str) -> Path:
    text = "".join(f.read_text() for f in SOURCES + HEADERS) + " ".join(FLAGS) + str(TYPES) + _cpu_id()
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    out = _cache_dir() / f"hjfused-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        objs = []
        for suffix, defines in TYPES.values():
            for source in SOURCES:
                obj = Path(tmp) / f"{source.stem}-{suffix}.o"
                subprocess.run([cc, *FLAGS, f"-DSUFFIX={suffix}", *defines.split(), "-c", str(source), "-o", str(obj)],
                               check=True, capture_output=True, text=True)
                objs.append(str(obj))
        so = Path(tmp) / "lib.so"
        subprocess.run([cc, "-shared", "-fopenmp", *objs, "-o", str(so), "-lm"],
                       check=True, capture_output=True, text=True)
        os.replace(so, out)  # atomic: concurrent builders never see a half-written library
    return out


def library() -> ctypes.CDLL | None:
    """The loaded library, or None (torch path) — built on first use."""
    global _lib
    if _lib is None:
        _lib = False
        cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
        if os.environ.get("HJEXP_NATIVE", "1") == "0" or platform.system() != "Linux" or cc is None:
            return None
        try:
            lib = ctypes.CDLL(str(_build(cc)))
        except (OSError, subprocess.CalledProcessError) as err:
            detail = getattr(err, "stderr", "") or str(err)
            log.warning("hjexp: fused C kernel unavailable (%s); using the torch path", detail.strip()[:200])
            return None
        for suffix, _ in TYPES.values():
            fn = getattr(lib, f"hj_pass_{suffix}")
            fn.restype = ctypes.c_int
            fn.argtypes = ([ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p] + [ctypes.c_int64] * 3
                           + [ctypes.c_void_p, ctypes.c_int64] + [ctypes.c_void_p] * 6
                           + [ctypes.c_void_p, ctypes.c_int64] + [ctypes.c_void_p] * 2 + [ctypes.c_int]
                           + [ctypes.c_void_p] * 3 + [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p])
            fn = getattr(lib, f"hj_adam_{suffix}")
            fn.restype = ctypes.c_int
            fn.argtypes = ([ctypes.c_int64] * 3 + [ctypes.c_int, ctypes.c_double] + [ctypes.c_void_p] * 8
                           + [ctypes.c_double] * 5 + [ctypes.c_void_p] * 6 + [ctypes.c_int])
            real = ctypes.c_double if suffix == "f64" else ctypes.c_float
            fn = getattr(lib, f"hj_pgd_{suffix}")
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_int64] * 8 + [ctypes.c_void_p] * 15 + [ctypes.c_int] * 4 + [real, real,
                                                                                                 ctypes.c_void_p,
                                                                                                 ctypes.c_int]
        _lib = lib
    return _lib or None


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


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
    fn = getattr(library(), f"hj_pass_{TYPES[thT.dtype][0]}")
    if K > MAX_K:
        raise ValueError(f"the C pass takes d + 1 ≤ {MAX_K} columns, got {K}")
    if active is not None:
        active = active.to(torch.int64).contiguous()
        if active.numel() == 0:  # nobody to compute (a null pointer would mean everybody)
            return None
    cull_flags = None if cull is None or not bool(cull.any()) else cull.to(torch.uint8).contiguous()
    kept = None if cull_flags is None else torch.zeros(E, 2, dtype=torch.float64, device="cpu")
    rc = fn(E, _ptr(active), 0 if active is None else len(active), _ptr(cull_flags), n, N, K,
            _ptr(xa), 0 if xa.ndim == 2 else n * K, _ptr(thT), _ptr(keep), _ptr(width), _ptr(eps),
            _ptr(scale), _ptr(norm), _ptr(off), 0 if off is None or off.ndim == 1 else n, _ptr(target), _ptr(w), mode,
            _ptr(out), _ptr(gthT), _ptr(gf), torch.get_num_threads(), _ptr(kept), _ptr(row_max))
    if rc:
        raise ValueError(f"the C pass refused K = {K} (at most {MAX_K})")
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
    fn = getattr(library(), f"hj_adam_{TYPES[th.dtype][0]}")
    b1, b2 = betas
    return fn(E, N, K, form, t, _ptr(eps), _ptr(width), _ptr(bmask), _ptr(g), _ptr(th), _ptr(m), _ptr(v), _ptr(live),
              lr / (1 - b1**step) if step else 0.0, b1, b2, (1 - b2**step) ** -0.5 if step else 1.0, adam_eps,
              _ptr(thT), _ptr(bad), *(_ptr(r) for r in (readout or (None,) * 4)), torch.get_num_threads())


def pgd_step(layout: dict, xa: torch.Tensor, x0: torch.Tensor, lo: torch.Tensor | None, hi: torch.Tensor | None,
             member: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor, radius: torch.Tensor, *, norm: str,
             loss: str, update: bool, box: tuple[float, float] | None) -> torch.Tensor:
    """One PGD step of an LSE classifier in C (attack.c), in place on xa [P, D]; returns the margins [P]
    at the iterate on entry (rows with a negative margin are not moved). ``layout`` holds the model
    padded for the kernel (experiments/eps_robustness/attacks.native_layout)."""
    P, D = xa.shape
    gap = torch.empty(P, dtype=xa.dtype, device="cpu")
    fn = getattr(library(), f"hj_pgd_{TYPES[xa.dtype][0]}")
    lay = layout
    rc = fn(P, D, lay["PcT"].shape[1], lay["k"], lay["Pc"].shape[1], lay["C"], lay["N"], lay["WT"].shape[2], _ptr(xa), _ptr(x0), _ptr(lo),
            _ptr(hi), _ptr(lay["Pc"]), _ptr(lay["PcT"]), _ptr(lay["muP"]), _ptr(lay["WT"]), _ptr(lay["Wk"]),
            _ptr(lay["bias"]), _ptr(lay["eps"]), _ptr(member), _ptr(y), _ptr(alpha), _ptr(radius),
            0 if norm == "linf" else 1, 0 if loss == "ce" else 1, int(update), int(box is not None),
            *(box or (0.0, 1.0)), _ptr(gap), torch.get_num_threads())
    if rc:
        raise ValueError("the C PGD step refused these shapes")
    return gap
