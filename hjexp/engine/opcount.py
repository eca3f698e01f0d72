"""Count what one step of the torch pass dispatches: launched ops and host–device syncs.

A ``TorchDispatchMode`` sees every aten op below autograd, on any device, so the count taken on a
CPU is the count a GPU would launch (the CPU runs the same Python and the same ops; only the kernels
differ). Two tallies per step:

- *launches*: ops that run a kernel on the device. View and metadata ops (``transpose``, ``expand``,
  ``view``, ``slice`` …: aliases of their input) and bare allocations (``empty``) launch nothing and
  are not counted; every other op is, as one kernel (a few CUDA ops launch two, e.g. a matmul that
  needs a copy, so this is a floor of the GPU's count to within a few per step).
- *host syncs*: ops whose result the host must wait for — reading a value (``_local_scalar_dense``,
  which ``item``, ``int``, ``float``, ``bool``/``is_nonzero`` and ``tolist`` of a device tensor go
  through) and ops whose output size depends on the data (``nonzero``, ``masked_select``, indexing
  with a boolean mask, ``unique``, ``bincount``, ``repeat_interleave`` without a size …), and copies from
  a device to the host (seen only where the tensors are on a device: ``tolist`` of a CPU tensor
  dispatches nothing, which is why engine.torch_pass reads through ``int``).

``Recorder`` splits its tally into steps at each ``mark()`` (the trainers' per-step progress
callback), so one steady-state step can be picked out of a run.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
_FREE = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "lift_fresh", "detach",
         "alias", "view", "_unsafe_view", "_reshape_alias", "as_strided", "t", "transpose", "permute", "expand",
         "unsqueeze", "squeeze", "slice", "select", "split", "split_with_sizes", "unbind", "chunk", "narrow",
         "diagonal", "unfold", "view_as_real", "view_as_complex", "sym_size", "sym_stride", "sym_numel",
         "sym_storage_offset", "is_same_size", "dim", "size", "stride", "numel", "is_contiguous", "set_", "resize_",
         "record_stream"}
_SYNC = {"_local_scalar_dense", "item", "is_nonzero", "nonzero", "masked_select", "unique", "_unique", "_unique2",
         "unique_consecutive", "unique_dim", "bincount", "repeat_interleave", "equal", "allclose", "argwhere"}


def _name(func) -> str:
    return func.overloadpacket.__name__


def _is_view(func) -> bool:
    return _name(func) in _FREE or bool(getattr(func, "is_view", False))


def _bool_index(func, args) -> bool:
    """index / index_put_ with a boolean mask (its size depends on how many are True)."""
    if _name(func) not in ("index", "index_put", "index_put_", "_index_put_impl", "_index_put_impl_"):
        return False
    idx = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in idx or ())


def _to_host(func, args, kwargs) -> bool:
    """A copy from a device to the CPU (``.cpu()``, ``.tolist()`` of a GPU tensor): the host waits."""
    name = _name(func)
    if name == "_to_copy" and args and isinstance(args[0], torch.Tensor):
        dst = kwargs.get("device")
        return args[0].device.type != "cpu" and dst is not None and torch.device(dst).type == "cpu"
    if name == "copy_" and len(args) > 1 and isinstance(args[1], torch.Tensor):
        return args[0].device.type == "cpu" and args[1].device.type != "cpu"
    return False


def _repeat_sized(func, args, kwargs) -> bool:
    return _name(func) == "repeat_interleave" and kwargs.get("output_size") is not None


class Recorder(TorchDispatchMode):
    """``with Recorder() as rec: ...``; ``rec.mark()`` closes a step; ``rec.steps`` holds per step a
    dict(launches=, syncs=, ops=Counter of launched op names, sync_ops=Counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[dict] = []
        self._new()

    def _new(self) -> None:
        self.cur = dict(launches=0, syncs=0, ops=Counter(), sync_ops=Counter())

    def mark(self, *_args) -> None:
        self.steps.append(self.cur)
        self._new()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _name(func)
        if (name in _SYNC and not _repeat_sized(func, args, kwargs)) or _bool_index(func, args) \
                or _to_host(func, args, kwargs):
            self.cur["syncs"] += 1
            self.cur["sync_ops"][name] += 1
        if not _is_view(func):
            self.cur["launches"] += 1
            self.cur["ops"][name] += 1
        return func(*args, **kwargs)


def steady(rec: Recorder, skip: int = 1) -> dict:
    """The most common (launches, syncs) among the recorded steps after the first ``skip``: the
    steady-state step (a convergence check or a periodic read adds to the steps it falls on)."""
    steps = rec.steps[skip:] or rec.steps
    key = Counter((s["launches"], s["syncs"]) for s in steps).most_common(1)[0][0]
    return next(s for s in steps if (s["launches"], s["syncs"]) == key)
