"""The torch pass, shaped for a GPU: sized from the device, lean in launches, no host sync in a step.

The torch pass (engine=torch, and engine.kernel's fallback: CUDA, no compiler) runs the fused
forward/backward of engine/kernel.py in torch ops; engine=compiled runs each chunk and Adam's update
through torch.compile instead (engine/compiled.py, ``_run_compiled``), with larger chunks on a CPU, and
engine=graphs replays each compiled chunk as a CUDA graph. On a GPU every op is a kernel launch (5–10 µs)
and every read of a device value a host–device sync that drains the queue, so a step here:

- takes its row chunk from the device (``TorchPlan``): on CUDA a memory budget (a quarter of the
  free memory for the [E_g, rows, N_g] logits and their exponentials), so a step is usually one
  chunk; on a CPU half the L2 cache, at most kernel.CHUNK_ELEMENTS (2^18 float32 numbers = 1 MiB
  here, the chunk the torch pass always had; 2^16 … 2^20 measured alike within the noise of a
  loaded 2-core machine, 2^22 twice as slow);
- merges adjacent widths into one masked group while the padded work this adds costs less than a
  group's fixed overhead (``TorchPlan.group_cost`` element-steps: launches on a GPU, ~40 ops of
  Python and dispatch on a CPU), so the authors' width sweep is one group on a GPU and five on a CPU;
- reads nothing: loss, finiteness and the convergence rule stay on the device (``train``), Adam's
  step count and bias corrections are device tensors (``Clock``), a non-finite parameter poisons its
  member's loss by arithmetic (0·x is NaN for x = ±inf or NaN), and the host reads which groups still
  run once every ``SYNC_EVERY`` steps (one sync per 62 groups).

Stopping semantics are those of engine.adam exactly: a member freezes at the step the rule (or a
non-finite loss) says, on the device, and stays frozen; the read only lets the loop skip groups
whose members have all stopped, up to SYNC_EVERY − 1 steps after the last one did.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from hjexp.engine import compiled

SYNC_EVERY = 50  # steps between the host's reads of which groups still run (the loop's only sync)
CPU_GROUP_COST = 1 << 17  # a group's fixed cost per step in element-steps on a CPU (~40 ops ≈ 0.2 ms)
GPU_GROUP_COST = 1 << 26  # ... on a GPU (~45 launches ≈ 0.3 ms ≈ 6e7 elements at ~2e11 element-steps/s)
GPU_MEMORY_SHARE = 0.25  # share of the free device memory a chunk's logits may take
GPU_MAX_CHUNK = 1 << 28  # elements: beyond this one chunk gains nothing
COMPILED_CPU_CHUNK = 1 << 20  # elements per compiled chunk on a CPU (measured in compiled.py's docstring)


@dataclass(frozen=True)
class TorchPlan:
    """How the torch pass cuts its work: ``chunk`` elements of [E_g, rows, N_g] per chunk, and
    ``group_cost``: padded element-steps worth one group less (see the module's docstring)."""

    chunk: int
    group_cost: int

    @staticmethod
    def for_device(device: torch.device | str, dtype: torch.dtype = torch.float32,
                   free_bytes: int | None = None, compiled: bool = False) -> TorchPlan:
        """The plan a device gets. ``free_bytes`` stands in for the free memory of a CUDA device
        (so a CPU can build, and tests can check, the plan a GPU would run). ``compiled``: the chunk of
        engine.compiled, whose call costs ~0.1 ms on a CPU (guards, wrapper), so its chunks are larger."""
        from hjexp.engine import kernel

        device = torch.device(device)
        size = torch.empty((), dtype=dtype).element_size()
        if device.type == "cpu" and compiled:
            return TorchPlan(max(1, min(COMPILED_CPU_CHUNK, kernel.CHUNK_ELEMENTS << 2)), CPU_GROUP_COST)
        if device.type == "cpu":  # half the L2, at most kernel.CHUNK_ELEMENTS (which tests lower for many chunks)
            return TorchPlan(max(1, min(kernel.CHUNK_ELEMENTS, _l2_bytes() // (2 * size))), CPU_GROUP_COST)
        if free_bytes is None:
            free_bytes = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 1 << 32
        # the logits z and one temporary of their size (amax/sum read z in place; exp is in place)
        chunk = int(GPU_MEMORY_SHARE * free_bytes / (2 * size))
        return TorchPlan(max(1 << 16, min(chunk, GPU_MAX_CHUNK)), GPU_GROUP_COST)


@cache
def _l2_bytes() -> int:
    """The L2 cache of CPU 0 (Linux sysfs), or 2 MiB where it cannot be read."""
    from hjexp.engine.kernel import CHUNK_ELEMENTS

    try:
        for idx in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
            if (idx / "level").read_text().strip() == "2" and (idx / "type").read_text().strip() != "Instruction":
                text = (idx / "size").read_text().strip().upper()
                scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1], 1)
                return int(text.rstrip("KM")) * scale
    except (OSError, ValueError):
        pass
    return CHUNK_ELEMENTS * 8


def merge_widths(width: Tensor, n: int, plan: TorchPlan) -> list[tuple[Tensor, int, bool]]:
    """Members of prefix-masked models grouped for the torch pass: (indices, width, masked) per group.
    Widths ascending; the next width joins the current group while the work padding adds
    (members × (new width − their width) × n rows) stays within the plan's group cost."""
    out: list[tuple[Tensor, int, bool]] = []
    cur: Tensor | None = None
    for w in torch.unique(width).tolist():
        if w <= 0:
            continue
        idx = torch.nonzero(width == w).flatten()
        if cur is not None:
            pad = int((w - width[cur]).sum()) * n
            if pad <= plan.group_cost:
                cur = torch.cat([cur, idx])
                out[-1] = (cur, int(w), True)
                continue
        cur = idx
        out.append((idx, int(w), False))
    return out


class Clock:
    """Adam's step count and bias corrections as device tensors, so a step reads nothing and a
    captured step replays with the right count."""

    def __init__(self, lr: float, betas: tuple[float, float], eps: float, device: torch.device,
                 fused: bool = False) -> None:
        self.lr, self.betas, self.eps, self.fused = lr, betas, eps, fused  # fused: engine.compiled's update
        dt = torch.float64 if device.type in ("cpu", "cuda") else torch.float32
        self.count = torch.zeros((), dtype=dt, device=device)
        self.lr_hat = torch.zeros((), dtype=dt, device=device)  # −lr / (1 − β1^k)
        self.root = torch.zeros((), dtype=dt, device=device)  # 1 / √(1 − β2^k)

    def tick(self) -> None:
        """Advance to the next step: k += 1 and its bias corrections."""
        b1, b2 = self.betas
        self.count.add_(1)
        torch.pow(b1, self.count, out=self.lr_hat).sub_(1).reciprocal_().mul_(self.lr)
        torch.pow(b2, self.count, out=self.root).neg_().add_(1).rsqrt_()

    def step_(self, p: Tensor, g: Tensor, m: Tensor, v: Tensor, live: Tensor | None) -> None:
        """torch.optim.Adam's update of p in place (m, v its moments); ``live`` [E] 0/1 freezes members."""
        update = compiled.compiled_version(adam_update_) if self.fused else adam_update_
        update(p, g, m, v, self.lr_hat, self.root, live, *self.betas, self.eps)

    def group_(self, gr, g_th: Tensor, g_c: Tensor | None, live: Tensor | None) -> None:
        self.step_(gr.theta, g_th, gr.m, gr.v, live)
        if g_c is not None:
            self.step_(gr.c, g_c, gr.mc, gr.vc, live)


def adam_update_(p: Tensor, g: Tensor, m: Tensor, v: Tensor, lr_hat: Tensor, root: Tensor, live: Tensor | None,
                 b1: float, b2: float, eps: float) -> None:
    """Clock.step_'s update in place: ``lr_hat`` = −lr/(1 − β1^k), ``root`` = 1/√(1 − β2^k) (Clock's tensors);
    eager, or compiled into one loop (engine=compiled)."""
    m.lerp_(g, 1 - b1)  # torch.optim.Adam's form of m ← β1·m + (1 − β1)·g
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = v.sqrt().mul_(root).add_(eps)
    rate = lr_hat if live is None else (live * lr_hat).view((-1,) + (1,) * (p.ndim - 1))
    p.addcdiv_(m * rate, denom)


def run(gr, thT: Tensor, mode: str, given: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """engine.kernel.Group.run's torch pass on ``thT`` = [W, b]ᵀ/ε [E_g, d+1, N_g] (after projection):
    (output, dL/d[W, b]ᵀ in the pass's coordinates or None, dL/dc or None); the output before the
    division by the weight norm and without poisoning (kernel.Group.run does both)."""
    E, n, rows = thT.shape[0], gr.xa.shape[-2], gr.rows
    eps = gr.eps[:, :, 0]  # [E_g, 1]
    c, grad, w = gr.c, mode == "grad", gr.w
    coef = gr.coef if c is None else eps * c[:, None]  # pred = coef·LSE(z) + offset
    if grad:  # q = fac·(weighted residual or given dL/dpred)/Σ exp: dL/dz = q·exp (the 1/ε and ε cancel)
        rn, srn = _two_over_norm(gr) if given is None else (1.0, gr.model.sign)
        fac = srn if c is None else c[:, None] if given is not None else c[:, None] * rn
    if gr.compiled and mode != "predict":
        return _run_compiled(gr, thT, grad, given, coef, fac if grad else None, eps)
    out = torch.empty(E, n, dtype=thT.dtype, device=thT.device) if mode == "predict" and rows < n else None
    g_thT = g_c = None
    for s in range(0, n, rows):
        sl, first = slice(s, min(n, s + rows)), s == 0
        xa = gr.xa[..., sl, :]
        z = torch.matmul(xa, thT)  # [E_g, rows, N_g] = z/ε
        mx = z.amax(-1, keepdim=True)  # [E_g, rows, 1]
        # clamp before exp: this torch's vectorised exp is ~15x slower on inputs below ≈ −87 (see kernel.py)
        z.sub_(mx).clamp_min_(-80.0).exp_()  # unnormalised Gibbs weights, in place
        if gr.keep is not None:
            z.mul_(gr.keep)  # absent neurons: exactly zero weight and gradient
        tot = z.sum(-1)  # [E_g, rows]
        lse = tot.log().add_(mx.squeeze(-1))  # LSE of z/ε: f = ε·lse
        if mode == "predict":
            if out is None:
                out = lse * coef if gr.off is None else torch.addcmul(gr.off, lse, coef)
            elif gr.off is None:
                torch.mul(lse, coef, out=out[:, sl])
            else:
                torch.addcmul(gr.off[:, sl], lse, coef, out=out[:, sl])
            continue
        if given is not None:
            r = given[:, sl] if w is None else given[:, sl] * w[:, sl]
        else:
            res = torch.addcmul(gr.base[:, sl], lse, coef)  # pred − target
            r = res if w is None else res * w[:, sl]
            part = (r * res).sum(-1)
            out = part if out is None else out.add_(part)
            if not grad:
                continue
        if c is not None:  # dL/dc = Σ_i dL/dpred_i · f_i
            part = ((r if given is not None else r * rn) * lse).sum(-1)
            g_c = part if g_c is None else g_c.add_(part)
        q = r / tot if isinstance(fac, float) and fac == 1.0 else (r * fac).div_(tot)
        xq = xa * q.unsqueeze(-1)  # [E_g, rows, d+1]
        # Σ_i q_i e_ij [x_i, 1] -> dL/d[W, b]ᵀ as xqᵀ·z: streams z by rows
        g_thT = torch.bmm(xq.transpose(1, 2), z) if first else g_thT.baddbmm_(xq.transpose(1, 2), z)
    if out is None:  # given: no loss
        out = torch.zeros(E, dtype=thT.dtype, device=thT.device)
    if g_c is not None:
        g_c = g_c * eps[:, 0]
    return out, g_thT, g_c


def _run_compiled(gr, thT: Tensor, grad: bool, given: Tensor | None, coef: Tensor, fac, eps: Tensor):
    """``run``'s loss and gradient modes on engine.compiled's chunk (one generated program per chunk)."""
    E, n, rows, c = thT.shape[0], gr.xa.shape[-2], gr.rows, gr.c
    kw = dict(dtype=thT.dtype, device=thT.device)
    if grad and not isinstance(fac, Tensor):  # the compiled chunk takes tensors only (no float guards)
        fac = torch.full((E, 1), float(fac), **kw)
    cfac = None
    if grad and c is not None:
        cfac = torch.ones((E, 1), **kw) if given is not None else _two_over_norm(gr)[0]
    chunk = compiled.compiled_version(compiled.chunk, gr.compile_mode)
    # a CUDA graph's outputs are its memory, overwritten by a later replay: the sums start from copies
    first = torch.clone if gr.compile_mode is not None else (lambda t: t)
    out = g_thT = g_c = None
    for s in range(0, n, rows):
        sl = slice(s, min(n, s + rows))
        part, pc, pg = chunk(gr.xa[..., sl, :], thT, gr.keep, None if given is not None else gr.base[:, sl],
                             None if given is None else given[:, sl], None if gr.w is None else gr.w[:, sl],
                             coef, fac, cfac)
        if part is not None:
            out = first(part) if out is None else out.add_(part)
        if pc is not None:
            g_c = first(pc) if g_c is None else g_c.add_(pc)
        if pg is not None:
            g_thT = first(pg) if g_thT is None else g_thT.add_(pg)
    if out is None:  # given: no loss
        out = torch.zeros(E, **kw)
    if g_c is not None:
        g_c = g_c * eps[:, 0]
    return out, g_thT, g_c


def _two_over_norm(gr) -> tuple[Tensor, Tensor]:
    """(2/norm, sign·2/norm) [E_g, 1], computed again only when the group's norm tensor changes."""
    if gr.rn_cache is None or gr.rn_cache[0] is not gr.norm:
        rn = (2 / gr.norm)[:, None]
        gr.rn_cache = (gr.norm, rn, rn if gr.model.sign == 1 else gr.model.sign * rn)
    return gr.rn_cache[1], gr.rn_cache[2]


def poison(gr, thT: Tensor) -> Tensor:
    """[E_g]: 0 for members whose present parameters (and readout) are finite, NaN otherwise —
    without a read (0·x = NaN for x = ±inf or NaN). Added to a member's output, it makes a diverged
    member's loss NaN, as the C pass's explicit check does."""
    zero = thT * 0
    if gr.keep is not None:
        zero.masked_fill_(gr.absent, 0.0)  # absent neurons may hold anything
    out = zero.sum((1, 2))
    return out if gr.c is None else out + gr.c * 0


def alive(live: list[Tensor]) -> list[bool]:
    """Which groups still have a running member: one read (a host sync) per 62 groups."""
    flags = torch.stack([v.amax() for v in live]) > 0
    out: list[bool] = []
    for part in flags.split(62):
        word = int((part.long() << torch.arange(len(part), device=part.device)).sum())
        out += [bool(word >> j & 1) for j in range(len(part))]
    return out


def train(grs, E: int, x: Tensor, *, lr: float, max_steps: int, rel_tol: float, check_every: int, progress,
          batch_size: int | None, generator, betas: tuple[float, float], adam_eps: float):
    """engine.adam.train's loop for torch-pass groups, with no host sync but the read every SYNC_EVERY
    steps. Returns (steps [E] long, converged [E] bool, diverged [E] bool)."""
    dev, n = x.device, x.shape[-2]
    batched = batch_size is not None and batch_size < n
    clock = Clock(lr, betas, adam_eps, dev, fused=bool(grs) and grs[0].compiled)
    live = [torch.ones(len(gr.idx), dtype=x.dtype, device=dev) for gr in grs]  # [E_g] 0/1
    taken = [torch.zeros_like(v) for v in live]  # Adam steps applied per member
    conv = [torch.zeros_like(v) for v in live]
    div = [torch.zeros_like(v) for v in live]
    last: list[Tensor | None] = [None] * len(grs)  # loss at the previous check  [E_g]
    running = [True] * len(grs)
    checking = rel_tol > 0
    for step in range(1, max_steps + 1):
        rows = torch.randint(n, (batch_size,), generator=generator, device=dev) if batched else None
        clock.tick()
        done = step - 1  # the loss below is after done updates
        for i, gr in enumerate(grs):
            if not running[i]:
                continue
            loss, g_th, g_c = gr.run("grad") if rows is None else gr.run_rows("grad", rows)
            # a non-finite loss freezes its member and flags it (0·loss is NaN exactly then)
            div[i].add_(live[i])
            live[i].mul_(loss.mul(0).eq_(0))
            div[i].sub_(live[i])
            if checking and done % check_every == 0:
                if last[i] is not None:
                    stop = (last[i] - loss).abs_() < rel_tol * last[i]
                    conv[i].addcmul_(live[i], stop)
                    live[i].masked_fill_(stop, 0.0)
                last[i] = loss
            taken[i].add_(live[i])
            clock.group_(gr, g_th, g_c, live[i])
        if step % SYNC_EVERY == 0 and step < max_steps:
            running = alive(live)
        if progress is not None:
            progress(1)
        if not any(running):
            if progress is not None:
                progress(max_steps - step)  # the bar ends at its total
            break
    steps = torch.full((E,), max_steps, dtype=torch.long, device=dev)
    converged = torch.zeros(E, dtype=torch.bool, device=dev)
    diverged = torch.zeros(E, dtype=torch.bool, device=dev)
    for i, gr in enumerate(grs):
        steps[gr.idx] = taken[i].round().long()
        converged[gr.idx] = conv[i] > 0
        diverged[gr.idx] = div[i] > 0
    return steps, converged, diverged


__all__ = ["TorchPlan", "merge_widths", "Clock", "run", "poison", "alive", "train", "SYNC_EVERY"]
