"""The scorecard rolls a headline up by its stated rule; the report opens with it and stays small."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hjexp import claims as C
from hjexp.scorecard import HEADLINES, Headline, experiment_order, score

H = Headline("demo", "a statement", ("demo",), ("demo.*",), "demo.main", must_fail=("demo.control.*",),
             must_pass=("demo.peer",), anchors=("demo.literature",))
FORCED = C.bound("demo.forced", "", 0.5, 1.0, arithmetic="by construction")


def frame(*claims: C.Claim) -> pd.DataFrame:
    return pd.DataFrame([c.row() for c in claims])


def ok(cid):
    return C.exact(cid, "", 0.0, tol=1e-9)


def bad(cid):
    return C.exact(cid, "", 1.0, tol=1e-9)


def test_all_pass_names_the_decisive_row_and_counts_forced_passes_apart():
    ln = score(H, frame(ok("demo.other"), ok("demo.main"), FORCED, bad("demo.control.c")))
    assert ln.verdict == "pass" and ln.number.startswith("demo.main")
    assert "3 judged: 3 pass (1 arithmetic)" in ln.evidence
    assert "1 of 1 must-fail controls fail" in ln.controls


def test_one_failing_row_fails_the_statement_and_is_its_number():
    ln = score(H, frame(ok("demo.main"), bad("demo.other"), bad("demo.control.c")))
    assert ln.verdict == "fail" and ln.number.startswith("demo.other")


def test_a_negative_control_that_passes_makes_the_statement_undecided():
    ln = score(H, frame(ok("demo.main"), ok("demo.control.c")))
    assert ln.verdict == "inconclusive" and "control demo.control.c" in ln.number


def test_a_positive_control_that_fails_makes_the_statement_undecided():
    ln = score(H, frame(ok("demo.main"), bad("demo.peer"), bad("demo.control.c")))
    assert ln.verdict == "inconclusive" and "demo.peer" in ln.number


def test_info_rows_and_anchors_never_count_and_absent_rows_are_not_run():
    info = C.info("demo.main", "", 1.0, why="x")
    assert score(H, frame(info, bad("demo.literature"))).verdict == "not run"
    ln = score(H, frame(ok("demo.main"), bad("demo.literature"), bad("demo.control.c")))
    assert ln.verdict == "pass" and "demo.literature fail" in ln.anchors


def test_every_catalogued_claim_of_a_judged_kind_belongs_to_a_headline():
    """A new judged claim id that no headline covers would silently miss the scorecard."""
    from hjexp import registry

    for name, exp in registry.experiments().items():
        for spec in exp.module.CLAIMS:
            cid = spec.claim_id.replace("{", "").replace("}", "")
            if spec.kind != "info":
                assert any(h._any(h.rows + h.must_fail + h.must_pass + h.anchors, cid) for h in HEADLINES), \
                    f"{name}: {spec.claim_id} is judged but no scorecard headline covers it"
    assert set(experiment_order()) == set(registry.experiments())


def test_report_opens_with_the_scorecard_and_embeds_small_figures(cli, run_smoke, tmp_path):
    run, _ = run_smoke("identity")
    out = tmp_path / "rep"
    result = cli("report", str(run), "--out", str(out))
    assert result.exit_code == 0, result.output
    md = (out / "REPORT.md").read_text()
    assert md.split("\n## ")[1].startswith("Scorecard")
    assert "| **pass** |" in md and "| **not run** |" in md  # identity ran, the others did not
    html = (out / "REPORT.html").read_text()
    assert html.index('id="scorecard"') < html.index('id="identity"')
    biggest = max((run / "figures").glob("*.png"), key=lambda f: f.stat().st_size)
    from hjexp.report import _compact_png

    assert len(_compact_png(biggest)) < biggest.stat().st_size


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_first_screen_of_the_html_report_shows_the_scorecard(cli, run_smoke, tmp_path):
    run, _ = run_smoke("identity")
    out = tmp_path / "rep"
    assert cli("report", str(run), "--out", str(out)).exit_code == 0
    shot = tmp_path / "first.png"
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,900", f"--screenshot={shot}", (out / "REPORT.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    # The scorecard's header row has a colour of its own (#e3ebf7): it must fill a band of the first screen.
    assert (np.abs(pixels.astype(int) - (0xE3, 0xEB, 0xF7)).sum(1) <= 3).sum() > 5000
    assert pixels.std() > 10  # not a blank page
