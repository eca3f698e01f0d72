"""Cross-entropy training of classifiers whose class logits are LSE layers, on the engine's pass.

Classifier e's class logit c is engine member e·C + c (an LSE layer with its own W, b and the
classifier's ε on the shared features u), so one fused pass computes every class logit of every
classifier. A step draws a minibatch, takes the logits z [E, C, B] in a predicting pass, forms
dL/dz = (softmax_c(z) − onehot(y)) / B in torch (the mean cross-entropy of each classifier, summed
over classifiers: each one's gradient is its own), and hands that to a gradient pass
(Group.run's ``given``, fused.c's mode 3) and to Adam's step. The logits are taken twice per
step; the gradient pass needs the softmax over C members, which no single member's pass sees.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hjexp.engine import kernel, torch_pass
from hjexp.engine.adam import ADAM_EPS, BETAS, Progress, adam_group_
from hjexp.engine.models import Model


def class_logits(model: Model, u: Tensor, classes: int) -> Tensor:
    """z [E, n, C] of the classifiers stacked in ``model`` (member e·C + c), features u [n, k]."""
    return kernel.predict(model, u).view(-1, classes, u.shape[0]).transpose(1, 2)


def train_cross_entropy(model: Model, u: Tensor, y: Tensor, classes: int, *, steps: int, lr: float, batch: int,
                        generator: torch.Generator | None = None, progress: Progress | None = None,
                        plan: torch_pass.TorchPlan | None = None) -> Tensor:
    """Adam on every classifier's mean cross-entropy over shared minibatches of ``batch`` rows of
    u [n, k] (labels y [n], drawn with replacement from ``generator``: torch.randint(n, (batch,)),
    one draw per step, as a torch.optim loop would). ``model`` [E·C members] is updated in place.
    Returns each classifier's final cross-entropy on all rows [E]. On the torch pass (``plan``: its
    chunking) a step reads nothing on the host: Adam's count is engine.torch_pass.Clock's."""
    if model.size % classes:
        raise ValueError(f"{model.size} members do not stack classifiers of {classes} classes")
    E, n = model.size // classes, u.shape[0]
    y = y.long()
    with torch.no_grad():
        grs = kernel.groups(model, u, order_rows=False, plan=plan)
        if len(grs) != 1:
            raise ValueError("cross-entropy training takes members without neuron masks (one group)")
        gr = grs[0]
        clock = None if gr.use_c else torch_pass.Clock(lr, BETAS, ADAM_EPS, u.device)
        for step in range(1, steps + 1):
            rows = torch.randint(n, (min(batch, n),), generator=generator, device=u.device)
            z = gr.run_rows("predict", rows)[0].view(E, classes, -1)  # [E, C, B]
            dz = torch.softmax(z, 1)
            dz.scatter_add_(1, y[rows].expand(E, 1, -1), torch.full_like(dz[:, :1], -1.0))
            dz /= len(rows)
            _, g_th, g_c = gr.run_rows("grad", rows, raw=gr.fused_adam, given=dz.view(E * classes, -1))
            if clock is None:
                adam_group_(gr, g_th, g_c, step, lr, None)
            else:
                clock.tick()
                clock.group_(gr, g_th, g_c, None)
            if progress is not None:
                progress(1)
        model.unpack_(gr.idx, gr.theta)
        if gr.c is not None:
            model.readout()[gr.idx] = gr.c
        z = kernel.predict(model, u, plan).view(-1, classes, u.shape[0]).transpose(1, 2)  # [E, n, C]
        return F.cross_entropy(z.flatten(0, 1), y.repeat(E), reduction="none").view(E, n).mean(-1)
