"""The report as a person sees it, in a real browser: a small real gate run (three of the gate's layers,
the deep sigmoid networks, and one broken layer: tests/report_browser_gate.py), its report written by
`python -m reports`, opened in headless Chromium (Debian's `chromium` package; `.ci/run` installs it) at
1280 x 800. Asserted from the rendered page: the verdict and the failure list are inside the first
viewport and the failing layer comes first; a passing run (the same records without the broken layer)
says so with its closest calls; no horizontal overflow at 1280 px (details folded or open); every plot has
a non-empty drawing and a caption; no console errors. The screenshots stay in build/report-browser/ (a CI
artifact). Skipped only where chromium is missing outside CI; with CI set, a missing chromium fails.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdp import CHROMIUM, Browser
from subproc import clean_env

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "report-browser"
BROKEN_LAYER = "sigmoid_deriv_from_input"
SELECT = ("TestLayer_relu or TestLayer_leaky_relu or TestLayer_maxpool2d_k3 or (oracle_network_deep and sigmoid) "
          "or broken_sigmoid")
WIDTH, HEIGHT = 1280, 800

# What the page looks like, measured in the page (plain DOM; the report itself has no scripts).
FACTS = """(() => {
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  const first = document.querySelector('#problems ol.problems > li');
  const figures = [...document.querySelectorAll('svg')].filter(s => s.getAttribute('aria-hidden') !== 'true').map(s => ({
    label: s.getAttribute('aria-label'), box: box(s),
    caption: (s.closest('figure')?.querySelector('figcaption')?.textContent || '').trim(),
    marks: [...s.querySelectorAll('.mark')].filter(m => { const b = m.getBBox(); return b.width + b.height > 0; }).length}));
  return {
    innerHeight, innerWidth, scrollWidth: document.documentElement.scrollWidth,
    verdict: box(document.querySelector('#verdict')), verdictText: document.querySelector('#verdict')?.textContent || '',
    first: box(first), firstTitle: box(first?.querySelector('.what')), firstTable: box(first?.querySelector('table')),
    firstRepro: box(first?.querySelector('pre')), firstText: first?.textContent || '',
    problemsText: document.querySelector('#problems')?.textContent || '',
    closestRows: [...document.querySelectorAll('#closest tr')].slice(1).map(r => ({box: box(r), text: r.textContent})),
    figures};
})()"""
OPEN_ALL = "document.querySelectorAll('details').forEach(d => d.open = true); document.documentElement.scrollWidth"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = clean_env(**{k: v for k, v in os.environ.items() if k == "ORACLE_JAX_CACHE"})
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{"failing": facts, "passing": facts} of the two rendered reports, plus what the browser logged."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    gate = _run([sys.executable, "-m", "pytest", "-m", "oracle", "--hypothesis-profile=ci", "-p", "no:cacheprovider",
                 "-p", "no:xdist", "-q", "--oracle-records", str(tmp / "records"), "tests/test_oracle_layers.py",
                 "tests/test_networks.py", "tests/report_browser_gate.py", "-k", SELECT])
    assert gate.returncode == 1 and f"FAILED tests/report_browser_gate.py" in gate.stdout, gate.stdout[-3000:]
    failing = _run([sys.executable, "-m", "reports", str(tmp / "records"), "-o", str(ARTIFACTS / "failing")])
    assert failing.returncode == 1, failing.stdout + failing.stderr
    passing_records = tmp / "passing" / "records-passing-main.jsonl"  # the same run without the broken layer
    passing_records.parent.mkdir()
    lines = (next((tmp / "records").glob("records-*.jsonl"))).read_text().splitlines()
    passing_records.write_text("\n".join([lines[0]] + [l for l in lines[1:] if json.loads(l)["layer"] != BROKEN_LAYER]) + "\n")
    passing = _run([sys.executable, "-m", "reports", str(passing_records), "-o", str(ARTIFACTS / "passing")])
    assert passing.returncode == 0, passing.stdout + passing.stderr
    out = {}
    with Browser(WIDTH, HEIGHT) as b:
        for name in ("failing", "passing"):
            b.console_errors.clear()
            b.open((ARTIFACTS / name / "report.html").as_uri())
            facts = b.evaluate(FACTS)
            b.screenshot(ARTIFACTS / f"{name}-first-screen.png")
            b.screenshot(ARTIFACTS / f"{name}-full-page.png", full_page=True)
            facts["scrollWidthAllOpen"] = b.evaluate(OPEN_ALL)
            facts["console_errors"] = list(b.console_errors)
            out[name] = facts
    return out


def first_screen_faults(f: dict, failing_layer: str | None) -> list[str]:
    """What is wrong with a page's first screen: the verdict, and for a failing run its failure list with
    the failing layer first (stage, oracles, numbers and the start of the repro inside the viewport)."""
    faults = []
    word = "FAIL" if failing_layer else "PASS"
    if word not in f["verdictText"] or f["verdict"] is None or f["verdict"]["bottom"] > f["innerHeight"]:
        faults.append(f"verdict {word} not in the first screen")
    if failing_layer is None:
        return faults
    if f["first"] is None:
        return faults + ["no failure list"]
    if failing_layer not in f["firstText"] or "grad_x" not in f["firstText"]:
        faults.append(f"the first failure is not {failing_layer} at grad_x: {f['firstText'][:200]}")
    if f["firstTable"] is None or f["firstTable"]["bottom"] > f["innerHeight"]:
        faults.append("the first failure's numbers are below the first screen")
    if f["firstRepro"] is None or f["firstRepro"]["top"] + 40 > f["innerHeight"]:
        faults.append("the first failure's repro snippet is not in the first screen")
    return faults


def figure_faults(figures: list[dict]) -> list[str]:
    """Plots without a visible drawing (no data mark with a non-empty box) or without a caption."""
    faults = []
    for f in figures:
        if not f["box"] or f["box"]["width"] <= 0 or f["box"]["height"] <= 0 or f["marks"] == 0:
            faults.append(f"{f['label']}: nothing drawn")
        if len(f["caption"]) <= 10:
            faults.append(f"{f['label']}: no caption")
    return faults


def overflow_faults(f: dict) -> list[str]:
    return [f"{what} is {w} px wide at {WIDTH} px" for what, w in
            (("the page", f["scrollWidth"]), ("the page with every <details> open", f["scrollWidthAllOpen"])) if w > WIDTH]


def test_failing_run_shows_the_verdict_and_its_failing_layer_first_in_the_first_screen(pages):
    f = pages["failing"]
    assert first_screen_faults(f, BROKEN_LAYER) == []
    for oracle in ("torch", "jax", "numerical"):
        assert oracle in f["firstText"]
    assert "from oracles import Case, replay" in f["firstText"]


def test_passing_run_says_so_with_its_closest_calls_in_the_first_screen(pages):
    p = pages["passing"]
    assert first_screen_faults(p, None) == []
    assert "every check passed" in p["problemsText"] and p["first"] is None
    assert p["closestRows"] and p["closestRows"][0]["box"]["bottom"] <= p["innerHeight"]
    assert BROKEN_LAYER not in json.dumps(p["closestRows"])


@pytest.mark.parametrize("name", ["failing", "passing"])
def test_no_horizontal_overflow_at_1280_px(pages, name):
    assert pages[name]["innerWidth"] == WIDTH
    assert overflow_faults(pages[name]) == []


@pytest.mark.parametrize("name", ["failing", "passing"])
def test_every_plot_has_a_drawing_and_a_caption(pages, name):
    labels = [f["label"] for f in pages[name]["figures"]]
    assert any(l.startswith("headroom of") for l in labels) and any(l.startswith("errors of") for l in labels)
    assert any(l.startswith("gradient norms of network_deep_sigmoid") for l in labels), labels
    assert figure_faults(pages[name]["figures"]) == []


@pytest.mark.parametrize("name", ["failing", "passing"])
def test_no_console_errors(pages, name):
    assert pages[name]["console_errors"] == []


BAD_PAGE = """<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='margin:0'>
<div style='height:900px'>a long preamble pushes everything below the first screen</div>
<section id='verdict'>FAIL</section>
<section id='problems'><ol class='problems'><li><p class='what'>some_other_layer at forward</p></li></ol></section>
<div style='width:1500px'>too wide</div>
<figure><svg aria-label='empty plot' width='100' height='50'><line x1='0' y1='0' x2='10' y2='0' stroke='#000'/></svg></figure>
<img src='does-not-exist.png' alt=''><script>console.error('boom')</script></body></html>"""


def test_the_browser_checks_can_fail(tmp_path):
    """Each check above, on a page built to break it: verdict and failures below the fold, the wrong
    layer first, a plot with no data and no caption, a page wider than 1280 px, console errors."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    page = tmp_path / "bad.html"
    page.write_text(BAD_PAGE)
    with Browser(WIDTH, HEIGHT) as b:
        b.open(page.as_uri())
        facts = b.evaluate(FACTS)
        facts["scrollWidthAllOpen"] = b.evaluate(OPEN_ALL)
        errors = list(b.console_errors)
    faults = first_screen_faults(facts, BROKEN_LAYER)
    assert any("verdict" in f for f in faults) and any(f"not {BROKEN_LAYER}" in f for f in faults), faults
    assert any("numbers are below" in f for f in faults) and any("repro" in f for f in faults), faults
    assert sorted(figure_faults(facts["figures"])) == ["empty plot: no caption", "empty plot: nothing drawn"]
    assert len(overflow_faults(facts)) == 2
    assert any("boom" in e for e in errors) and any("does-not-exist.png" in e for e in errors), errors
