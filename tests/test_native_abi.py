"""The C kernels' binding (engine/native_abi.py) against the C prototypes: the one declaration must
match fused.c, param.c and attack.c name for name, type for type, in order; calls must name every
argument and pass tensors of the declared element type."""

from __future__ import annotations

import re

import pytest
import torch

from hjexp.engine import native
from hjexp.engine import native_abi as abi
from hjexp.engine import native_build as build

PROTOTYPE = re.compile(r"\bint\s+CAT\((hj_\w+?)_,\s*SUFFIX\)\s*\((.*?)\)\s*\{", re.S)


def c_prototypes() -> dict[str, list[tuple[str, str]]]:
    """Entry point -> [(argument, C type without const)], parsed from the sources."""
    found = {}
    for source in build.SOURCES:
        for name, params in PROTOTYPE.findall(source.read_text()):
            args = []
            for param in params.split(","):
                words = param.replace("*", " * ").split()
                words = [w for w in words if w != "const"]
                ctype = " ".join(words[:-1])
                args.append((words[-1], ctype))
            found[name] = args
    return found


def mismatches(declared: dict, parsed: dict) -> list[str]:
    out = [f"{name}: declared, not in the sources" for name in declared.keys() - parsed.keys()]
    out += [f"{name}: in the sources, not declared" for name in parsed.keys() - declared.keys()]
    for name in declared.keys() & parsed.keys():
        if list(declared[name]) != parsed[name]:
            out.append(f"{name}: declared {declared[name]} != C {parsed[name]}")
    return out


def test_declaration_matches_the_c_prototypes():
    parsed = c_prototypes()
    assert set(parsed) == {"hj_pass", "hj_adam", "hj_pgd"}
    assert mismatches(abi.ENTRIES, parsed) == []


def test_a_drifted_declaration_is_caught():
    parsed = c_prototypes()
    dropped = dict(abi.ENTRIES, hj_pass=abi.ENTRIES["hj_pass"][:-1])
    swapped = dict(abi.ENTRIES, hj_pgd=(abi.ENTRIES["hj_pgd"][1], abi.ENTRIES["hj_pgd"][0],
                                        *abi.ENTRIES["hj_pgd"][2:]))
    retyped = dict(abi.ENTRIES, hj_adam=(("E", abi.INT), *abi.ENTRIES["hj_adam"][1:]))
    for declared in (dropped, swapped, retyped):
        assert len(mismatches(declared, parsed)) == 1


@pytest.fixture
def lib():
    ok, why = native.availability()
    if not ok:
        pytest.skip(f"the C kernels are not available here: {why}")


def _pass_args(**change):
    """A tiny valid C pass call (mode 1: the loss of one member on 8 rows)."""
    f = torch.float32
    args = dict(E=1, active=None, n_act=0, cull=None, n=8, N=4, K=3, xa=torch.rand(8, 3, dtype=f), xa_es=0,
                thT=torch.rand(1, 3, 4, dtype=f), keep=None, width=None, eps=torch.ones(1, dtype=f),
                scale=torch.ones(1, dtype=f), norm=torch.ones(1, dtype=f), off=None, off_es=0,
                target=torch.rand(1, 8, dtype=f), w=None, mode=1, out=torch.zeros(1, dtype=f), gthT=None, gf=None,
                nthreads=1, kept=None, mrow=None)
    args.update(change)
    return args


def test_calls_are_checked(lib):
    args = _pass_args()
    assert abi.PASS.call(torch.float32, **args) == 0 and float(args["out"][0]) > 0
    missing = dict(args)
    del missing["mrow"]
    with pytest.raises(TypeError, match="mrow"):
        abi.PASS.call(torch.float32, **missing)
    with pytest.raises(TypeError, match="bogus"):
        abi.PASS.call(torch.float32, **args, bogus=1)
    with pytest.raises(TypeError, match="thT must be a contiguous CPU torch.float32"):
        abi.PASS.call(torch.float32, **_pass_args(thT=torch.rand(1, 3, 4, dtype=torch.float64)))
    with pytest.raises(TypeError, match="not contiguous"):
        abi.PASS.call(torch.float32, **_pass_args(thT=torch.rand(1, 4, 3).transpose(1, 2)))
    with pytest.raises(TypeError, match="width must be a contiguous CPU torch.int64"):
        abi.PASS.call(torch.float32, **_pass_args(width=torch.tensor([4], dtype=torch.int32)))


def test_refusal_is_one_error_line(lib):
    with pytest.raises(abi.NativeError) as err:
        abi.PASS.call(torch.float32, **_pass_args(K=native.MAX_K + 1))
    assert "refused" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, RuntimeError)


def test_status_codes_match_alloc_h():
    text = (build.HERE / "alloc.h").read_text()
    assert dict((k, int(v)) for k, v in re.findall(r"#define (HJ_\w+) (\d+)", text)) == abi.STATUS
    assert set(abi.MESSAGES) == set(abi.STATUS.values()) - {0}


def test_vector_width_is_the_targets_register(lib):
    """simd.h's vector is one register: 64 bytes where -march=native enables AVX-512F, else 32 (64-byte
    vectors on AVX2 split each accumulator of the register tiles in two and spill); the PGD layout pads to it."""
    cc = build.compiler()
    avx512 = re.search(r"-mavx512f\s+\[enabled\]", build.target_options(cc)) is not None
    assert native.vec_bytes() == (64 if avx512 else 32)
