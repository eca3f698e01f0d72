"""Every allocation of the C kernels is checked: alloc.h's test hook makes the n-th allocation fail,
for every n a call reaches, and each such call must return HJ_NO_MEMORY (raised in Python as one
NativeError line), free everything it allocated, and leave the next call's answer unchanged."""

from __future__ import annotations

import ctypes

import pytest
import torch

from hjexp.engine import native
from hjexp.engine.native_abi import NativeError
from hjexp.errors import UserError


@pytest.fixture
def lib():
    ok, why = native.availability()
    if not ok:
        pytest.skip(f"the C kernels are not available here: {why}")
    lib = native.library()
    fail = ctypes.c_int64.in_dll(lib, "hj_fail_alloc")
    yield lib
    fail.value = 0


def _counters(lib):
    return ctypes.c_int64.in_dll(lib, "hj_fail_alloc"), ctypes.c_int64.in_dll(lib, "hj_live_allocs")


def _every_failure(lib, call) -> tuple[int, object]:
    """Fail allocation 1, 2, ... of ``call()`` until it succeeds; returns (failures seen, its result)."""
    fail, live = _counters(lib)
    assert live.value == 0
    for n in range(1, 500):
        fail.value = n
        try:
            result = call()
        except NativeError as err:
            msg = str(err)
            assert "could not allocate" in msg and "\n" not in msg and isinstance(err, UserError)
            assert live.value == 0, f"allocation {n} failed and {live.value} blocks leaked"
            continue
        fail.value = 0
        assert live.value == 0
        return n - 1, result
    raise AssertionError("the call never succeeded")


def _pass_problem(d: int, cull: bool, dtype=torch.float32):
    gen = torch.Generator().manual_seed(d)
    E, N, n, K = 3, 64, 2000, d + 1
    xa = torch.cat([torch.rand(n, d, generator=gen, dtype=dtype) * 2 - 1, torch.ones(n, 1, dtype=dtype)], 1)
    thT = (torch.randn(E, K, N, generator=gen, dtype=dtype) * 4).contiguous()
    ones = torch.ones(E, dtype=dtype)
    target = torch.randn(E, n, generator=gen, dtype=dtype)
    flags = torch.tensor([cull] * E)

    def call():
        out, g, gf = torch.zeros(E, dtype=dtype), torch.zeros(E, K, N, dtype=dtype), torch.zeros(E, dtype=dtype)
        native.fused_pass(xa, thT, None, None, ones * 0.3, ones, ones * n, None, target, None, 2, out, g, gf,
                          cull=flags if cull else None)
        return out, g, gf

    return call


@pytest.mark.parametrize("d, cull", [(2, True), (2, False), (12, False)])
def test_pass_allocation_failures(lib, d, cull, one_thread):
    torch.set_num_threads(2)  # two threads: per-thread scratch, and per-thread gradient copies
    call = _pass_problem(d, cull)
    reference = call()
    failures, result = _every_failure(lib, call)
    assert failures >= 6  # the partial sums, and each thread's scratch
    for got, want in zip(result, reference):
        assert torch.equal(got, want)


def _pgd_problem(dtype=torch.float32):
    gen = torch.Generator().manual_seed(5)
    E, C, N, k, D, P = 2, 3, 4, 8, 20, 13
    lanes = 64 // (torch.finfo(dtype).bits // 8)
    tile = 4 * lanes
    kp, Dp, CNp = -(-k // tile) * tile, -(-D // tile) * tile, -(-C * N // lanes) * lanes
    z = dict(dtype=dtype)
    lay = dict(k=k, C=C, N=N, eps=torch.full((E,), 0.5, **z), PcT=torch.zeros(k, Dp, **z), Pc=torch.zeros(D, kp, **z),
               muP=torch.zeros(kp, **z), WT=torch.zeros(E, k, CNp, **z), Wk=torch.zeros(E, C * N, kp, **z),
               bias=torch.zeros(E, CNp, **z))
    comps = torch.linalg.qr(torch.randn(D, k, generator=gen, **z))[0]
    W = torch.randn(E, C * N, k, generator=gen, **z)
    lay["Pc"][:, :k], lay["PcT"][:, :D] = comps, comps.T
    lay["WT"][..., :C * N], lay["Wk"][..., :k] = W.transpose(1, 2), W
    x0 = torch.rand(P, D, generator=gen, **z)
    member, y = torch.arange(P) % E, torch.arange(P) % C
    radius = torch.full((P, 1), 0.1, **z)
    lo, hi = (x0 - radius).clamp_min(0), (x0 + radius).clamp_max(1)

    def call():
        xa = x0.clone()
        gap = native.pgd_step(lay, xa, x0, lo, hi, member, y, radius.clone(), radius, norm="linf", loss="ce",
                              update=True, box=None)
        return gap, xa

    return call


def test_pgd_allocation_failures(lib, one_thread):
    torch.set_num_threads(2)
    call = _pgd_problem()
    reference = call()
    failures, result = _every_failure(lib, call)
    assert failures >= 4  # four scratch blocks per thread
    for got, want in zip(result, reference):
        assert torch.equal(got, want)


def test_no_leak_on_success(lib):
    _, live = _counters(lib)
    _pass_problem(2, True)()
    _pgd_problem()()
    assert live.value == 0
