"""A pre-LayerNorm transformer's residual stream as a depth model: each block is two Euler sub-steps,
    s ← s + Δ·Attn(LN(s)),   s ← s + Δ·MLP(LN(s)),
with one θ_k per block. The state is T tokens of width d, flattened to S = T·d. LN has no learned
affine (it would fold into the next projection). ∂ℋ/∂s and ∂ℋ/∂θ are written by hand below: softmax,
multi-head attention, exact (erf) GELU and LayerNorm backward passes.
"""

from __future__ import annotations

import math

import torch

from .contract import Arch
from .family import Family

ATTN, MLP = ("Wq", "Wk", "Wv", "Wo"), ("W1", "b1", "W2", "b2")


def layer_norm(u):
    mu = u.mean(-1, keepdim=True)
    return (u - mu) / torch.sqrt(((u - mu) ** 2).mean(-1, keepdim=True) + 1e-5)


class Transformer(Family):
    name = Arch.TRANSFORMER
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
        R, B, _ = s.shape
        n, d, H = self.sizes.tokens, self.sizes.d_model, self.sizes.heads
        dh = d // H
        z = s.reshape(R, B, n, d)
        mu = z.mean(-1, keepdim=True)
        sigma = torch.sqrt(((z - mu) ** 2).mean(-1, keepdim=True) + 1e-5)
        u = (z - mu) / sigma
        P = p.reshape(R, B, n, d)
        grads = {k: torch.zeros_like(v) for k, v in th.items()}

        def wgrad(out_grad, inp):  # Σ over inputs and tokens of out_grad ⊗ inp  [R, d_out, d_in]
            return torch.einsum("rbno,rbni->roi", out_grad, inp)

        def heads(a):
            return a.reshape(R, B, n, H, dh).transpose(2, 3)

        def merge(a):
            return a.transpose(2, 3).reshape(R, B, n, d)

        W = {k: v.unsqueeze(1) for k, v in th.items() if v.dim() == 3}  # [R, 1, out, in]
        if sub == 0:
            q, k, v = (heads(u @ W[w].transpose(-1, -2)) for w in ("Wq", "Wk", "Wv"))
            A = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1)  # [R, B, H, n, n]
            O = merge(A @ v)
            grads["Wo"] = wgrad(P, O)
            dO = heads(P @ W["Wo"])
            dA = dO @ v.transpose(-1, -2)
            dv = A.transpose(-1, -2) @ dO
            dS = A * (dA - (dA * A).sum(-1, keepdim=True)) / math.sqrt(dh)  # softmax backward, with the 1/√dh
            dq, dk, dv = merge(dS @ k), merge(dS.transpose(-1, -2) @ q), merge(dv)
            for name, g in (("Wq", dq), ("Wk", dk), ("Wv", dv)):
                grads[name] = wgrad(g, u)
            du = dq @ W["Wq"] + dk @ W["Wk"] + dv @ W["Wv"]
        else:
            a = u @ W["W1"].transpose(-1, -2) + th["b1"][:, None, None]
            cdf = 0.5 * (1 + torch.erf(a / math.sqrt(2)))
            g = a * cdf
            grads["W2"], grads["b2"] = wgrad(P, g), P.sum((1, 2))
            da = (P @ W["W2"]) * (cdf + a * torch.exp(-0.5 * a * a) / math.sqrt(2 * math.pi))  # GELU' = Φ + aφ
            grads["W1"], grads["b1"] = wgrad(da, u), da.sum((1, 2))
            du = da @ W["W1"]
        # LayerNorm backward: ∂u/∂z acting on du
        dz = (du - du.mean(-1, keepdim=True) - u * (du * u).mean(-1, keepdim=True)) / sigma
        return dz.reshape(R, B, n * d), grads
