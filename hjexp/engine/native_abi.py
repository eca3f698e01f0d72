"""The C kernels' entry points, declared once: each argument's name and C type, in the order of the C
prototype. ctypes' argtypes and the call-by-keyword wrapper are both built from this table, and
tests/test_native_abi.py parses the prototypes in fused.c, param.c and attack.c and requires them to
match it name for name, type for type — so an argument added on one side only fails a test instead
of shifting every later argument in memory.

A call names every argument (a missing or unknown one is a TypeError); tensors must be contiguous
CPU tensors of the pointer's element type (REAL: the call's dtype), None passes NULL. Entry points
return a status (STATUS below; hj_adam returns a count), and a non-zero status raises NativeError,
one line the CLI prints as its error.
"""

from __future__ import annotations

import ctypes

import torch

from hjexp.errors import UserError

I64, INT, F64, REAL = "int64_t", "int", "double", "REAL"
P_REAL, P_I64, P_U8, P_F64 = "REAL *", "int64_t *", "unsigned char *", "double *"

ENTRIES: dict[str, tuple[tuple[str, str], ...]] = {
    "hj_pass": (("E", I64), ("active", P_I64), ("n_act", I64), ("cull", P_U8), ("n", I64), ("N", I64), ("K", I64),
                ("xa", P_REAL), ("xa_es", I64), ("thT", P_REAL), ("keep", P_REAL), ("width", P_I64),
                ("eps", P_REAL), ("scale", P_REAL), ("norm", P_REAL), ("off", P_REAL), ("off_es", I64),
                ("target", P_REAL), ("w", P_REAL), ("mode", INT), ("out", P_REAL), ("gthT", P_REAL),
                ("gf", P_REAL), ("nthreads", INT), ("kept", P_F64), ("mrow", P_REAL)),
    "hj_adam": (("E", I64), ("N", I64), ("K", I64), ("form", INT), ("t", F64), ("eps", P_REAL), ("width", P_I64),
                ("bmask", P_REAL), ("g", P_REAL), ("th", P_REAL), ("m", P_REAL), ("v", P_REAL), ("live", P_REAL),
                ("lr_t", F64), ("b1", F64), ("b2", F64), ("vcorr", F64), ("eps_adam", F64), ("thT", P_REAL),
                ("bad", P_U8), ("c", P_REAL), ("cm", P_REAL), ("cv", P_REAL), ("cg", P_REAL), ("nthreads", INT)),
    "hj_pgd": (("P", I64), ("D", I64), ("Dp", I64), ("k", I64), ("kp", I64), ("C", I64), ("N", I64), ("CNp", I64),
               ("xa", P_REAL), ("x0", P_REAL), ("lo", P_REAL), ("hi", P_REAL), ("Pc", P_REAL), ("PcT", P_REAL),
               ("muP", P_REAL), ("WT", P_REAL), ("Wk", P_REAL), ("bias", P_REAL), ("eps", P_REAL),
               ("member", P_I64), ("y", P_I64), ("alpha", P_REAL), ("radius", P_REAL), ("norm", INT),
               ("loss", INT), ("update", INT), ("box", INT), ("blo", REAL), ("bhi", REAL), ("gap", P_REAL),
               ("nthreads", INT)),
}
COUNTS = {"hj_adam"}  # entry points that return a count, not a status
STATUS = {"HJ_OK": 0, "HJ_REFUSED": 1, "HJ_NO_MEMORY": 2}  # alloc.h's codes (the test compares)
MESSAGES = {1: "refused these shapes", 2: "could not allocate its scratch memory (lower threads=, the batch or "
            "the ensemble, or set HJEXP_NATIVE=0 for the torch path)"}
SUFFIXES = {torch.float32: "f32", torch.float64: "f64"}
_ELEMENT = {P_I64: torch.int64, P_U8: torch.uint8, P_F64: torch.float64}  # REAL *: the call's dtype
_SCALAR = {I64: ctypes.c_int64, INT: ctypes.c_int, F64: ctypes.c_double}


class NativeError(UserError, RuntimeError):
    """A C entry point returned an error status (one line: which kernel, what went wrong)."""


def _argtype(ctype: str, dtype: torch.dtype):
    if ctype.endswith("*"):
        return ctypes.c_void_p
    if ctype == REAL:
        return ctypes.c_double if dtype == torch.float64 else ctypes.c_float
    return _SCALAR[ctype]


class Entry:
    """One C entry point, for both precisions: ``entry.call(dtype, name=value, ...)``. ``call`` is
    generated from the declaration as a function with keyword-only parameters (Python itself rejects a
    missing or unknown name) and the pointer checks written inline: ~2 µs per call where a generic
    loop over the arguments cost ~9 µs (tests/test_native_abi.py, the report of issue 23)."""

    def __init__(self, name: str, args: tuple[tuple[str, str], ...], what: str):
        self.name, self.what, self.args = name, what, args
        self.fns: dict[torch.dtype, object] = {}
        self.call = self._generate()

    def bind(self, lib: ctypes.CDLL) -> None:
        for dtype, suffix in SUFFIXES.items():
            fn = getattr(lib, f"{self.name}_{suffix}")
            fn.restype = ctypes.c_int
            fn.argtypes = [_argtype(c, dtype) for _, c in self.args]
            self.fns[dtype] = fn

    def _generate(self):
        values = []
        for name, ctype in self.args:
            if not ctype.endswith("*"):
                values.append(name)
                continue
            want = "dtype" if ctype == P_REAL else f"_{ctype.split()[0]}"
            values.append(f"(None if {name} is None else {name}.data_ptr() if {name}.dtype is {want} and "
                          f"{name}.is_contiguous() and {name}.is_cpu else _refuse({name!r}, {name}, {want}))")
        src = (f"def {self.name}(dtype, *, {', '.join(a for a, _ in self.args)}):\n"
               f"    fn = _fns.get(dtype) or _unbound(dtype)\n"
               f"    rc = fn({', '.join(values)})\n"
               f"    if rc and not _count:\n"
               f"        _failed(rc)\n"
               f"    return rc\n")
        scope = dict(_fns=self.fns, _count=self.name in COUNTS, _int64_t=torch.int64, _unsigned=torch.uint8,
                     _double=torch.float64, _refuse=self._refuse, _unbound=self._unbound, _failed=self._failed)
        exec(compile(src, f"<{self.name} binding: engine/native_abi.py>", "exec"), scope)
        return scope[self.name]

    def _refuse(self, name: str, v, want: torch.dtype):
        raise TypeError(f"{self.name}: {name} must be a contiguous CPU {want} tensor, got {v.dtype} "
                        f"{tuple(v.shape)} on {v.device}{'' if v.is_contiguous() else ', not contiguous'}")

    def _unbound(self, dtype: torch.dtype):
        raise NativeError(f"{self.what} is not loaded for {dtype} (hjexp.engine.native.library() loads it)")

    def _failed(self, rc: int):
        raise NativeError(f"{self.what} {MESSAGES.get(rc, f'failed (status {rc})')}")


PASS = Entry("hj_pass", ENTRIES["hj_pass"], "the C pass (engine/fused.c)")
ADAM = Entry("hj_adam", ENTRIES["hj_adam"], "the C parameter step (engine/param.c)")
PGD = Entry("hj_pgd", ENTRIES["hj_pgd"], "the C PGD step (engine/attack.c)")
ALL = (PASS, ADAM, PGD)
