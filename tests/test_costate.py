"""The costate experiment through the CLI, and the co-state recursion on a 2-layer net by hand."""

import importlib
import math

import torch

from hjexp.registry import PACKAGE, experiments

EXPECTED = {"costate.discrete.max_rel_err": "pass", "costate.convergence.order": "pass",
            "costate.reference.rel_diff_half_steps": "info"}


def _residual():
    experiments()
    return importlib.import_module(f"{PACKAGE}.costate.residual")


def test_costate_smoke_verdicts(run_smoke):
    _, summary = run_smoke("costate", "threads=1")
    assert dict(zip(summary.claim_id, summary.verdict)) == EXPECTED
    measured = summary.set_index("claim_id").measured
    assert abs(measured["costate.convergence.order"] - 1) < 0.1


# a scalar 2-layer residual net: x_{k+1} = x_k + h (w2_k tanh(w1_k x_k + b1_k) + b2_k), L = ½(x_2 − y)²
X0, Y, H = 0.7, -0.3, 0.5
LAYERS = [dict(W1=1.3, b1=-0.2, W2=0.8, b2=0.1), dict(W1=-0.6, b1=0.4, W2=1.5, b2=-0.3)]


def _loss(layers) -> float:
    x = X0
    for th in layers:
        x = x + H * (th["W2"] * math.tanh(th["W1"] * x + th["b1"]) + th["b2"])
    return 0.5 * (x - Y) ** 2


def test_costate_by_hand_on_two_layers():
    """Pencil-and-paper co-states and parameter gradients (plain floats, no torch) against the
    module's recursion, and the hand formulas against central finite differences of the loss."""
    x1 = X0 + H * (LAYERS[0]["W2"] * math.tanh(LAYERS[0]["W1"] * X0 + LAYERS[0]["b1"]) + LAYERS[0]["b2"])
    x2 = x1 + H * (LAYERS[1]["W2"] * math.tanh(LAYERS[1]["W1"] * x1 + LAYERS[1]["b1"]) + LAYERS[1]["b2"])
    p2 = x2 - Y
    hand, p_next, p = [None, None], p2, {}
    for k, x in ((1, x1), (0, X0)):
        th = LAYERS[k]
        s = math.tanh(th["W1"] * x + th["b1"])
        delta = (1 - s * s) * th["W2"] * p_next  # (∂F/∂a) p
        hand[k] = dict(W2=H * p_next * s, b2=H * p_next, W1=H * delta * x, b1=H * delta)
        p_next = p_next + H * delta * th["W1"]  # p_k = p_{k+1} + h (∂F/∂x) p_{k+1}
        p[k] = p_next
    p[2] = p2

    r = _residual()
    as_tensor = {name: torch.tensor([[LAYERS[0][name], LAYERS[1][name]]], dtype=torch.float64) for name in LAYERS[0]}
    theta = {"W1": as_tensor["W1"].reshape(1, 2, 1, 1), "b1": as_tensor["b1"].reshape(1, 2, 1),
             "W2": as_tensor["W2"].reshape(1, 2, 1, 1), "b2": as_tensor["b2"].reshape(1, 2, 1)}
    xs = r.euler_forward(torch.tensor([[[X0]]], dtype=torch.float64), theta, H)
    assert math.isclose(xs[2].item(), x2, rel_tol=1e-15)
    ps, grads = r.costate(xs, theta, H, xs[2] - Y)
    for k in range(3):
        assert math.isclose(ps[k].item(), p[k], rel_tol=1e-14), k
    for k in range(2):
        for name in LAYERS[0]:
            assert math.isclose(grads[name].flatten()[k].item(), hand[k][name], rel_tol=1e-14), (k, name)

    step = 1e-6  # the hand formulas themselves against finite differences (independent of both)
    for k in range(2):
        for name in LAYERS[0]:
            up = [dict(th) for th in LAYERS]
            down = [dict(th) for th in LAYERS]
            up[k][name] += step
            down[k][name] -= step
            fd = (_loss(up) - _loss(down)) / (2 * step)
            assert math.isclose(fd, hand[k][name], rel_tol=1e-7, abs_tol=1e-10), (k, name, fd, hand[k][name])


def test_depths_that_share_no_nodes_are_one_clear_line(cli, tmp_path):
    result = cli("run", "costate", "params.convergence.depths=[3,8]", f"out={tmp_path / 'x'}")
    assert result.exit_code != 0
    assert "must be powers of two" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
