"""Random draws on the CPU generator, whatever the run's device.

CPU and CUDA generators draw different numbers from the same seed, so a GPU run seeded like a CPU run
would train on other data. Every run's generators are therefore CPU generators (``RunContext.generator``),
and on another device ``CpuDraws`` — active while measure runs — turns each draw that names a CPU
generator and a device tensor into the same draw on the CPU, moved to the device. The numbers a run
draws are then the same bytes on every device (tests/test_draws.py). On the CPU the mode is not
entered: there is nothing to translate and no per-op cost.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

CPU = torch.device("cpu")


def _tensors_to(value, device: torch.device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_tensors_to(v, device) for v in value)
    return value


def _off_cpu(value) -> torch.device | None:
    """The first non-CPU device among the tensors in ``value``."""
    if isinstance(value, torch.Tensor):
        return None if value.device.type == "cpu" else value.device
    if isinstance(value, (list, tuple)):
        for v in value:
            found = _off_cpu(v)
            if found is not None:
                return found
    return None


class CpuDraws(TorchFunctionMode):
    """Runs every draw that uses a CPU generator on the CPU and moves its result where it was asked for.

    Factories (``torch.randn(..., generator=g, device=cuda)``) draw on the CPU and move; functions of
    device tensors (``torch.multinomial(p_cuda, generator=g)``) take CPU copies; in-place draws
    (``w_cuda.normal_(generator=g)``) fill a CPU twin and copy it in. ``record``: a list that gets every
    CPU draw (for tests)."""

    def __init__(self, record: list[torch.Tensor] | None = None):
        super().__init__()
        self.record = record

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        gen = kwargs.get("generator")
        if not isinstance(gen, torch.Generator) or gen.device.type != "cpu":
            return func(*args, **kwargs)
        asked = kwargs.get("device")
        name = getattr(func, "__name__", "")
        if name.endswith("_") and args and isinstance(args[0], torch.Tensor):  # in place: Tensor.normal_ & co.
            target = args[0]
            if target.device.type == "cpu":
                return self._keep(func(*args, **kwargs))
            twin = torch.empty(target.shape, dtype=target.dtype, device=CPU)
            func(twin, *_tensors_to(args[1:], CPU), **kwargs)
            self._keep(twin)
            return target.copy_(twin)
        device = torch.device(asked) if asked is not None else _off_cpu(args) or _off_cpu(list(kwargs.values()))
        if device is None or device.type == "cpu":
            return self._keep(func(*args, **kwargs))
        moved = {k: _tensors_to(v, CPU) for k, v in kwargs.items()}
        if asked is not None:
            moved["device"] = CPU
        return _tensors_to(self._keep(func(*_tensors_to(args, CPU), **moved)), device)

    def _keep(self, out):
        if self.record is not None and isinstance(out, torch.Tensor):
            self.record.append(out.detach().clone())
        return out
