"""The fused forward/backward of the engine: loss, closed-form gradient and prediction in one pass.

Why: autograd keeps the [E, n, N] logits, their exponentials and several temporaries alive per
step and computes the exponentials twice. Through ε·LSE the gradient is closed-form,

    dL/dz_ij = r_i · π_ij,   r_i = dL/df_i,   π = softmax(z/ε),

so one pass computes logits, one exp per element, the loss and the gradient. Prediction is the
same pass without the gradient. Both model forms enter through their hooks (engine.models):
packed θ, θ -> [W, b]/ε, the pull-back of gradients and pred = scale·f + offset(x).

Two implementations of the one pass: the C pass (fused.c via engine/native.py: CPU, d + 1 ≤ 72,
float32/float64; rows in SIMD lanes, nothing of size [E, n, N]; Z-ordered rows and per-block
culling of far atoms, see engine/order.py) and the torch pass (any device or d: row chunks sized by
the device, exp in place, no host sync; engine/torch_pass.py). They agree to roundoff (tests/test_fast_train.py, tests/test_culling.py).

Members whose neuron masks are prefixes form compact groups ([E_g, N_g, d+1]): one per width on
the torch pass (adjacent widths merged into a masked group where that pays on the device), one per width bucket (2^(k−1), 2^k] on the C pass (each member there loops over
its own width; cheap buckets merge, see _merged_buckets), so narrow members cost their own width, not the widest; other masks fall back to
a finite −1e30 bias (no −inf inside a matmul) and an exact zero after the exp.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hjexp.engine import backend, native, order, torch_pass
from hjexp.engine.models import Model

CHUNK_ELEMENTS = 1 << 18  # [E_g, rows, N_g] elements per chunk (1 MiB in float32): stays in L2
MASKED = -1e30  # bias of an absent neuron (general masks); zeroed again after exp
EXP_FLOOR = -80.0  # exp(z − max) is taken of max(z − max, −80), see Group.run
CULL = True  # the C pass sorts rows and skips far atoms per block (fused.c); False: every atom, every row
CULL_PAYS = 0.4  # culling continues while it keeps at most this fraction of the neurons ...
RECHECK_CULL = 50  # ... else it is tried again every this many passes
PROJECT = True  # rows in a lower-dimensional affine subspace run in its coordinates (Group._project_rows)
PROJECT_MIN_D = 8  # ... tried from this many input columns on
NATIVE_MAX_K = native.MAX_K  # d + 1 up to which the C pass runs (it beats the torch pass up to D = 64 measured)
MODES = {"predict": 0, "loss": 1, "grad": 2}
GIVEN_MODE = 3  # fused.c's gradient with dL/dpred given per row (Group.run's ``given``)
PAD_SHARE = 1 / 64  # width buckets merge while padded parameter work is at most this share of the pass


class Group:
    """Members of one compact width: packed parameters, Adam state and views of their data."""

    def __init__(self, model: Model, idx: Tensor, width: int, x: Tensor, target: Tensor | None,
                 weight: Tensor | None, general_mask: bool, use_c: bool = False, order_rows: bool = True,
                 plan: torch_pass.TorchPlan | None = None) -> None:
        self.model, self.idx, self.t, self.use_c = model, idx, float(model.t), use_c
        self.compiled = not use_c and backend.active().compiled  # the torch pass on engine.compiled's chunk
        self.compile_mode = backend.active().compile_mode if self.compiled else None  # CUDA graphs or not
        # C pass with prefix masks: one group, each member loops over its own first widths[e] neurons
        self.widths = None
        if use_c and model.neuron_mask is not None and not general_mask:
            self.widths = model.neuron_mask[idx, :width].sum(-1).to(torch.int64).cpu().contiguous()  # [E_g]
        self.theta = model.packed()[idx, :width].contiguous()  # [E_g, N_g, d+1]
        c = model.readout()
        self.c = None if c is None else c.detach()[idx].clone()  # [E_g]
        self.eps = model.eps.detach()[idx].reshape(-1, 1, 1)  # [E_g, 1, 1]
        E, n = len(idx), x.shape[-2]
        self.n_in = n  # the caller's rows (run_rows indexes them)
        self.x = x if x.ndim == 2 else x[idx]  # [n, d] or [E_g, n, d]
        self.xa = torch.cat([self.x, torch.ones_like(self.x[..., :1])], -1)  # [.., n, d+1]: bias column
        off = model.offset(self.x)
        self.off = None if off is None else off.expand(E, n) if off.ndim == 1 else off  # [E_g, n]
        self.target = None if target is None else (
            target.expand(model.size, n)[idx] if target.ndim == 1 else target[idx])  # [E_g, n]
        self.w = None if weight is None else weight[idx]  # [E_g, n]
        self.norm = (torch.full((E,), float(n), dtype=x.dtype, device=x.device) if weight is None
                     else self.w.sum(-1).clamp_min(1e-30))  # [E_g]
        if self.w is not None:
            # Rows no member of this group weighs (beyond the group's own n in a sample-size sweep)
            # add nothing to loss or gradient: drop the trailing ones instead of computing them.
            live = torch.nonzero((self.w != 0).any(0)).flatten()
            k = int(live[-1]) + 1 if len(live) else 1
            self.xa, self.target, self.w = self.xa[..., :k, :], self.target[:, :k], self.w[:, :k]
            self.off = None if self.off is None else self.off[:, :k]
        self.bias_mask = self.keep = None
        if general_mask and model.neuron_mask is not None:
            m = model.neuron_mask[idx, :width]
            self.bias_mask = torch.zeros(m.shape, dtype=x.dtype, device=x.device).masked_fill_(~m, MASKED)
            self.keep = m.to(x.dtype).unsqueeze(1)  # [E_g, 1, N_g]
        self.perm = None  # row order of the C pass (Z-order), undone on predictions
        self.cull_pays = torch.ones(len(idx), dtype=torch.bool, device=x.device)  # per member: culling paid last time
        self.calls = 0
        self.kept = 1.0  # mean fraction of neurons the last culled pass kept (members that culled)
        # each row's logit maximum, kept between passes of the C pass for its one-sweep path
        # (fused.c); any start is valid, since the pass checks every value it uses
        self.row_max: Tensor | None = None
        self.batch = False  # inside run_rows: no row order, no row maxima
        self.proj: tuple[Tensor, Tensor] | None = None  # (Q [B, D, r], x0 [B, 1, D]) of _project_rows
        if PROJECT and self.xa.shape[-1] - 1 >= PROJECT_MIN_D:
            self._project_rows()
        if use_c and CULL and order_rows:
            self._sort_rows()
        self.xa = self.xa.contiguous()  # every step reads these: one contiguous copy now
        self.off = None if self.off is None else self.off.contiguous()
        self.target = None if self.target is None else self.target.contiguous()
        self.w = None if self.w is None else self.w.contiguous()
        chunk = CHUNK_ELEMENTS if use_c else (plan or torch_pass.TorchPlan.for_device(
            x.device, x.dtype, compiled=self.compiled)).chunk
        self.rows = max(1, chunk // max(1, E * width))
        # the parameter step in C (engine/param.c) where the pass is C's: θ and Adam's moments then
        # live as [E_g, d+1, N_g] (θ below is a view), the next pass's network is written by the
        # step (self.thT, before any projection), with its non-finite flags (self.bad)
        self.fused_adam = use_c and model.native_form is not None
        if self.fused_adam or not use_c:  # [E_g, d+1, N_g] storage: the network [W, b]ᵀ/ε needs no copy
            self.theta = self.theta.transpose(1, 2).contiguous().transpose(1, 2)
        self.m, self.v = torch.zeros_like(self.theta), torch.zeros_like(self.theta)  # Adam moments, θ's layout
        self.thT: Tensor | None = None
        self.bad: Tensor | None = None  # [E_g] uint8
        self.nbad = 0
        if self.c is not None:
            self.mc, self.vc = torch.zeros_like(self.c), torch.zeros_like(self.c)
        # the torch pass's constants: offset − target, ε·sign, absent neurons, 2/norm (torch_pass)
        self.base = None
        if not use_c and self.target is not None:
            self.base = (-self.target if self.off is None else self.off - self.target).contiguous()
        self.coef = model.sign * self.eps[:, :, 0]  # [E_g, 1]
        self.absent = None if self.keep is None else self.keep == 0
        self.rn_cache: tuple | None = None
        self.batch_norm: dict[int, Tensor] = {}

    def _project_rows(self) -> None:
        """Data on a manifold in R^D often span an affine subspace of few dimensions (exactly, for a
        linear embedding): x = x0 + Q z with Q [D, r] orthonormal. Then w·x + b = (Qᵀw)·z + (b + w·x0),
        so the pass runs on [z, 1] (r + 1 columns instead of D + 1) with the network mapped each
        step (a [r, D]·[D, N] product) and its gradient mapped back (dL/dw = Q dL/d(Qᵀw) + x0 dL/db).
        Directions are dropped only where the rows' spread is at the roundoff of their dtype
        (singular value ≤ 16·machine ε of the largest), below the rounding of the logits themselves."""
        x = self.xa[..., :-1]
        X = x if x.ndim == 3 else x[None]  # [B, n, D]
        x0 = X.mean(-2, keepdim=True)  # [B, 1, D]
        # singular values, not covariance eigenvalues: those resolve a spread ratio only to √ε
        _, sv, vh = torch.linalg.svd((X - x0).double(), full_matrices=False)  # descending
        tol = 16 * torch.finfo(x.dtype).eps * sv[..., :1].clamp_min(1e-300)
        r = max(1, int((sv > tol).sum(-1).max()))
        D = X.shape[-1]
        if r + 1 > 3 * (D + 1) // 4:
            return  # (nearly) full rank: nothing to gain
        Q = vh[..., :r, :].mT.to(x.dtype)  # [B, D, r]
        z = torch.cat([(X - x0) @ Q, torch.ones_like(X[..., :1])], -1)  # [B, n, r + 1]
        self.xa = z if x.ndim == 3 else z[0]
        self.proj = Q, x0

    def _to_projected(self, thT: Tensor) -> Tensor:
        """[W; b]ᵀ [E, D+1, N] -> [Qᵀ W; b + x0·W] [E, r+1, N]."""
        Q, x0 = self.proj
        W, b = thT[:, :-1], thT[:, -1:]
        return torch.cat([Q.mT @ W, b + x0 @ W], 1).contiguous()

    def _from_projected(self, g: Tensor) -> Tensor:
        """dL/d[Qᵀ W; b + x0·W] [E, r+1, N] -> dL/d[W; b] [E, D+1, N]."""
        Q, x0 = self.proj
        gz, gb = g[:, :-1], g[:, -1:]
        return torch.cat([Q @ gz + x0.mT @ gb, gb], 1)

    def _sort_rows(self) -> None:
        """Rows in Z-order (engine/order.py), so the C pass can skip atoms far from a whole block."""
        if self.xa.ndim == 2:  # rows shared by every member: one order
            perm = order.z_order(self.xa[None, :, :-1])[0]  # [n]
            self.xa = self.xa[perm]

            def take(v: Tensor) -> Tensor:
                return v[:, perm]
        else:
            perm = order.z_order(self.xa[..., :-1], None if self.w is None else self.w == 0)  # [E_g, n]
            self.xa = self.xa.gather(1, perm[..., None].expand_as(self.xa))

            def take(v: Tensor) -> Tensor:
                return v.gather(1, perm)
        self.off = None if self.off is None else take(self.off)
        self.target = None if self.target is None else take(self.target)
        self.w = None if self.w is None else take(self.w)
        self.perm = perm

    def run_rows(self, mode: str, rows: Tensor, active: Tensor | None = None, raw: bool = False,
                 given: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``run`` on the rows ``rows`` alone (a minibatch; needs a group built with order_rows=False,
        so rows index the caller's order). Rows beyond the group's weighed ones add nothing.
        ``given`` [E_g, len(rows)] is per minibatch row, as ``run`` takes it."""
        if self.perm is not None:
            raise ValueError("run_rows needs a group without row order (groups(..., order_rows=False))")
        saved = self.xa, self.off, self.target, self.w, self.norm, self.base
        dropped = None
        if self.xa.shape[-2] < self.n_in:  # the group dropped trailing rows nobody weighs
            kept = rows < self.xa.shape[-2]
            if self.use_c:
                rows, given = rows[kept], None if given is None else given[:, kept]
            else:  # no compaction (a host sync): such rows read the last kept row at weight 0
                rows, dropped = rows.clamp_max(self.xa.shape[-2] - 1), kept

        def take(v: Tensor | None) -> Tensor | None:  # index_select: a contiguous gather, ~3x faster than v[:, rows]
            return None if v is None else v.index_select(1, rows)

        self.xa = self.xa.index_select(self.xa.ndim - 2, rows)
        self.off, self.w = take(self.off), take(self.w)
        if dropped is not None:
            self.w = self.w * dropped
        if self.use_c:
            self.target = take(self.target)
        else:
            self.base = take(self.base)
        if self.w is not None:
            self.norm = self.w.sum(-1).clamp_min(1e-30)
        elif self.use_c:
            self.norm = torch.full_like(saved[4], float(len(rows)))
        else:  # one tensor per batch size, so torch_pass's 2/norm is computed once
            if len(rows) not in self.batch_norm:
                self.batch_norm[len(rows)] = torch.full_like(saved[4], float(len(rows)))
            self.norm = self.batch_norm[len(rows)]
        self.batch = True
        try:
            return self.run(mode, active, raw, given)
        finally:
            self.xa, self.off, self.target, self.w, self.norm, self.base = saved
            self.batch = False

    def scaled_network(self) -> Tensor:
        """[W, b]/ε (+ mask bias) as [E_g, d+1, N_g], contiguous for the logits GEMM."""
        th = self.model.network(self.theta, self.t) / self.eps
        if self.bias_mask is not None:
            th[..., -1].add_(self.bias_mask)
        return th.transpose(1, 2).contiguous()

    def _network_c(self) -> Tensor:
        """The scaled network of a fused_adam group: param.c's, written by the last step (or now)."""
        if self.thT is None:
            E, N, K = self.theta.shape
            self.thT = torch.zeros(E, K, N, dtype=self.theta.dtype, device=self.theta.device)
            self.bad = torch.zeros(E, dtype=torch.uint8, device=self.theta.device)
            self._param_c(None, 0, 0.0, None, (0.0, 0.0), 0.0)
        return self.thT

    def _param_c(self, g_thT: Tensor | None, step: int, lr: float, live: Tensor | None,
                 betas: tuple[float, float], adam_eps: float, g_c: Tensor | None = None) -> None:
        E = self.theta.shape[0]
        bmask = None if self.bias_mask is None else self.bias_mask.contiguous()
        readout = None if g_c is None else (self.c, self.mc, self.vc, g_c.contiguous())
        self.nbad = native.adam_network(self.model.native_form, self.t, self.eps.reshape(E).contiguous(), self.widths,
                                        bmask, g_thT, self.theta.transpose(1, 2), self.m.transpose(1, 2),
                                        self.v.transpose(1, 2), None if live is None else live.contiguous(), step, lr,
                                        betas, adam_eps, self.thT, self.bad, readout)

    def adam_(self, g_thT: Tensor, step: int, lr: float, live: Tensor | None,
              betas: tuple[float, float], adam_eps: float, g_c: Tensor | None = None) -> None:
        """Adam's step ``step`` from run(..., raw=True)'s gradient, and the next network, in one C
        call (fused_adam groups); ``live`` [E_g] 0/1 freezes stopped members; ``g_c`` [E_g]:
        the readout's gradient, stepped in the same call."""
        self._network_c()
        self._param_c(g_thT, step, lr, live, betas, adam_eps, g_c)

    def run(self, mode: str, active: Tensor | None = None, raw: bool = False,
            given: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """One pass over the rows.  ``mode``: "predict" -> (pred [E_g, n], None, None);
        "loss" -> (loss [E_g], None, None); "grad" -> (loss, dL/dθ [E_g, N_g, d+1], dL/dc [E_g] or None).
        ``active`` (indices into the group): the C pass computes only these members, the others get
        zeros (the trainer passes its still-running members); the torch pass computes every member.
        ``raw`` (fused_adam groups): the gradient as dL/d[W, b]ᵀ [E_g, d+1, N_g], for adam_.
        ``given`` [E_g, n] ("grad" only): dL/dpred per row of any loss, in place of the MSE's
        residual (weights still multiply it); the returned loss is then 0."""
        if given is not None and mode != "grad":
            raise ValueError("given (dL/dpred per row) goes with mode 'grad'")
        if not self.use_c:
            return self._run_torch(mode, raw, given)
        thT = self._network_c() if self.fused_adam else self.scaled_network()  # [E_g, d+1, N_g]
        th_pass = thT if self.proj is None else self._to_projected(thT)
        out, g_thT, g_c = self._native(th_pass, mode, active, given)
        if self.fused_adam:
            if self.nbad:
                out[self.bad.bool()] = math.nan
        else:
            self._poison_nonfinite(thT, out)
        if mode == "predict":
            if self.perm is not None:  # back to the caller's row order
                out = torch.empty_like(out).scatter_(-1, self.perm.expand_as(out), out)
            return out, None, None
        out /= self.norm
        if mode == "loss":
            return out, None, None
        return out, self._gradient(g_thT, raw), g_c

    def _gradient(self, g_thT: Tensor, raw: bool) -> Tensor:
        """The pass's gradient dL/d[W, b]ᵀ back in the rows' own coordinates, pulled back to the form's θ
        unless ``raw``."""
        if self.proj is not None:
            g_thT = self._from_projected(g_thT)
        return g_thT if raw else self.model.pull_back(self.theta, g_thT.transpose(1, 2), self.t)

    def _poison_nonfinite(self, thT: Tensor, out: Tensor) -> None:
        """Members with a NaN/inf parameter (on a present neuron) get NaN output and loss. The C pass's
        max shift and exp polynomial would turn NaN into a finite number, so a diverged member would
        otherwise pass for a trained one; the torch pass propagates NaN by itself."""
        if bool(torch.isfinite(thT.sum())) and (self.c is None or bool(torch.isfinite(self.c.sum()))):
            return  # no NaN or inf anywhere (either would make the sum non-finite): the usual case, one reduction
        ok = torch.isfinite(thT)  # [E_g, d+1, N_g]
        if self.keep is not None:
            ok |= self.keep == 0  # absent neurons may hold anything
        if self.widths is not None:
            ok |= torch.arange(thT.shape[-1], device=thT.device) >= self.widths.to(thT.device)[:, None, None]
        bad = ~ok.flatten(1).all(-1)
        if self.c is not None:
            bad |= ~torch.isfinite(self.c.reshape(-1))
        if bool(bad.any()):
            out[bad] = math.nan

    def _native(self, thT: Tensor, mode: str, active: Tensor | None,
                given: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """The C pass (engine/fused.c): one sweep per row, nothing of size [E_g, n, N_g]."""
        E, n, kw = thT.shape[0], self.xa.shape[-2], dict(dtype=thT.dtype, device=thT.device)
        grad = mode == "grad"
        out = torch.empty(E, n, **kw) if mode == "predict" else torch.zeros(E, **kw)
        g_thT = torch.zeros(thT.shape, **kw) if grad else None
        g_f = torch.zeros(E, **kw) if grad else None
        scale = self.c.contiguous() if self.c is not None else torch.full((E,), self.model.sign, **kw)
        keep = None if self.keep is None else self.keep.reshape(E, -1).contiguous()
        # culling for the members where it pays: stop asking one that keeps most of its neurons,
        # ask every member again now and then (training moves the atoms)
        cull = None
        if self.perm is not None:
            cull = self.cull_pays | (self.calls % RECHECK_CULL == 0)
        self.calls += 1
        if self.row_max is None and not self.batch:
            self.row_max = torch.full((E, n), native.UNKNOWN_MAX, **kw)  # none yet: the first pass takes two sweeps
        kept = native.fused_pass(self.xa, thT, keep, self.widths, self.eps.reshape(E).contiguous(), scale,
                                 self.norm.contiguous(), self.off,
                                 given.contiguous() if given is not None else self.target if mode != "predict" else None,
                                 self.w, MODES[mode] if given is None else GIVEN_MODE, out, g_thT, g_f, active=active, cull=cull,
                                 row_max=None if self.batch else self.row_max)
        if kept is not None:
            tried = cull & (kept < 1.0)
            self.cull_pays = torch.where(cull, kept <= CULL_PAYS, self.cull_pays)
            if bool(tried.any()):
                self.kept = float(kept[tried].mean())
        return out, g_thT, (g_f if grad and self.c is not None else None)

    def _run_torch(self, mode: str, raw: bool, given: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``run`` on the torch pass (engine/torch_pass.py): no host sync; a member with a non-finite
        present parameter gets a NaN output by arithmetic."""
        thT = self.scaled_network()  # [E_g, d+1, N_g]
        th_pass = thT if self.proj is None else self._to_projected(thT)
        out, g_thT, g_c = torch_pass.run(self, th_pass, mode, given)
        bad = torch_pass.poison(self, thT)  # [E_g]: 0, or NaN
        if mode == "predict":
            return out + bad[:, None], None, None
        out = torch.addcdiv(bad, out, self.norm)
        if mode == "loss":
            return out, None, None
        return out, self._gradient(g_thT, raw), g_c


def c_pass_applies(model: Model, x: Tensor) -> bool:
    """Whether the C pass serves this model and data: the active backend (engine/backend.py) is the C
    pass's, and the data are on the CPU in float32/64 with d + 1 ≤ NATIVE_MAX_K."""
    return (backend.active().c and x.device.type == "cpu" and x.dtype in native.TYPES
            and model.dim + 1 <= NATIVE_MAX_K)


def groups(model: Model, x: Tensor, target: Tensor | None = None, weight: Tensor | None = None,
           order_rows: bool = True, plan: torch_pass.TorchPlan | None = None) -> list[Group]:
    """Members grouped for one pass each. With prefix masks, the C pass takes width buckets
    (2^(k−1), 2^k], each member looping over its own width (so a bucket pads at most 2×: the
    trainer's per-step work on parameters, Adam state and gradient buffers is ∝ Σ_e N_e, not
    E·N_max, and a bucket whose members have all stopped is skipped); the torch pass takes one
    compact group per width, adjacent widths merged into one masked group while that pays on the
    device (torch_pass.merge_widths; ``plan``: the torch pass's, None: the device's own). Other masks
    make one masked group. ``order_rows=False`` keeps the caller's row order (no culling), for Group.run_rows."""
    E, N = model.size, model.width
    mask, use_c = model.neuron_mask, c_pass_applies(model, x)
    every = torch.arange(E, device=x.device)
    if mask is None:
        return [Group(model, every, N, x, target, weight, False, use_c, order_rows, plan)]
    width = mask.sum(-1)  # [E]
    prefix = torch.arange(N, device=mask.device)[None, :] < width[:, None]
    if not bool((prefix == mask).all()):
        return [Group(model, every, N, x, target, weight, True, use_c, order_rows, plan)]
    if use_c:
        return [Group(model, idx, int(width[idx].max()), x, target, weight, False, True, order_rows)
                for idx in _merged_buckets(width, x.shape[-2], weight, model.dim + 1)]
    plan = plan or torch_pass.TorchPlan.for_device(x.device, x.dtype, compiled=backend.active().compiled)
    return [Group(model, idx.to(x.device), w, x, target, weight, masked, False, order_rows, plan)
            for idx, w, masked in torch_pass.merge_widths(width, x.shape[-2], plan)]


def _merged_buckets(width: Tensor, n: int, weight: Tensor | None, K: int) -> list[Tensor]:
    """Members of the C pass's groups: width buckets (2^(k−1), 2^k], adjacent ones merged while the
    merged group's padded parameter-side work (Adam, network and pull-back on [E_g, N_max, K]) stays
    within PAD_SHARE of its pass (Σ_e rows_e·N_e) and its members weigh the same rows. Each group
    costs a fixed ~0.1 ms per step (Python around the pass, one OpenMP region): five narrow buckets
    of the authors' width sweep were ~6 % of its step."""
    rows = torch.full_like(width, n)  # rows each member weighs (a prefix: the group drops the rest)
    if weight is not None:
        live = weight != 0
        rows = torch.where(live.any(-1), n - live.flip(-1).int().argmax(-1), 0).to(width.dtype)
    bucket = torch.ceil(torch.log2(width.clamp_min(1).double())).long()
    out: list[Tensor] = []
    for b in torch.unique(bucket[width > 0]).tolist():
        idx = torch.nonzero((bucket == b) & (width > 0)).flatten()
        if out:
            both = torch.cat([out[-1], idx])
            pad = len(both) * int(width[both].max()) * K
            if bool((rows[both] == rows[both[0]]).all()) and pad <= PAD_SHARE * float((rows[both] * width[both]).sum()):
                out[-1] = both
                continue
        out.append(idx)
    return out


def predict(model: Model, x: Tensor, plan: torch_pass.TorchPlan | None = None) -> Tensor:
    """Model output [E, n] on x [n, d] or [E, n, d], without the [E, n, N_max] tensor (no autograd)."""
    with torch.no_grad():
        out = torch.empty(model.size, x.shape[-2], dtype=x.dtype, device=x.device)
        for gr in groups(model, x, plan=plan):
            out[gr.idx] = gr.run("predict")[0]
    return out


def loss(model: Model, x: Tensor, target: Tensor, weight: Tensor | None = None,
         plan: torch_pass.TorchPlan | None = None) -> Tensor:
    """Per-member (weighted) MSE [E] on the fused pass."""
    with torch.no_grad():
        out = torch.zeros(model.size, dtype=x.dtype, device=x.device)
        for gr in groups(model, x, target, weight, plan=plan):
            out[gr.idx] = gr.run("loss")[0]
    return out
