"""influence, cost as an operation count: device-independent, the same on every machine and under any load.

Every call is traced on the ``meta`` device (shapes only, nothing is computed or allocated) under two
counters: torch.utils.flop_counter.FlopCounterMode for the matrix products (2·m·n·k per product) and a
TorchDispatchMode that adds the number of elements every other aten op writes (each written element is at
least one operation: an exp, a sum, a max, a masked fill; views and aliases write nothing and are skipped).
The sum is the count of operations per query; its growth with N is the cost exponent.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from hjexp.engine import closed as L

from .contract import Method
from .measure import by_autograd, closed_form, leave_one_out

MATMULS = ("aten.mm", "aten.bmm", "aten.addmm", "aten.baddbmm", "aten.matmul")


class ElementCounter(TorchDispatchMode):
    """Elements written by the aten ops run under it, matrix products and views excepted."""

    def __init__(self):
        super().__init__()
        self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = str(func)
        if not (func.is_view or "view" in name or "alias" in name or name.startswith(MATMULS)):
            self.elements += sum(o.numel() for o in tree_leaves(out) if isinstance(o, torch.Tensor))
        return out


def count(fn) -> tuple[int, int]:
    """(matrix-product FLOPs, other elements written) of one call of fn."""
    with FlopCounterMode(display=False) as flops, ElementCounter() as elems:
        fn()
    return int(flops.get_total_flops()), int(elems.elements)


def count_costs(p, dtype: torch.dtype) -> pd.DataFrame:
    """Operations per query against N, on the meta device, for the three methods the timings cover."""
    q = p.timing
    kw = dict(dtype=dtype, device="meta")
    eps = float(q.eps)
    rows = []
    for N in [2**k for k in range(q.log2_n_min, q.log2_n_max + 1)]:
        W, b, x = torch.empty(N, p.d, **kw), torch.empty(N, **kw), torch.empty(q.n_queries, p.d, **kw)
        methods = {Method.CLOSED_FORM: (lambda: closed_form(x, W[None], b[None], eps), q.n_queries),
                   Method.AUTOGRAD: (lambda: by_autograd(L.logits(x, W[None], b[None]), eps), q.n_queries)}
        if N <= 2**q.log2_n_max_brute:  # as timed: the brute force's Python loop over chunks grows like N²
            methods[Method.LEAVE_ONE_OUT] = (lambda: leave_one_out(L.logits(x[:1], W[None], b[None]), eps), 1)
        for name, (fn, per_call) in methods.items():
            mm, other = count(fn)
            rows.append(dict(method=name, N=N, matmul_flops=mm / per_call, other_elements=other / per_call,
                             ops_per_query=(mm + other) / per_call))
    return pd.DataFrame(rows)
