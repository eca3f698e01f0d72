"""Same answers on every backend: each experiment at smoke on engine=c and on engine=torch (eager, and
compiled: engine=compiled) gives the same verdicts, and its measured values agree within a tolerance stated per kind of quantity (below).

Models trained in float32 (the default dtype for training) carry each pass's roundoff into Adam's trajectory,
and how far that moves a trained value depends on the CPU (the C pass's exp, the torch pass's chunk size from
the L2): recovery's δ at ε = 0.04 at smoke was 2 % apart on one machine and 7.6 % on another (0.01577 vs
0.01701, AMD EPYC), with the same verdicts. So trained experiments compare verdicts in float32 and values in
float64, where the two passes must agree to 1e-6 (they agree to ~1e-11 there): that checks the passes compute
the same thing on any machine, without a tolerance sized to one machine's trajectory. Even in float64, Adam
amplifies roundoff where atoms sit far from every training point: rate-sweep's minimax-hard members at d = 2
end with training losses 8.7e-7 apart but test RMSEs up to 3.6e-3 apart, and on a like problem a 1e-15
relative change of the initial atoms moves the test RMS by 1.5e-4 on one pass alone. Those members feed info
rows only (rate.minimax.*.slope.d2), so in float64 judged rows are compared at 1e-6 and info rows by verdict.

Two experiments run in the default suite (the ones that train the most at smoke; engine=compiled on recovery
alone, whose values tests/test_fast_train.py checks against autograd at 1e-10); every experiment runs
with --runslow (make test-full), and recovery also at quick, where its trajectory-dependent rows must not
change verdict."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hjexp.engine import native

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "experiment"
EXPERIMENTS = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
DEFAULT = {"recovery", "scaling-dim"}

# Tolerances on `measured`, by kind of quantity (relative unless said):
ROUNDOFF = 1e-10  # both values below this in size: identity errors at roundoff, not compared further
DETERMINISTIC = 1e-6  # no training: the passes differ by float roundoff only
TRAINING = {"recovery", "rate-sweep", "scaling-dim", "eps-robustness"}
TIMINGS = {"bifurcation.three_atoms.methods", "bifurcation.clusters_1d.methods", "influence.cost_exponent.wall"}
TRAJECTORY = "follows the training trajectory"  # rows that say so in their description: verdicts only


def _skip_without(engine: str) -> None:
    """Skip where engine=compiled cannot run (no C++ compiler for torch.compile)."""
    import torch

    from hjexp.engine import compiled

    if engine == "compiled" and not compiled.available(torch.device("cpu"))[0]:
        pytest.skip(compiled.available(torch.device("cpu"))[1])


def _summary(cli, out: Path, name: str, engine: str, profile: str, *extra: str) -> pd.DataFrame:
    result = cli("run", name, f"profile={profile}", f"engine={engine}", "threads=1", f"out={out / engine}", *extra)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / engine / "summary.csv").set_index("claim_id")


def differences(c: pd.DataFrame, t: pd.DataFrame, experiment: str, *, float64: bool = False,
                other: str = "torch") -> list[str]:
    """What the ``other`` pass's summary does differently from the C pass's, one line each. Values of trained
    experiments are compared only in float64 (``float64=True``) and only on judged rows (module docstring)."""
    out = [f"{cid}: rows differ" for cid in set(c.index) ^ set(t.index)]
    tol = DETERMINISTIC
    for cid in c.index.intersection(t.index):
        a, b = c.loc[cid], t.loc[cid]
        if a.verdict != b.verdict:
            out.append(f"{cid}: verdict {a.verdict} (c) vs {b.verdict} ({other})")
        if cid in TIMINGS or (experiment in TRAINING and (not float64 or a.verdict == "info")) \
                or not float64 and TRAJECTORY in str(a.description):
            continue
        x, y = pd.to_numeric(a.measured, errors="coerce"), pd.to_numeric(b.measured, errors="coerce")
        if math.isnan(x) and math.isnan(y) or max(abs(x), abs(y)) <= ROUNDOFF:
            continue
        if not abs(x - y) <= tol * max(abs(x), abs(y)):
            out.append(f"{cid}: measured {x:.6g} (c) vs {y:.6g} ({other}), beyond {tol:g} relative")
    return out


def test_differences_sees_a_changed_verdict_and_value():
    """The comparison can fail."""
    c = pd.DataFrame({"claim_id": ["a.x", "a.y"], "verdict": ["pass", "pass"], "measured": [1.0, 2.0],
                      "description": ["", ""]}).set_index("claim_id")
    t = c.copy()
    t.loc["a.x", "verdict"], t.loc["a.y", "measured"] = "fail", 2.1
    assert len(differences(c, t, "identity")) == 2 and len(differences(c, c, "identity")) == 0
    assert len(differences(c, t, "recovery")) == 1 and len(differences(c, t, "recovery", float64=True)) == 2


@pytest.mark.parametrize("name,other", [
    pytest.param(e, o, marks=() if e in DEFAULT and (o == "torch" or e == "recovery") else pytest.mark.slow)
    for e in EXPERIMENTS for o in ("torch", "compiled")])
def test_c_and_torch_passes_agree_at_smoke(name, other, cli, tmp_path):
    """``other``: the torch pass, eager or compiled (engine=compiled; by default on recovery alone: the first
    compile of each graph costs seconds on a cold cache)."""
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    _skip_without(other)
    c, t = (_summary(cli, tmp_path, name, engine, "smoke") for engine in ("c", other))
    assert not differences(c, t, name, other=other)
    if name == "recovery":  # its trained values move by up to ~40 % between passes: each such row must say so
        assert not undisclosed(c, t), undisclosed(c, t)


def undisclosed(c: pd.DataFrame, t: pd.DataFrame) -> list[str]:
    """Rows whose value differs between the passes beyond roundoff without saying it follows the training
    trajectory."""
    out = []
    for cid in c.index.intersection(t.index):
        x, y = (pd.to_numeric(s.loc[cid, "measured"], errors="coerce") for s in (c, t))
        moved = not (math.isnan(x) and math.isnan(y)) and not abs(x - y) <= DETERMINISTIC * max(abs(x), abs(y))
        if moved and TRAJECTORY not in str(c.loc[cid, "description"]):
            out.append(f"{cid}: {x:.6g} (c) vs {y:.6g}, and its description does not say so")
    return out


def test_undisclosed_sees_a_moved_row_without_the_phrase():
    """The disclosure check can fail."""
    c = pd.DataFrame({"claim_id": ["r.a", "r.b"], "verdict": ["pass", "pass"], "measured": [1.0, 2.0],
                      "description": [f"δ̄; it {TRAJECTORY}", "count"]}).set_index("claim_id")
    t = c.copy()
    t["measured"] = [1.5, 2.0]
    assert not undisclosed(c, t)
    t.loc["r.b", "measured"] = 2.5
    assert undisclosed(c, t) == ["r.b: 2 (c) vs 2.5, and its description does not say so"]


@pytest.mark.parametrize("name,other", [
    pytest.param(e, o, marks=() if e == "recovery" and o == "torch" else pytest.mark.slow)
    for e in sorted(TRAINING) for o in ("torch", "compiled")])
def test_trained_values_agree_in_float64(name, other, cli, tmp_path):
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    _skip_without(other)
    c, t = (_summary(cli, tmp_path, name, engine, "smoke", "dtype=float64") for engine in ("c", other))
    assert not differences(c, t, name, float64=True, other=other)


@pytest.mark.slow
def test_recovery_verdicts_at_quick_do_not_flip(cli, tmp_path):
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    c, t = (_summary(cli, tmp_path, "recovery", engine, "quick") for engine in ("c", "torch"))
    assert (c.verdict == t.verdict.reindex(c.index)).all(), differences(c, t, "recovery")
