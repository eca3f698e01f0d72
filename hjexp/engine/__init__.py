"""The shared engine: one typed model family, one fused forward/backward, one trainer.

- ``closed``     closed forms on logits (f, π, entropy, ∇, Hessian = c·Cov/ε, conversions,
                 Hopf–Cole and Hopf–Lax): the differentiable reference path
- ``models``     ``LSE`` (W, b, optional readout c) and ``HopfCole`` (y, g, t), stacked over
                 members with per-member ε and neuron masks, exact conversion between them
- ``forward``    f, π, ∇ and Hessians of a model from one logit tensor
- ``kernel``     the fused chunked pass: loss + closed-form gradient, and prediction
- ``torch_pass``  its torch form as a GPU runs it: device-sized chunks, merged widths, no host sync
                 in a training step (loss, rule and Adam's count on the device; a read every 50 steps)
- ``opcount``    a TorchDispatchMode counting launched ops and host syncs per step
- ``pgd``        a PGD restart on LSE classifiers with no host sync in a step
- ``adam``       full-batch Adam on the kernel with the per-member convergence rule
- ``classify``   cross-entropy training of classifiers whose class logits are LSE members
- ``reference``  torch.optim on the closed forms: minibatch Adam, L-BFGS polish, member MSE
"""

from hjexp.engine import closed
from hjexp.engine.adam import Fit, train
from hjexp.engine.classify import class_logits, train_cross_entropy
from hjexp.engine.forward import Forward, forward
from hjexp.engine.kernel import loss, predict
from hjexp.engine.models import LSE, HopfCole, Model, init_lse
from hjexp.engine.reference import member_mse, polish_lbfgs, train_autograd

__all__ = ["closed", "Forward", "forward", "loss", "predict", "LSE", "HopfCole", "Model", "init_lse",
           "member_mse", "polish_lbfgs", "train_autograd", "Fit", "train", "class_logits", "train_cross_entropy"]
