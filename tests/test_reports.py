"""Report generator: numbers match the records, bad records files get one-line errors."""
import json
import math

import pytest

from dataclasses import replace
from html.parser import HTMLParser

from oracles import REGISTRY, records, run_check
from oracles.spec import Convention
from reports import RecordsError, compare_with_baseline, load, markdown, summarize
from reports.__main__ import main

from broken_layers import BROKEN


ODD_NAME = 'relu<script>alert("x")</script>&'


def _runs():
    """A real run: a correct layer, a broken layer, a documented convention difference at a kink, and
    a layer whose name needs HTML escaping."""
    import jax.numpy as jnp

    run_check(REGISTRY["relu"], "float64", max_examples=5)
    run_check(REGISTRY["sigmoid"], "float64", max_examples=5)  # inexact: nonzero errors to compare
    spec, dtype, _ = BROKEN["affine_db_wrong_axis"]
    run_check(spec, dtype, max_examples=5)
    one_at_zero = Convention("x = 0", reference="0", torch="0", jax="1", agree=("torch",))
    kinked = replace(REGISTRY["relu"], name="relu_vs_step_at_zero", conventions=(one_at_zero,),
                     jax_fn=lambda x: jnp.where(x >= 0, x, 0.0))
    run_check(kinked, "float64", max_examples=5, convention=one_at_zero)
    run_check(replace(REGISTRY["relu"], name=ODD_NAME), "float32", max_examples=3)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    d = tmp_path_factory.mktemp("records")
    with records.to(d, "run1"):
        _runs()
    return d


def test_records_go_back_to_the_session_sink(recorded):
    assert records.active() is None or recorded not in records.active().parents


def test_summary_numbers_match_the_records(recorded):
    rows, warnings = load(recorded)
    assert not warnings
    s = summarize(rows)
    assert s["totals"]["comparisons"] == len(rows)
    assert s["totals"]["failed"] == sum(not r["passed"] for r in rows) > 0
    differences = [r for r in rows if r["convention"] and r["extra"].get("differs")]
    assert s["totals"]["convention_differences"] == len(differences) > 0
    for row in s["rows"]:
        mine = [r for r in rows if (r["layer"], r["dtype"], r["oracle"]) == (row["layer"], row["dtype"], row["oracle"])
                and r not in differences]
        assert row["comparisons"] == len(mine)
        assert row["max_abs"] == max(r["max_abs"] for r in mine)
        assert row["min_headroom"] == min(r["headroom"] for r in mine)
    relu = [r for r in s["rows"] if r["layer"] == "relu"]
    assert relu and all(r["failed"] == 0 for r in relu)
    broken = {f["stage"] for f in s["failures"]}
    assert broken == {"grad_b"}
    assert all(f["repro"].startswith("import numpy as np") for f in s["failures"])


def test_recommended_tolerance_is_in_force_over_headroom(recorded):
    s = summarize(load(recorded)[0])
    for row in s["rows"]:
        if row["recommended_rtol"] is not None and row["failed"] == 0:
            assert math.isclose(row["recommended_rtol"] * row["min_headroom"], row["rtol"])


def test_markdown_and_cli(recorded, tmp_path, capsys):
    assert main([str(recorded), "-o", str(tmp_path)]) == 1  # the records hold failures
    md = (tmp_path / "report.md").read_text()
    assert "FAIL" in md and r"affine\_db\_wrong\_axis [float64] grad\_b vs torch" in md and "| relu | float64 |" in md
    assert (tmp_path / "job-summary.md").is_file()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schema"] == "oracle-summary/1"
    assert "report:" in capsys.readouterr().out


def test_markdown_stays_small_for_a_large_run(recorded):
    rows = load(recorded)[0]
    failing = [r for r in rows if not r["passed"]]
    big = rows + [dict(r, layer=f"layer{i}") for i in range(3000) for r in failing[:1]]
    assert len(markdown(summarize(big)).encode()) < 1 << 20


def test_baseline_flags_a_planted_regression(recorded):
    s = summarize(load(recorded)[0])
    base = json.loads(json.dumps(s))
    grown = json.loads(json.dumps(s))
    target = next(r for r in grown["rows"] if r["max_abs"] > 0 and not r["failed"])
    target["max_abs"] *= 50
    flagged = compare_with_baseline(grown, base)
    key = f"{target['layer']}/{target['dtype']}/{target['oracle']}"
    assert any(key in f and "grew 50x" in f for f in flagged), flagged
    base_ok = json.loads(json.dumps(s))
    for r in base_ok["rows"]:
        r["failed"] = 0
    assert any("newly failing" in f for f in compare_with_baseline(s, base_ok))
    assert compare_with_baseline(s, s) == []


def test_truncated_records_still_report_with_a_warning(recorded, tmp_path):
    src = next(recorded.glob("records-*.jsonl")).read_text()
    f = tmp_path / "records-x-main.jsonl"
    f.write_text(src[: len(src) - 40])  # cut in the middle of the last line
    rows, warnings = load(f)
    assert rows and len(warnings) == 1 and "cut short" in warnings[0]


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("hello\n", "not a records file"),
    ('{"schema": "something-else"}\n', "not a records file"),
    ('{"schema": "oracle-records/1"}\n', "holds no comparisons"),
], ids=["empty", "not-json", "foreign-schema", "header-only"])
def test_bad_records_files_get_one_line_errors(tmp_path, content, message, capsys):
    f = tmp_path / "records-x-main.jsonl"
    f.write_text(content)
    with pytest.raises(RecordsError, match=message):
        load(f)
    assert main([str(f), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_missing_records_folder(tmp_path):
    with pytest.raises(RecordsError, match="does not exist"):
        load(tmp_path / "nope")


def test_convention_differences_are_listed_not_failed(recorded):
    s = summarize(load(recorded)[0])
    conv = [c for c in s["conventions"] if c["layer"] == "relu_vs_step_at_zero"]
    assert conv and {c["oracle"] for c in conv} == {"jax"} and {c["stage"] for c in conv} == {"grad_x"}
    assert all(c["examples"] >= 1 and c["max_difference"] > 0 for c in conv)
    assert not [f for f in s["failures"] if f["layer"] == "relu_vs_step_at_zero"]
    # the expected difference stays out of the error table: what is left there passed with headroom
    rows = [r for r in s["rows"] if r["layer"] == "relu_vs_step_at_zero"]
    assert rows and all(r["failed"] == 0 and r["min_headroom"] >= 1 for r in rows)
    md = markdown(s)
    assert r"| relu\_vs\_step\_at\_zero | float64 | jax | grad\_x | x = 0: reference 0; PyTorch 0; JAX 1 |" in md


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_parses_holds_plots_and_escapes(recorded, tmp_path):
    main([str(recorded), "-o", str(tmp_path)])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    p = _Tags()
    p.feed(page)
    p.close()
    assert p.tags.count("svg") >= 2 and "rect" in p.tags and "details" in p.tags  # small multiples, folded details
    assert "script" not in p.tags, "a layer name must not become markup"
    external = [v for k, v in p.attrs if k in ("src", "href") and v and not v.startswith(("data:", "#"))]
    assert not external, f"report.html must not load anything: {external}"
    text = "".join(p.text)
    assert ODD_NAME in text  # shown as text, escaped in the source
    assert "&lt;script&gt;" in page
    for part in ("affine_db_wrong_axis", "import numpy as np", "Oracle agreement", "Slowest checks", "x = 0: reference 0"):
        assert part in text, part


def test_agreement_matrix_matches_the_records(recorded):
    rows = load(recorded)[0]
    s = summarize(rows)
    m = s["agreement"]["float64"]
    plain = [r for r in rows if r["dtype"] == "float64" and not (r.get("convention") and r["extra"].get("differs"))]
    assert m["reference|torch"] == max(r["max_abs"] for r in plain if r["oracle"] == "torch")
    # torch against jax: every example except those put on the kink where JAX's convention is documented
    # to differ (there torch and jax differ as documented: listed on their own, not in the matrix)
    away = [r["extra"]["vs"]["jax"] for r in plain if r["oracle"] == "torch" and "jax" in r["extra"].get("vs", {})
            and not (r["layer"] == "relu_vs_step_at_zero" and r["extra"].get("kink"))]
    assert away and m["torch|jax"] == max(away) < 1e-9
    at_kink = [r["extra"]["vs"]["jax"] for r in plain if r["layer"] == "relu_vs_step_at_zero" and "jax" in r["extra"].get("vs", {})
               and r["extra"].get("kink")
               and r["oracle"] == "torch" and r["stage"] == "grad_x"]
    assert max(at_kink) > 0.1  # the documented difference is real...
    listed = [k for k in s["agreement_at_kinks"] if k["layer"] == "relu_vs_step_at_zero" and k["pair"] == "torch|jax"]
    assert [k["max_difference"] for k in listed] == [max(at_kink)] and listed[0]["kink"] == "x = 0"  # ...and listed


def test_records_split_over_workers_give_the_same_report(tmp_path):
    """What pytest-xdist does: one run id, one file per worker; the report merges them into the same
    numbers as the workers' records taken together."""
    from reports.records_io import load_files

    split = tmp_path / "split"
    with records.to(split, "runB", worker="gw0"):
        run_check(REGISTRY["relu"], "float64", max_examples=4)
    with records.to(split, "runB", worker="gw1"):
        run_check(REGISTRY["sigmoid"], "float32", max_examples=4)
    files = sorted(split.glob("records-runB-*.jsonl"))
    assert len(files) == 2
    merged = summarize(load(split)[0])
    separately = summarize(load_files([files[0]])[0] + load_files([files[1]])[0])
    assert merged == separately
    assert {(r["layer"], r["dtype"]) for r in merged["rows"]} == {("relu", "float64"), ("sigmoid", "float32")}


def test_non_finite_and_odd_records_do_not_crash_the_report(recorded, tmp_path):
    """A baseline with "inf" strings, network norms that overflowed, a NaN headroom, and a run made of
    convention differences only: the report is still written."""
    rows = load(recorded)[0]
    s = summarize(rows)
    base = json.loads((lambda d: d)(json.dumps({"rows": [dict(r, max_abs="inf") for r in s["rows"]]})))
    compare_with_baseline(s, base)
    odd = [dict(rows[0], layer="network_x", extra={"site": "0:affine", "stage": "grad_W", "norms": {"reference": float("inf"), "torch": "nan"}}),
           dict(rows[0], headroom=float("nan"), passed=False)]
    from reports.html import render

    s2 = summarize(odd)
    assert s2["rows"][0]["min_headroom"] == 0.0 or s2["rows"][-1]["min_headroom"] == 0.0
    assert "<svg" in render(s2)
    only_diffs = [r for r in rows if r["convention"] and r["extra"].get("differs")]
    f = tmp_path / "records-x-main.jsonl"
    f.write_text('{"schema": "oracle-records/1"}\n' + "".join(json.dumps(r) + "\n" for r in only_diffs))
    assert main([str(f), "-o", str(tmp_path / "out")]) == 0


def test_outcome_field_is_read_and_old_records_fall_back_to_passed(recorded):
    from reports.aggregate import outcome_of

    assert outcome_of({"passed": True}) == "pass" and outcome_of({"passed": False}) == "fail"
    assert outcome_of({"passed": True, "outcome": "error"}) == "error"
    rows = load(recorded)[0]
    assert summarize([dict(r, outcome="pass" if r["passed"] else "fail") for r in rows]) == summarize(rows)
    # neither pass nor fail: not counted as a failure, and its headroom does not shape the recommendation
    row = next(r for r in rows if r["passed"] and r["layer"] == "sigmoid")
    s = summarize([dict(row, outcome="inconclusive", passed=False)])
    assert s["totals"]["failed"] == 0 and s["failures"] == [] and s["rows"][0]["recommended_rtol"] is None


def test_report_modules_import_aggregation_not_each_other():
    """markdown, html, jsonout and jobsummary depend on the aggregation, never on one another, and no reports module
    imports another in a cycle (function-level imports included)."""
    import ast
    from pathlib import Path

    import reports

    folder = Path(reports.__file__).parent
    mods = {p.stem for p in folder.glob("*.py")}
    graph = {}
    for p in folder.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level == 1 or (node.module or "").startswith("reports")):
                target = (node.module or "").removeprefix("reports").lstrip(".")
                deps |= {target} if target else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("reports.")}
        graph[p.stem] = (deps & mods) - {p.stem}
    outputs = {"markdown", "html", "jsonout", "jobsummary"}
    for m in outputs:
        assert not graph[m] & (outputs | {"__main__", "__init__"}), (m, graph[m])

    def reach(m, seen):
        for d in graph[m] - seen:
            seen.add(d)
            reach(d, seen)
        return seen

    assert not [m for m in graph if m in reach(m, set())], graph


# --- the first screen, the CI job summary, Markdown escaping --------------------------------------------

HOSTILE = 'relu<script>alert(1)</script>|x\n# heading [link](http://example.com) `tick` *em* _u_'


def _hostile(rows):
    """The records with every name and message a Markdown renderer could misread."""
    return [dict(r, layer=HOSTILE if r["layer"] == "relu" else r["layer"], note=r["note"] or ("note|" + HOSTILE),
                 family="fam<b>|\n#") for r in rows]


def _table_cells(line: str) -> int:
    """Cells of a Markdown table row: its unescaped pipes, less one."""
    import re

    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_markdown_escapes_every_name(recorded, tmp_path):
    """report.md and job-summary.md are shown as a CI job summary, which renders HTML and Markdown: a name
    with `<script>`, `|`, a newline, a heading, a link, backticks stays one line of text."""
    from reports.jobsummary import render as job

    s = summarize(_hostile(load(recorded)[0]))
    assert any(r["layer"] == HOSTILE for r in s["rows"])
    for text in (markdown(s, ["regressed: " + HOSTILE], [HOSTILE]), job(s, "out/report.html")):
        outside_fences = []
        fenced = False
        for line in text.splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced:
                outside_fences.append(line)
        prose = "\n".join(outside_fences)
        assert "<script" not in prose and "<b>" not in prose
        assert "](http" not in prose.replace("\\](", "")  # an escaped bracket makes no link
        assert not any(line.lstrip().startswith(("# heading", "#heading")) for line in outside_fences)
        assert r"relu&lt;script&gt;alert(1)&lt;/script&gt;\|x \# heading \[link\](http://example.com) \`tick\` \*em\* \_u\_" in prose
        assert r"fam&lt;b&gt;\| \#" in prose or text.startswith("## Gradient oracles")  # the family, in report.md


def test_markdown_tables_keep_their_columns_with_hostile_names(recorded):
    s = summarize(_hostile(load(recorded)[0]))
    md = markdown(s).splitlines()
    header = md.index(next(l for l in md if l.startswith("| layer | dtype | jax")))
    width = _table_cells(md[header])
    body = []
    for line in md[header + 2:]:
        if not line.startswith("|"):
            break
        body.append(line)
    assert body and all(_table_cells(l) == width for l in body), [l for l in body if _table_cells(l) != width]


def test_failing_run_first_screen_and_job_summary(recorded, tmp_path, monkeypatch):
    """The failing layer comes first, with stage, oracle, headroom and its repro, in report.html's first
    section, report.md and job-summary.md; the job summary is appended to GITHUB_STEP_SUMMARY."""
    step = tmp_path / "step-summary.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    assert main([str(recorded), "-o", str(tmp_path / "out")]) == 1
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    first = s["problems"][0]
    assert (first["layer"], first["stage"], first["outcome"]) == ("affine_db_wrong_axis", "grad_b", "fail")
    assert first["repro"].startswith("import numpy as np") and first["headroom"] < 1 and first["count"] >= 1
    job = (tmp_path / "out" / "job-summary.md").read_text()
    assert job.startswith("## Gradient oracles: FAIL")
    assert r"**FAIL** affine\_db\_wrong\_axis [float64] at grad\_b against" in job
    assert "```python\nimport numpy as np" in job and "### Lowest headrooms that passed" in job
    assert str(tmp_path / "out" / "report.html") in job
    assert len(job.encode()) < 64 * 1024
    assert step.read_text() == "earlier step\n" + job
    page = (tmp_path / "out" / "report.html").read_text()
    verdict, problems = page.index("id='verdict'"), page.index("id='problems'")
    assert verdict < problems < page.index("affine_db_wrong_axis") < page.index("id='closest'") < page.index("id='families'")
    assert "<details open><summary>reproduce</summary><pre>import numpy as np" in page


def test_closest_calls_skip_failing_layers_and_say_why(recorded):
    s = summarize(load(recorded)[0])
    cs = s["closest"]
    assert 1 <= len(cs) <= 5 and [c["headroom"] for c in cs] == sorted(c["headroom"] for c in cs)
    assert "affine_db_wrong_axis" not in {c["layer"] for c in cs}
    assert all(c["headroom"] >= 1 and "against atol" in c["reason"] for c in cs)


def test_families_group_layers_and_their_histograms_count_every_comparison(recorded):
    rows = load(recorded)[0]
    s = summarize(rows)
    fams = {f["family"]: f for f in s["families"]}
    assert {r["family"] for r in rows} == set(fams)  # the records say each layer's family
    assert "relu" in fams["seeds"]["layers"] and s["families"][0]["failed"] > 0  # failing families first
    compared = [r for r in rows if not (r["convention"] and r["extra"].get("differs"))]
    for f in s["families"]:
        mine = [r for r in compared if r["family"] == f["family"]]
        assert f["comparisons"] == len(mine) == sum(map(sum, f["headroom"].values())) == sum(map(sum, f["error"].values()))
        assert f["failed"] == sum(map(sum, f.get("failed_bins", {}).values())) == sum(r["outcome"] == "fail" for r in mine)


def test_baseline_diff_on_the_first_screen_newly_failing_and_inconclusive(recorded, tmp_path):
    """Against a baseline where everything passed: the broken layer is newly failing, a sigmoid check that
    became inconclusive is listed as such, a grown error as worse; report.html shows them first."""
    from reports import baseline_diff
    from reports.html import render

    rows = load(recorded)[0]
    base = summarize([r for r in rows if r["layer"] != "affine_db_wrong_axis"]
                     + [dict(r, outcome="pass", passed=True) for r in rows if r["layer"] == "affine_db_wrong_axis"])
    now_rows = [dict(r, outcome="inconclusive", passed=False) if (r["layer"], r["oracle"], r["example"]) == ("sigmoid", "torch", 0) else r
                for r in rows]
    now = summarize(now_rows)
    diff = baseline_diff(now, json.loads(json.dumps(base, default=str)))
    assert {e["layer"] for e in diff["newly_failing"]} == {"affine_db_wrong_axis"}
    assert [e["key"] for e in diff["newly_inconclusive"]] == ["sigmoid/float64/torch"]
    page = render(now, diff=diff)
    box = page[page.index("id='baseline'"):page.index("id='problems'")]
    assert "Newly failing (3)" in box and "Became inconclusive (1)" in box and "sigmoid/float64/torch" in box
    assert page.index("id='verdict'") < page.index("id='baseline'") < page.index("id='problems'")
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(base, default=str))
    assert main([str(recorded), "-o", str(tmp_path / "out"), "--baseline", str(base_file)]) == 1
    assert "baseline_diff" in json.loads((tmp_path / "out" / "summary.json").read_text())
