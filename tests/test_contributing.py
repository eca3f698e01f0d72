"""CONTRIBUTING.md's promise: a new experiment is its package, its config and its test — nothing else.

The test writes the minimal experiment the guide walks through (a one-claim check that softmax sums to one)
into a temporary tree beside copies of the shipped configs and experiments, points hjexp at that tree with
HJEXP_ROOT, and runs it through `hjexp list`, `run`, `judge` and `plot` in a fresh process, as a newcomer
would. A broken toy (a claim the catalogue lacks) must stop the run with one line naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

PACKAGE = {
    "__init__.py": '''
        """toy — softmax weights sum to one (the guide's worked example)."""

        from .contract import CONTRACT
        from .judge import CLAIMS, judge
        from .measure import measure
        from .plot import plot

        CLAIM = "the Gibbs weights of an LSE layer sum to one"
        COST = "smoke 1 s / quick 1 s / paper 1 s"
        DEFAULT_DTYPE = "float64"
        ''',
    "contract.py": '''
        from hjexp.contract import FLOAT, INT, STR, Contract, Keys, Table


        class Part(Keys):
            SUMS = "sums"


        CONTRACT = Contract(measure=(Table("results", {"part": STR, "n": INT, "value": FLOAT}, keys={"part": Part}),))
        ''',
    "measure.py": '''
        import torch

        from .contract import Part


        def measure(ctx):
            for n in ctx.params.widths:
                z = torch.randn(ctx.params.points, n, generator=ctx.generator(n), dtype=ctx.dtype)
                err = (torch.softmax(z, -1).sum(-1) - 1).abs().max()
                ctx.add_rows([{"part": Part.SUMS, "n": int(n), "value": float(err)}])
        ''',
    "judge.py": '''
        from hjexp import claims as C

        from .contract import Part

        CLAIMS = (C.Spec("toy.sums.max_abs_err", "exact", "0", "max |Σ_j π_j − 1| over random logits"),)


        def judge(run):
            df = run.table("results")
            err = float(df[df.part == Part.SUMS].value.max())
            return [C.exact("toy.sums.max_abs_err", "max |Σ_j π_j − 1| over random logits", err,
                            tol=run.rules.tol, arithmetic="softmax divides by the sum")]
        ''',
    "plot.py": '''
        import pandas as pd

        from hjexp import plotting


        def plot(run_dir):
            df = pd.read_csv(run_dir / "results.csv")
            fig, axes = plotting.figure()
            ax = axes[0][0]
            ax.plot(df.n, df.value.clip(lower=1e-18), "o-")
            ax.set(xscale="log", yscale="log", xlabel="neurons N", ylabel="max |Σπ − 1|")
            plotting.save(fig, run_dir, "sums")
        ''',
}

CONFIG = '''
    # @package _global_
    params:
      widths: ${per_profile:[2,8],[2,8,64],[2,8,64,512]}
      points: 100
    judge:
      tol: 1.0e-12
    '''


def _tree(tmp_path: Path) -> Path:
    """A tree with the shipped configs and experiments (no hjexp/ of its own) plus the toy."""
    root = tmp_path / "tree"
    shutil.copytree(ROOT / "configs", root / "configs")
    shutil.copytree(ROOT / "experiments", root / "experiments", ignore=shutil.ignore_patterns("__pycache__"))
    pkg = root / "experiments" / "toy"
    pkg.mkdir()
    for name, text in PACKAGE.items():
        (pkg / name).write_text(textwrap.dedent(text).lstrip())
    (root / "configs" / "experiment" / "toy.yaml").write_text(textwrap.dedent(CONFIG).lstrip())
    return root


def _hjexp(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HJEXP_ROOT": str(root), "HJEXP_OUTPUTS": str(root / "outputs")}
    return subprocess.run([sys.executable, "-m", "hjexp", *args], capture_output=True, text=True, env=env,
                          cwd=root, timeout=300)


def test_a_toy_experiment_needs_only_its_package_config_and_test(tmp_path):
    root = _tree(tmp_path)
    listed = _hjexp(root, "list")
    assert listed.returncode == 0 and "toy" in listed.stdout, listed.stdout + listed.stderr
    run = _hjexp(root, "run", "toy", "profile=smoke", f"out={root / 'run'}")
    assert run.returncode == 0, run.stdout + run.stderr
    summary = pd.read_csv(root / "run" / "summary.csv")
    assert summary.set_index("claim_id").verdict.to_dict() == {"toy.sums.max_abs_err": "pass"}
    again = _hjexp(root, "judge", str(root / "run"), "judge.tol=0")
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(root / "run" / "summary.csv").verdict.iloc[0] == "fail"  # roundoff > 0: judging reads its rules
    assert _hjexp(root, "plot", str(root / "run")).returncode == 0
    assert (root / "run" / "figures" / "sums.png").exists()


def test_a_claim_missing_from_the_catalogue_stops_the_run_with_one_line(tmp_path):
    root = _tree(tmp_path)
    judge = root / "experiments" / "toy" / "judge.py"
    judge.write_text(judge.read_text().replace('C.exact("toy.sums.max_abs_err"', 'C.exact("toy.sums.typo"'))
    run = _hjexp(root, "run", "toy", "profile=smoke", f"out={root / 'run'}")
    assert run.returncode != 0
    lines = [ln for ln in (run.stdout + run.stderr).strip().splitlines() if ln.strip()]
    assert any("toy.sums.typo" in ln for ln in lines[-3:]), run.stdout + run.stderr
