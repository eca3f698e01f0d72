"""Which pass the engine runs, chosen once per run and recorded.

The run key ``engine=auto|c|torch|compiled|graphs`` is resolved once (``resolve``) into a ``Backend`` — the pass's name,
what was asked for and why this pass was chosen — which the runner hands to the experiment as
``ctx.engine`` and makes the active backend while ``measure(ctx)`` runs (``use``). ``engine.train``,
``predict``, ``loss``, classifier training and PGD take the active backend's pass; nothing flips a module
global. Outside a run (a script, a test) the active backend is ``auto``'s, resolved on first use.

- ``c``: the C pass (engine/native.py) wherever it applies — CPU, float32/float64, d + 1 ≤ 72; the torch
  pass serves the rest (wider inputs, other dtypes). A machine where the kernel cannot build stops the
  run with one line.
- ``torch``: the torch pass everywhere (the GPU's pass; on a CPU, the reference the C pass is tested on).
- ``compiled``: the torch pass with each chunk and Adam's update compiled by torch.compile
  (engine/compiled.py): C++ on a CPU, Triton on a GPU; the first step of each shape variant compiles.
- ``graphs``: ``compiled`` with each chunk's kernels recorded once as a CUDA graph and replayed
  (torch.compile's mode="reduce-overhead"); CUDA only. The two ways of capturing the step the issue
  left open, side by side for gpu-check to measure; neither has run on a GPU yet.
- ``auto``: ``c`` on a CPU where the kernel builds, ``torch`` otherwise (CUDA, no compiler, a build error);
  the choice and its reason are printed and logged.

meta.json records the backend, the kernel's cache key, compiler and ``-march``, the CPU model, the torch
version and, on CUDA, the device's name and capability; ``--skip-done`` reuses a run only when these match.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch

from hjexp.engine import compiled, native
from hjexp.errors import UserError


class Engine(Enum):
    """The run key ``engine``."""

    auto = 0
    c = 1
    torch = 2
    compiled = 3
    graphs = 4


@dataclass(frozen=True)
class Backend:
    """A resolved engine choice: ``name`` is the pass ("c", "torch", "compiled" or "graphs"), ``requested`` the run key's value,
    ``reason`` why this pass."""

    name: str
    requested: str
    reason: str

    @property
    def c(self) -> bool:
        return self.name == "c"

    @property
    def compiled(self) -> bool:
        """The torch pass with its chunk and Adam update compiled (engine/compiled.py), graphs or not."""
        return self.name in ("compiled", "graphs")

    @property
    def compile_mode(self) -> str | None:
        """torch.compile's mode for the chunk: "reduce-overhead" (CUDA graphs) for engine=graphs."""
        return "reduce-overhead" if self.name == "graphs" else None

    def describe(self) -> str:
        return f"engine={self.requested} -> the {self.name} pass ({self.reason})"

    def record(self, device: torch.device) -> dict:
        """What meta.json keeps of the backend and the machine it ran on (and --skip-done compares)."""
        out = {"backend": self.name, "requested": self.requested, "reason": self.reason,
               "cpu_model": cpu_model(), "torch": torch.__version__}
        if self.c:
            out["kernel"] = native.build_info()
        if device.type == "cuda":
            index = device.index if device.index is not None else torch.cuda.current_device()
            out["cuda_device"] = torch.cuda.get_device_name(index)
            out["cuda_capability"] = ".".join(map(str, torch.cuda.get_device_capability(index)))
        return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def resolve(requested: str | Engine, device: torch.device | str = "cpu") -> Backend:
    """The backend ``engine=requested`` gives on ``device``; ``engine=c`` that cannot be honoured is a UserError."""
    requested = requested.name if isinstance(requested, Engine) else str(requested)
    if requested not in Engine.__members__:
        raise UserError(f"engine={requested} is not valid; choose one of: {', '.join(Engine.__members__)}")
    device = torch.device(device)
    if requested == "torch":
        return Backend("torch", requested, "asked for")
    if requested == "compiled":
        ok, why = compiled.available(device)
        if not ok:
            raise UserError(f"engine=compiled cannot run here: {why}; use engine=torch or engine=auto")
        return Backend("compiled", requested, why)
    if requested == "graphs":
        ok, why = compiled.available(device)
        if device.type != "cuda" or not ok:
            raise UserError(f"engine=graphs replays CUDA graphs and needs a CUDA device with Triton "
                            f"({why if device.type == 'cuda' else f'device={device.type}'}); use engine=compiled")
        return Backend("graphs", requested, f"{why}, replayed as CUDA graphs")
    if device.type != "cpu":
        if requested == "c":
            raise UserError(f"engine=c runs on the CPU only, but device={device.type}; use engine=torch or device=cpu")
        return Backend("torch", requested, f"{device.type} device: the C pass is CPU-only")
    ok, why = native.availability()
    if ok:
        return Backend("c", requested, "asked for" if requested == "c" else "CPU and the C kernel built")
    if requested == "c":
        raise UserError(f"engine=c: the C kernel cannot be used here ({why}); use engine=torch or engine=auto")
    return Backend("torch", requested, why)


_ACTIVE: ContextVar[Backend | None] = ContextVar("hjexp_backend", default=None)
_DEFAULT: dict[str, Backend] = {}


def active() -> Backend:
    """The backend of the current run (``use``), else ``auto``'s on the CPU, resolved once per process."""
    chosen = _ACTIVE.get()
    if chosen is not None:
        return chosen
    if "auto" not in _DEFAULT:
        _DEFAULT["auto"] = resolve("auto", "cpu")
    return _DEFAULT["auto"]


@contextmanager
def use(backend: Backend | str) -> Iterator[Backend]:
    """Make ``backend`` (or ``resolve(name)``) the active one inside the block."""
    chosen = resolve(backend) if isinstance(backend, str) else backend
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)
