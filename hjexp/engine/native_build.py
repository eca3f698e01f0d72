"""Build, cache and load the C kernels' shared library (fused.c, param.c, attack.c; engine/native.py binds it).

Compiled once per machine type with the system C compiler (gcc -O3 -march=native -ffast-math -fopenmp;
GCC vector extensions, x86-64 only: the kernels set the SSE control register) into
$HJEXP_CACHE/native, else $XDG_CACHE_HOME/hjexp/native, else ~/.cache/hjexp/native (the data cache's
rule, hjexp/data/images.cache_dir). The file name carries a key of everything that changes the
machine code: the sources, flags, the compiler's version line, the CPU that -march=native resolves to,
and the CPU's model and flags (from /proc/cpuinfo; where that cannot be read, from what the compiler
enables for -march=native, the processor name and uname — never the architecture name alone, which
would hand one node type's AVX-512 library to another without it).

Concurrent builders (a SLURM array starting on many nodes that share a home directory) take an
exclusive flock on the key's lock file: the first compiles, the others wait and load its library,
so each node type compiles once. A cached library that fails to load (truncated, from another
libc) is rebuilt once.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
SOURCES = [HERE / "fused.c", HERE / "param.c", HERE / "attack.c"]  # the engine's pass and parameter step; the eps-robustness PGD step
HEADERS = sorted(HERE.glob("*.h"))  # every header the sources may include
FLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-ffast-math", "-fopenmp", "-fPIC"]
# torch dtype name -> (symbol suffix, the precision's defines)
PRECISIONS = {"float32": ("f32", "-DREAL=float -DIREAL=int32_t -DBIAS=127 -DMANT=23 -DDOUBLE=0 -DLOG=logf -DSQRT=sqrtf"),
              "float64": ("f64", "-DREAL=double -DIREAL=int64_t -DBIAS=1023 -DMANT=52 -DDOUBLE=1 -DLOG=log -DSQRT=sqrt")}
CPUINFO = Path("/proc/cpuinfo")
MACHINES = ("x86_64", "AMD64")


class BuildError(Exception):
    """The compiler failed; the message is its first error line."""


def cache_dir() -> Path:
    from hjexp.data.images import cache_dir as root  # one rule for every cache of the tool

    return root() / "native"


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")


def _output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


@functools.cache
def compiler_version(cc: str) -> str:
    lines = _output([cc, "--version"]).strip().splitlines()
    return lines[0] if lines else "unknown"


@functools.cache
def target_options(cc: str) -> str:
    """What the compiler turns -march=native into (GCC: every target option and whether it is on)."""
    return _output([cc, "-march=native", "-Q", "--help=target"])


def march(cc: str) -> str:
    """The CPU name -march=native resolves to (GCC's `-march=  rocketlake`), or 'native' where not told."""
    for line in target_options(cc).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "-march=":
            return parts[1]
    return "native"


def _cpuinfo(*fields: str) -> list[str]:
    try:
        return [ln for ln in CPUINFO.read_text().splitlines() if ln.startswith(fields)]
    except OSError:
        return []


def cpu_model() -> str:
    lines = _cpuinfo("model name")
    return lines[0].split(":", 1)[1].strip() if lines else (platform.processor() or platform.machine() or "unknown")


def cpu_id(cc: str) -> str:
    """The CPU as far as the machine code depends on it."""
    lines = sorted(set(_cpuinfo("model name", "flags")))
    if not lines:  # no /proc/cpuinfo: what -march=native enables here, and the processor's own name
        lines = [target_options(cc), platform.processor(), " ".join(platform.uname())]
    return platform.machine() + "".join(lines)


def cache_key(cc: str) -> str:
    text = ("".join(f.read_text() for f in SOURCES + HEADERS) + " ".join(FLAGS) + str(PRECISIONS)
            + compiler_version(cc) + march(cc) + cpu_id(cc))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def library_path(cc: str) -> Path:
    return cache_dir() / f"hjfused-{cache_key(cc)}.so"


def _first_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "no message")


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise BuildError(_first_error(done.stderr))


def compile_library(cc: str, out: Path) -> None:
    """Each source once per precision (its symbols suffixed _f32/_f64), linked into ``out``."""
    objs = []
    for suffix, defines in PRECISIONS.values():
        for source in SOURCES:
            obj = out.parent / f"{source.stem}-{suffix}.o"
            _run([cc, *FLAGS, f"-DSUFFIX={suffix}", *defines.split(), "-c", str(source), "-o", str(obj)])
            objs.append(str(obj))
    _run([cc, "-shared", "-fopenmp", *objs, "-o", str(out), "-lm"])


def _locked_build(cc: str, out: Path, stale: os.stat_result | None = None) -> Path:
    """Build ``out`` unless it exists, under the key's lock. ``stale``: the stat of a file that
    failed to load — removed and rebuilt, unless another process has replaced it meanwhile."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if stale is not None:
            try:
                now = out.stat()
                if (now.st_ino, now.st_mtime_ns) == (stale.st_ino, stale.st_mtime_ns):
                    out.unlink()
            except FileNotFoundError:
                pass
        if not out.exists():  # another process may have built it while this one waited
            with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
                so = Path(tmp) / "lib.so"
                compile_library(cc, so)
                os.replace(so, out)  # atomic: a reader never sees a half-written library
    return out


def load(cc: str) -> tuple[ctypes.CDLL, Path]:
    """The library for this machine, built if needed; one rebuild when the cached file fails to load.
    Raises BuildError, or OSError when even a fresh build cannot be loaded."""
    out = library_path(cc)
    if not out.exists():
        _locked_build(cc, out)
    try:
        return ctypes.CDLL(str(out)), out
    except OSError:
        stale = out.stat() if out.exists() else None
    _locked_build(cc, out, stale)
    return ctypes.CDLL(str(out)), out


def unsupported_platform() -> str | None:
    """Why this platform cannot run the kernels, or None."""
    if platform.system() != "Linux" or platform.machine() not in MACHINES:
        return "not Linux x86-64"
    return None
