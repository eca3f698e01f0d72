"""A pre-LayerNorm transformer's residual stream as a depth model: each block is two Euler sub-steps,
    s ← s + Δ·Attn(LN(s)),   s ← s + Δ·MLP(LN(s)),
with one θ_k per block. The state is T tokens of width d, flattened to S = T·d. LN has no learned
affine (it would fold into the next projection). Its ∂ℋ/∂s and ∂ℋ/∂θ are local autograd
vector–Jacobian products of one sub-step (family.local_vjp); the recursion around them is by hand.
"""

from __future__ import annotations

import math

import torch

from .family import Family, local_vjp

ATTN, MLP = ("Wq", "Wk", "Wv", "Wo"), ("W1", "b1", "W2", "b2")


def layer_norm(u):
    mu = u.mean(-1, keepdim=True)
    return (u - mu) / torch.sqrt(((u - mu) ** 2).mean(-1, keepdim=True) + 1e-5)


class Transformer(Family):
    name = "transformer"
    substeps = 2

    @property
    def state_dim(self) -> int:
        return self.sizes.tokens * self.sizes.d_model

    def shapes(self):
        """Half the usual 1/√fan-in scale: LN makes every token's input of norm √d, and at the full scale the
        flow is so expansive over T = 1 that the co-state needs K ≫ 256 to reach its first-order regime."""
        d, m, g = self.sizes.d_model, self.sizes.m, 0.5
        return {**{w: ((d, d), g / math.sqrt(d)) for w in ATTN}, "W1": ((m, d), g / math.sqrt(d)), "b1": ((m,), g),
                "W2": ((d, m), g / math.sqrt(m)), "b2": ((d,), g)}

    def field(self, s, th, x, sub, dt):
        R, B, _ = s.shape
        n, d, H = self.sizes.tokens, self.sizes.d_model, self.sizes.heads
        u = layer_norm(s.reshape(R, B, n, d))

        def proj(W):  # u Wᵀ with one W per net
            return u @ W.unsqueeze(1).transpose(-1, -2)

        if sub == 0:
            q, k, v = (proj(th[w]).reshape(R, B, n, H, d // H).transpose(2, 3) for w in ("Wq", "Wk", "Wv"))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // H), -1)
            out = (att @ v).transpose(2, 3).reshape(R, B, n, d) @ th["Wo"].unsqueeze(1).transpose(-1, -2)
        else:
            a = proj(th["W1"]) + th["b1"][:, None, None]
            out = torch.nn.functional.gelu(a) @ th["W2"].unsqueeze(1).transpose(-1, -2) + th["b2"][:, None, None]
        return out.reshape(R, B, n * d)

    def vjp(self, s, th, x, sub, dt, p):
        names = ATTN if sub == 0 else MLP
        ds, dth = local_vjp(self, s, {k: th[k] for k in names}, x, sub, dt, p)
        return ds, {k: dth.get(k, torch.zeros_like(v)) for k, v in th.items()}

