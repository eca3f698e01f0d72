"""The shared engine: one typed model family, one fused forward/backward, one trainer.

- ``closed``     closed forms on logits (f, π, entropy, ∇, Hessian = c·Cov/ε, conversions,
                 Hopf–Cole and Hopf–Lax): the differentiable reference path
- ``models``     ``LSE`` (W, b, optional readout c) and ``HopfCole`` (y, g, t), stacked over
                 members with per-member ε and neuron masks, exact conversion between them
- ``forward``    f, π, ∇ and Hessians of a model from one logit tensor
- ``kernel``     the fused chunked pass: loss + closed-form gradient, and prediction
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
