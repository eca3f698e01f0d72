"""Same answers on every backend: each experiment at smoke on engine=c and on engine=torch gives the same
verdicts, and its measured values agree within a tolerance stated per kind of quantity (below).

Two experiments run in the default suite (the ones that train the most at smoke); every experiment runs
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
TRAINED = 5e-2  # values of models trained by Adam: the roundoff of the pass moves the trajectory
TRAINING = {"recovery", "rate-sweep", "scaling-dim", "eps-robustness"}
TIMINGS = {"bifurcation.three_atoms.methods", "bifurcation.clusters_1d.methods", "influence.cost_exponent.wall"}
TRAJECTORY = "follows the training trajectory"  # rows that say so in their description: verdicts only


def _summary(cli, out: Path, name: str, engine: str, profile: str) -> pd.DataFrame:
    result = cli("run", name, f"profile={profile}", f"engine={engine}", "threads=1", f"out={out / engine}")
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / engine / "summary.csv").set_index("claim_id")


def differences(c: pd.DataFrame, t: pd.DataFrame, experiment: str) -> list[str]:
    """What the torch pass's summary does differently from the C pass's, one line each."""
    out = [f"{cid}: rows differ" for cid in set(c.index) ^ set(t.index)]
    tol = TRAINED if experiment in TRAINING else DETERMINISTIC
    for cid in c.index.intersection(t.index):
        a, b = c.loc[cid], t.loc[cid]
        if a.verdict != b.verdict:
            out.append(f"{cid}: verdict {a.verdict} (c) vs {b.verdict} (torch)")
        if cid in TIMINGS or TRAJECTORY in str(a.description):
            continue
        x, y = pd.to_numeric(a.measured, errors="coerce"), pd.to_numeric(b.measured, errors="coerce")
        if math.isnan(x) and math.isnan(y) or max(abs(x), abs(y)) <= ROUNDOFF:
            continue
        if not abs(x - y) <= tol * max(abs(x), abs(y)):
            out.append(f"{cid}: measured {x:.6g} (c) vs {y:.6g} (torch), beyond {tol:g} relative")
    return out


def test_differences_sees_a_changed_verdict_and_value():
    """The comparison can fail."""
    c = pd.DataFrame({"claim_id": ["a.x", "a.y"], "verdict": ["pass", "pass"], "measured": [1.0, 2.0],
                      "description": ["", ""]}).set_index("claim_id")
    t = c.copy()
    t.loc["a.x", "verdict"], t.loc["a.y", "measured"] = "fail", 2.1
    assert len(differences(c, t, "identity")) == 2 and len(differences(c, c, "identity")) == 0


@pytest.mark.parametrize("name", [pytest.param(e, marks=() if e in DEFAULT else pytest.mark.slow) for e in EXPERIMENTS])
def test_c_and_torch_passes_agree_at_smoke(name, cli, tmp_path):
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    c, t = (_summary(cli, tmp_path, name, engine, "smoke") for engine in ("c", "torch"))
    assert not differences(c, t, name)


@pytest.mark.slow
def test_recovery_verdicts_at_quick_do_not_flip(cli, tmp_path):
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    c, t = (_summary(cli, tmp_path, "recovery", engine, "quick") for engine in ("c", "torch"))
    assert (c.verdict == t.verdict.reindex(c.index)).all(), differences(c, t, "recovery")
