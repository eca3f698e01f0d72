"""The C pass's stale row maxima (engine/blocks.h): given last call's row maxima ``row_max``, a block
takes logits and exponentials in one sweep against them, and falls back to two sweeps where a row's
maximum moved by more than the window. The shift of a log-sum-exp is free, so whatever ``row_max``
holds, loss and gradient must be those of a call without it, to float roundoff, and ``row_max`` must
come back holding each row's logit maximum. Checked against a float64 computation by hand of the same
logits, for shifts inside the window (the one sweep), beyond it (the fallback) and none yet. The one
sweep is compiled on AVX-512 builds only (engine/simd.h STALE_MAX); elsewhere the same test checks that
the maxima come back and that nothing else changes."""

from __future__ import annotations

import pytest
import torch

from hjexp.engine import native

SHIFTS = {"exact": 0.0, "below by 5": -5.0, "above by 5": 5.0, "below by 35": -35.0, "above by 35": 35.0}
ROUNDOFF = {torch.float32: 2e-5, torch.float64: 1e-12}  # relative: a few hundred roundoffs of a sum over N


@pytest.fixture(scope="module")
def lib():
    ok, why = native.availability()
    if not ok:
        pytest.skip(f"the C pass cannot run here ({why})")


def _problem(d: int, dtype, masked: bool):
    gen = torch.Generator().manual_seed(10 * d + masked)
    E, N, n, K = 3, 40, 700, d + 1
    xa = torch.cat([torch.rand(n, d, generator=gen, dtype=dtype) * 2 - 1, torch.ones(n, 1, dtype=dtype)], 1)
    thT = torch.randn(E, K, N, generator=gen, dtype=dtype) * 6  # logits spread over ~±30: many far-below terms
    keep = None
    if masked:
        keep = (torch.rand(E, N, generator=gen) < 0.7).to(dtype)
        thT[:, -1][keep == 0] = -1e30  # absent neurons carry a large negative bias (fused.c)
    target = torch.randn(E, n, generator=gen, dtype=dtype)
    ones = torch.ones(E, dtype=dtype)

    def call(row_max):
        out, g, gf = torch.zeros(E, dtype=dtype), torch.zeros(E, K, N, dtype=dtype), torch.zeros(E, dtype=dtype)
        native.fused_pass(xa, thT.contiguous(), keep, None, ones * 0.3, ones, ones * n, None, target, None, 2,
                          out, g, gf, row_max=row_max)
        return out, g, gf

    z = torch.einsum("nk,ekj->enj", xa.double(), thT.double())  # the pass's logits, by hand in float64
    return call, z.amax(-1)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-300))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d,masked", [(1, False), (2, False), (2, True), (8, False)])
def test_row_max_shifts_change_nothing(lib, one_thread, dtype, d, masked):
    call, zmax = _problem(d, dtype, masked)
    reference = call(None)
    fresh = torch.full_like(zmax, native.UNKNOWN_MAX, dtype=dtype)  # none yet: two sweeps, and the maxima back
    for got, want in zip(call(fresh), reference):
        assert torch.equal(got, want)
    assert _rel(fresh, zmax) < ROUNDOFF[dtype]
    for name, shift in SHIFTS.items():
        row_max = (zmax + shift).to(dtype)
        for what, got, want in zip(("loss", "gradient", "Σ r f"), call(row_max), reference):
            assert _rel(got, want) < ROUNDOFF[dtype], f"{name}: {what} off by {_rel(got, want):.2e}"
        assert _rel(row_max, zmax) < ROUNDOFF[dtype], f"{name}: row maxima not written back"


def test_the_comparison_sees_a_small_error(lib, one_thread):
    """Control: an error of 1e-4 in one gradient entry, far above the tolerance, is seen."""
    call, _ = _problem(2, torch.float32, False)
    _, g, _ = call(None)
    bad = g.clone()
    i = int(g.abs().argmax())
    bad.view(-1)[i] *= 1 + 1e-4
    assert _rel(bad, g) > ROUNDOFF[torch.float32] and _rel(g, g) == 0
