"""Report generator: numbers match the records, bad records files get one-line errors."""
import json
import math

import pytest

from oracles import REGISTRY, records, run_check
from reports import RecordsError, compare_with_baseline, load, markdown, summarize
from reports.__main__ import main

from broken_layers import BROKEN


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A real recorded run: one correct layer and one broken layer."""
    d = tmp_path_factory.mktemp("records")
    with records.to(d, "run1"):
        run_check(REGISTRY["relu"], "float64", max_examples=5)
        spec, dtype, _ = BROKEN["affine_db_wrong_axis"]
        run_check(spec, dtype, max_examples=5)
    return d


def test_records_go_back_to_the_session_sink(recorded):
    assert records.active() is None or recorded not in records.active().parents


def test_summary_numbers_match_the_records(recorded):
    rows, warnings = load(recorded)
    assert not warnings
    s = summarize(rows)
    assert s["totals"]["comparisons"] == len(rows)
    assert s["totals"]["failed"] == sum(not r["passed"] for r in rows) > 0
    for row in s["rows"]:
        mine = [r for r in rows if (r["layer"], r["dtype"], r["oracle"]) == (row["layer"], row["dtype"], row["oracle"])]
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
    assert "FAIL" in md and "affine_db_wrong_axis [float64] grad_b vs torch" in md and "| relu | float64 |" in md
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
    target = next(r for r in grown["rows"] if r["layer"] == "relu" and r["max_abs"] > 0)
    target["max_abs"] *= 50
    flagged = compare_with_baseline(grown, base)
    assert any("relu/float64" in f and "grew 50x" in f for f in flagged)
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
