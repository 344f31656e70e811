"""Misuse at run time (issue 15): budgets, hangs, sneaky layers, records and reports. Each case asserts
its outcome class (fail with this note, not-run with this reason, error with this message) and the key
words of the message; none passes, none ends in a traceback from another library, none runs unbounded.
tests/MISUSE.md has the table (misuse, outcome before, outcome after)."""
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from oracles import check_layer, layer_spec, records, run_check, work
from oracles.judge import ExampleRun, Outcome, judge_example
from oracles.result import OracleMismatch, OracleNotRun
from oracles.tolerances import Tol
from reports.__main__ import main as reports_main
from reports.records_io import RecordsError, load_run
from subproc import clean_env

FAST = ("torch", "numerical")  # no JAX compiles: these cases are about the harness, not the oracles


class Double:
    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        return 2 * dout


def double(make=lambda p: Double(), **kw):
    args = dict(inputs={"x": ("n",)}, fn=lambda xp, x: 2 * x, name="double_rt", max_examples=3, record=False,
                dtypes=("float64",), oracles=FAST)
    return check_layer(make, **{**args, **kw})


# --- the work budget and the hang guard ---------------------------------------------------------------------
def test_out_of_work_is_not_run_never_pass():
    report = double(max_examples=10, work_budget=30)
    r = report.results["float64"]
    assert not report.passed and r.outcome("torch", "forward") is Outcome.NOT_RUN
    msg = r.message("torch", "forward")
    assert msg.startswith("NOT-RUN:") and " of 10 examples" in msg and "work budget spent" in msg, msg
    with pytest.raises(OracleMismatch) as e:  # a failed test, not a skip: OracleNotRun would be a skip
        report.assert_passed()
    assert not isinstance(e.value, OracleNotRun)


def test_the_work_is_counted_from_outside_the_numerical_check():
    r = double(max_examples=4, sizes={"n": (5,)}).results["float64"]
    # per example: 1 reference + 3 hygiene (fresh instance, reused one, fresh one on the second input)
    # + at least 2 x 5 central differences, all counted outside the numerical oracle
    assert r.passed and r.calls >= r.examples * (1 + 3 + 10), (r.calls, r.examples)


def test_a_layer_with_slots_is_counted_per_make():
    class Slotted:
        __slots__ = ()

        def forward(self, x):
            return 2 * x

        def backward(self, dout):
            return 2 * dout

    r = double(make=lambda p: Slotted(), name="slotted").results["float64"]
    assert r.passed and r.calls > 0


def test_a_large_input_runs_out_of_work_in_bounded_time():
    """30,000 elements: the central differences need more than the default 100,000 forward calls of one
    example (4 per entry; scripts/misuse_probe.py measures the issue's 100,000 elements; same outcome)."""
    t0 = time.perf_counter()
    report = double(sizes={"n": (30_000,)}, max_examples=1, name="huge")
    took = time.perf_counter() - t0
    msg = report.results["float64"].message("numerical", "grad_x")
    assert not report.passed and msg.startswith("NOT-RUN:") and "0 of 1 examples" in msg and "work budget" in msg, msg
    assert took < 60, took


class Slow(Double):
    def forward(self, x):
        time.sleep(0.5)
        return 2 * x


def test_a_slow_layer_meets_the_hang_guard():
    t0 = time.perf_counter()
    with pytest.raises(work.CheckTimeout) as e:
        double(make=lambda p: Slow(), name="slow", max_examples=25, hang_guard=2)
    msg = str(e.value)
    assert time.perf_counter() - t0 < 10
    assert "\n" not in msg and msg.startswith("slow [float64]: hang guard") and "forward calls" in msg, msg
    assert re.search(r"0\.\d+ s a forward call", msg), msg  # 0.5 s in the layer, plus the harness's own time


def test_hang_guard_from_the_environment(monkeypatch):
    monkeypatch.setenv("ORACLE_HANG_GUARD", "1")
    with pytest.raises(work.CheckTimeout, match="limit 1 s"):
        double(make=lambda p: Slow(), name="slow_env", max_examples=25)


class Triple(Double):  # a wrong gradient: dx x3
    def backward(self, dout):
        return 3 * dout


def test_shrinking_is_bounded_by_the_budget():
    report = double(make=lambda p: Triple(), name="triple", sizes={"n": tuple(range(50, 400))},
                    max_examples=20, work_budget=3000)
    r = report.results["float64"]
    assert r.outcome("torch", "grad_x") is Outcome.FAIL and r.calls <= 3000 * 1.5 + 1000, r.calls


def test_a_failure_found_stands_when_the_budget_ends_its_shrinking():
    one = double(name="one300", sizes={"n": (300,)}, max_examples=1).results["float64"].calls  # one example's work
    r = double(make=lambda p: Triple(), name="triple2", sizes={"n": (300,)}, max_examples=5,
               work_budget=int(1.5 * one)).results["float64"]
    msg = r.message("torch", "grad_x")
    assert r.outcome("torch", "grad_x") is Outcome.FAIL and "shrinking cut short" in msg and "work budget" in msg, msg


def test_progress_lines_on_long_checks(monkeypatch):
    lines = []
    monkeypatch.setattr(work, "PROGRESS_EVERY", 0.0)
    work.set_progress(lines.append)
    try:
        double(name="chatty", max_examples=2)
    finally:
        work.set_progress(None)
    assert lines and "chatty [float64]" in lines[-1] and "examples" in lines[-1] and "forward calls" in lines[-1]


@pytest.mark.parametrize("kw, exc, words", [
    (dict(work_budget=0), ValueError, ["work_budget=0", ">= 1"]),
    (dict(work_budget=-5), ValueError, ["work_budget=-5"]),
    (dict(work_budget=1.5), TypeError, ["work_budget=1.5", "int"]),
    (dict(work_budget="big"), TypeError, ["work_budget='big'"]),
    (dict(hang_guard=0), ValueError, ["hang_guard=0", "> 0"]),
    (dict(hang_guard=-1.0), ValueError, ["hang_guard=-1.0"]),
    (dict(hang_guard="1m"), TypeError, ["hang_guard='1m'", "seconds"]),
], ids=["budget 0", "budget negative", "budget float", "budget str", "guard 0", "guard negative", "guard str"])
def test_bad_limits_are_one_line_usage_errors(kw, exc, words):
    with pytest.raises(exc) as e:
        double(**kw)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("double_rt:") and all(w in msg for w in words), msg


# --- sneaky layers ------------------------------------------------------------------------------------------
class KeepsInput(Double):
    """Keeps its input and writes into it on the next call."""

    prev = None

    def forward(self, x):
        if self.prev is not None:
            self.prev[...] = 0
        self.prev = x
        return 2 * x


class KeepsDout(Double):
    prev = None

    def backward(self, dout):
        if self.prev is not None:
            self.prev *= 2
        self.prev = dout
        return 2 * dout


@pytest.mark.parametrize("make, kept", [(KeepsInput, "['x']"), (KeepsDout, "['dout']")], ids=["input", "dout"])
def test_a_layer_that_mutates_what_it_kept_fails(make, kept):
    r = double(make=lambda p: make(), name=f"keeps_{make.__name__}").results["float64"]
    msg = r.message("torch", "forward")
    assert r.outcome("torch", "forward") is Outcome.FAIL
    assert f"kept a reference to {kept}" in msg and "next call" in msg, msg


class NoFloat32(Double):
    def __init__(self, p):
        if p["s"].dtype == np.float32:
            raise RuntimeError("float32 is not supported")
        self.s = p["s"]

    def forward(self, x):
        self.x = x
        return x * self.s

    def backward(self, dout):
        self.ds = (dout * self.x).sum(axis=0)
        return dout * self.s


def test_make_raising_on_float32_keeps_the_float64_verdict():
    report = check_layer(lambda p: NoFloat32(p), inputs={"x": ("n", "m")}, params={"s": ("m",)},
                         fn=lambda xp, x, s: x * s, name="no_float32", max_examples=3, record=False, oracles=FAST)
    assert set(report.results) == {"float64", "float32"} and report.results["float64"].passed
    msg = report.results["float32"].message("torch", "forward")
    assert msg.startswith("FAIL:") and "make() raised RuntimeError: float32 is not supported" in msg, msg
    assert "oracles/work.py" not in msg  # the harness's forward counter is not the layer's traceback


class Slotted:
    """Attributes cannot be set: a metered check counts its make() calls instead of its forwards."""

    __slots__ = ("s",)

    def __init__(self, p):
        self.s = p["s"]

    def forward(self, x):
        return x * self.s


@pytest.mark.parametrize("make", [lambda p: NoFloat32(p), lambda p: Slotted(p)], ids=["plain", "slots"])
def test_every_numerical_forward_counts_once_in_the_meter(make):
    """The numerical oracle makes one layer per forward and ticks the meter itself (work.one_forward_each):
    the count is its forwards exactly, as the wrapped instances' was, with or without __slots__."""
    from oracles.numerical import run_numerical
    from oracles.strategies import Case
    made = []
    spec = layer_spec(lambda p: made.append(1) or make(p), inputs={"x": ("n",)}, params={"s": ("n",)},
                      fn=lambda xp, x, s: x * s, name="counted_rt")
    case = Case("counted_rt", "float64", {"n": 3}, {"x": np.array([0.5, -1.0, 2.0])}, {"s": np.array([1.5, 2.0, -3.0])})
    meter = work.Meter("counted_rt", "float64", requested=1, budget=10 ** 6)
    with work.metered(spec, meter):
        run_numerical(spec, case, np.array([0.3, -0.7, 1.1]))
    assert meter.calls == len(made) > 6 * 4  # every forward, once (at least 4 a probed entry)
    with pytest.raises(work.Stop, match="work budget spent"), work.metered(spec, work.Meter("c", "float64", 1, budget=5)):
        run_numerical(spec, case, np.array([0.3, -0.7, 1.1]))


class AnswersAnything:
    """A make that is an object answering every attribute name (as a Mock does)."""

    def __call__(self, p):
        return Slotted(p)

    def __getattr__(self, name):
        return lambda *a, **k: None


def test_a_make_answering_every_name_is_not_taken_for_the_meters_own():
    from oracles.numerical import run_numerical
    from oracles.strategies import Case
    spec = layer_spec(AnswersAnything(), inputs={"x": ("n",)}, params={"s": ("n",)}, fn=lambda xp, x, s: x * s,
                      name="answers_rt")
    case = Case("answers_rt", "float64", {"n": 2}, {"x": np.array([0.5, -1.0])}, {"s": np.array([1.5, 2.0])})
    got = run_numerical(spec, case, np.array([0.3, -0.7]))  # outside a check: no meter
    assert got.grads["x"].tolist() == pytest.approx([0.45, -1.4]) and got.grads["s"].tolist() == pytest.approx([0.15, 0.7])
    meter = work.Meter("answers_rt", "float64", requested=1, budget=10 ** 6)
    with work.metered(spec, meter):
        run_numerical(spec, case, np.array([0.3, -0.7]))
    assert meter.calls > 4 * 4


def test_a_widened_float32_budget_formats_when_the_reference_gave_nothing():
    tol = Tol(np.array([1e-5, 3e-3]), 1e-5)  # element-wise atol, as the float32 budget widens it
    run = ExampleRun(layer="w", dtype="float32", shapes={"x": [2]}, example=0, stages=("forward",),
                     reference={}, notes={"forward": ["make() raised RuntimeError: no"]},
                     answers={"torch": {"forward": np.zeros(2, np.float32)}}, seconds={},
                     tolerances={("torch", "forward"): tol})
    (c,) = judge_example(run)
    assert c.outcome == "fail" and "atol=0.003" in c.message() and "make() raised" in c.message()


# --- names, Hypothesis files --------------------------------------------------------------------------------
def test_two_default_named_checks_get_two_names():
    a = check_layer(lambda p: Double(), inputs={"x": ("n",)}, fn=lambda xp, x: 2 * x, max_examples=2,
                    record=False, dtypes=("float64",), oracles=("torch",))
    b = check_layer(lambda p: Triple(), inputs={"x": ("n",)}, fn=lambda xp, x: 2 * x, max_examples=2,
                    record=False, dtypes=("float64",), oracles=("torch",))
    assert a.name != b.name and a.name.startswith("custom_test_misuse_runtime_") and b.name.startswith("custom_")
    assert a.passed and not b.passed


def test_a_class_as_make_names_the_check():
    from oracles.api import default_name

    assert default_name(Double) == "custom_Double"


def test_no_hypothesis_folder_in_the_working_directory_outside_pytest(tmp_path):
    script = textwrap.dedent("""
        from oracles import check_layer
        class D:
            def forward(self, x): return 2 * x
            def backward(self, d): return 3 * d
        r = check_layer(lambda p: D(), inputs={"x": ("n",)}, fn=lambda xp, x: 2 * x, max_examples=3,
                        record=False, dtypes=("float64",), oracles=("torch",))
        print("passed", r.passed)
    """)
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(Path(__file__).parents[1]))
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert "passed False" in res.stdout, res.stderr[-2000:]
    assert not (tmp_path / ".hypothesis").exists() and (tmp_path / "cache" / "gradient-oracles").exists()


# --- records ------------------------------------------------------------------------------------------------
def test_a_records_folder_under_a_file_is_a_one_line_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError) as e:
        records.check_directory(tmp_path / "f" / "records", "--oracle-records")
    msg = str(e.value)
    assert "\n" not in msg and "is a file, not a folder" in msg and msg.startswith("--oracle-records="), msg
    with pytest.raises(ValueError, match="is a file, not a folder"):
        records.start(tmp_path / "f" / "records")


PLUGIN_TEST = """
import pytest
from oracles import REGISTRY

@pytest.mark.oracle
@pytest.mark.parametrize("spec, dtype, oracle", [(REGISTRY["relu"], "float64", "torch"), (REGISTRY["sigmoid"], "float64", "torch")])
def test_gate(spec, dtype, oracle, oracle_check):
    if spec.name == "sigmoid":
        raise RuntimeError("crashed before recording")
    oracle_check(spec, dtype, oracle=oracle).assert_stage(oracle, "forward")
"""


def _pytest(tmp_path, *args):
    (tmp_path / "test_gate_tmp.py").write_text(PLUGIN_TEST)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                           "--noconftest", *args, str(tmp_path / "test_gate_tmp.py")],
                          capture_output=True, text=True, cwd=tmp_path,
                          env=clean_env(PYTHONPATH=str(Path(__file__).parents[1])))


@pytest.mark.parametrize("option, words", [
    ("--oracle-work-budget=0", "--oracle-work-budget=0: give an int >= 1"),
    ("--oracle-hang-guard=0", "--oracle-hang-guard=0.0: give a number of seconds > 0"),
    ("--oracle-records=file/records", "is a file, not a folder"),
], ids=["work budget 0", "hang guard 0", "records under a file"])
def test_bad_limit_and_records_options_are_usage_errors(tmp_path, option, words):
    (tmp_path / "file").write_text("x")
    res = _pytest(tmp_path, option, "--collect-only")
    assert res.returncode == 4 and words in res.stderr, (res.returncode, res.stderr[-2000:])


def test_the_records_header_plans_the_collected_checks_and_the_report_shows_the_missing_one(tmp_path):
    res = _pytest(tmp_path, "--oracle-examples=2", "--oracle-records=rec")
    assert res.returncode == 1 and "1 failed, 1 passed" in res.stdout, res.stdout[-2000:]
    (f,) = (tmp_path / "rec").glob("records-*.jsonl")
    header = json.loads(f.read_text().splitlines()[0])
    assert header["planned"] == [["relu", "float64", "torch"], ["sigmoid", "float64", "torch"]]
    run = load_run(tmp_path / "rec")
    assert {r["layer"] for r in run.rows} == {"relu"}
    assert reports_main([str(tmp_path / "rec"), "-o", str(tmp_path / "out")]) == 1
    md = (tmp_path / "out" / "report.md").read_text()
    assert "NOT-RUN" in md and "| sigmoid | float64 | - | torch | not-run | planned for this run, but left no record" in md
    assert reports_main([str(tmp_path / "rec"), "-o", str(tmp_path / "out"), "--allow-not-run"]) == 0


def test_concurrent_runs_keep_each_others_files_and_headers(tmp_path):
    from oracles.comparison import Comparison

    c = Comparison(layer="relu", dtype="float64", stage="forward", oracle="torch", shapes={}, max_abs=0.0,
                   max_rel=0.0, atol=1e-12, rtol=1e-9, headroom=float("inf"), passed=True, outcome="pass")
    old = tmp_path / "records-19990101T000000p1-main.jsonl"
    old.write_text(json.dumps({"schema": records.SCHEMA, "run": "old", "worker": "main"}) + "\n")
    os.utime(old, (0, 0))  # a finished run, long ago: pruned
    with records.to(tmp_path, "runA"):
        records.emit([c])
        with records.to(tmp_path, "runB"):  # a second run starts while the first still writes
            records.emit([c])
        records.emit([c])
    files = sorted(p.name for p in tmp_path.glob("records-*.jsonl"))
    assert files == ["records-runA-main.jsonl", "records-runB-main.jsonl"], files
    for f in tmp_path.glob("records-*.jsonl"):
        lines = f.read_text().splitlines()
        assert json.loads(lines[0])["schema"] == records.SCHEMA and all(json.loads(x)["layer"] == "relu" for x in lines[1:])
    assert len((tmp_path / "records-runA-main.jsonl").read_text().splitlines()) == 3


def test_a_records_write_that_fails_warns_and_the_check_goes_on(tmp_path):
    import shutil

    with records.to(tmp_path / "rec", "runC"):
        shutil.rmtree(tmp_path / "rec", ignore_errors=True)
        (tmp_path / "rec").write_text("now a file")
        with pytest.warns(records.RecordsWarning, match="this run goes on without records"):
            report = double(record=True, name="rec_fails")
    assert report.passed


def test_an_out_of_budget_check_leaves_a_not_run_verdict_line(tmp_path):
    with records.to(tmp_path, "runD"):
        double(record=True, name="budget_rec", max_examples=10, work_budget=30)
    run = load_run(tmp_path)
    assert any(v["outcome"] == "not-run" and "work budget" in v["reason"] for v in run.verdicts)
    assert reports_main([str(tmp_path), "-o", str(tmp_path / "out")]) == 1


# --- reports reject what is not theirs ------------------------------------------------------------------------
HEADER = json.dumps({"schema": records.SCHEMA, "run": "r", "worker": "main"})
ROW = dict(layer="relu", dtype="float64", stage="forward", oracle="torch", shapes={"x": [2]}, max_abs=0.0,
           max_rel=0.0, atol=1e-12, rtol=1e-9, headroom="inf", passed=True, outcome="pass", note="", example=0)


def _records(tmp_path, *lines: bytes | str) -> Path:
    f = tmp_path / "records-r-main.jsonl"
    f.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in (HEADER, *lines)) + b"\n")
    return f


BAD_RECORDS = {
    "row missing a field": ({k: v for k, v in ROW.items() if k != "max_abs"}, ":2: field 'max_abs' is missing"),
    "row an array": ([1, 2, 3], ":2: a JSON list, not a record"),
    "max_abs null": ({**ROW, "max_abs": None}, ":2: field 'max_abs' is null; expected a number"),
    "layer a number": ({**ROW, "layer": 3}, ":2: field 'layer' is 3; expected a string"),
    "outcome unknown": ({**ROW, "outcome": "ok"}, ":2: outcome 'ok'"),
    "no outcome, no passed": ({k: v for k, v in ROW.items() if k not in ("outcome", "passed")}, "neither 'outcome' nor 'passed'"),
    "extra a list": ({**ROW, "extra": [1]}, ":2: field 'extra' is a JSON list"),
    "non-UTF-8": (b'{"layer": "\xff\xfe"}', ":2: not UTF-8 text"),
    "not JSON midway": ("{oops", ":2: not JSON"),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_malformed_records_are_one_line_errors_naming_file_and_line(tmp_path, case, capsys):
    row, words = BAD_RECORDS[case]
    f = _records(tmp_path, row if isinstance(row, bytes) or isinstance(row, str) else json.dumps(row), json.dumps(ROW))
    with pytest.raises(RecordsError) as e:
        load_run(f)
    assert str(f) in str(e.value) and words in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert reports_main([str(f), "-o", str(tmp_path / "out")]) == 2
    assert "No regressions" not in capsys.readouterr().out


def test_a_bad_plan_in_the_header_is_an_error(tmp_path):
    f = tmp_path / "records-r-main.jsonl"
    f.write_text(json.dumps({"schema": records.SCHEMA, "planned": [["relu", "float64"]]}) + "\n")
    with pytest.raises(RecordsError, match=":1: 'planned' must be a list of"):
        load_run(f)


def _summary(tmp_path) -> Path:
    f = _records(tmp_path, json.dumps(ROW))
    assert reports_main([str(f), "-o", str(tmp_path / "base")]) == 0
    return tmp_path / "base" / "summary.json"


BAD_BASELINES = {
    "an empty list": ("[]", "a JSON list, not a summary.json"),
    "a package.json": ('{"name": "x", "version": "1.0.0"}', "schema None, not a summary.json"),
    "rows of the wrong type": ('{"schema": "oracle-summary/1", "rows": [1]}', "rows[0] is a JSON int"),
    "a row with max_abs null": ('{"schema": "oracle-summary/1", "rows": [{"layer": "relu", "dtype": "float64", '
                                '"oracle": "torch", "max_abs": null, "failed": 0}]}', "rows[0] field 'max_abs' is null"),
    "not JSON": ("{", "not JSON"),
    "non-UTF-8": (b"\xff\xfe{}", "not JSON"),
}


@pytest.mark.parametrize("case", list(BAD_BASELINES))
def test_a_foreign_baseline_is_a_one_line_error(tmp_path, case, capsys):
    text, words = BAD_BASELINES[case]
    _summary(tmp_path)
    b = tmp_path / "baseline.json"
    b.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert reports_main([str(tmp_path / "records-r-main.jsonl"), "-o", str(tmp_path / "out"), "--baseline", str(b)]) == 2
    out = capsys.readouterr()
    err = out.err.strip().splitlines()[-1]
    assert words in err and str(b) in err and "No regressions" not in out.out, err
    if case != "rows of the wrong type" and case != "a row with max_abs null":
        assert "regenerate one with `python -m reports" in err


def test_a_summary_of_an_earlier_version_is_still_a_baseline(tmp_path):
    _summary(tmp_path)
    old = {"schema": "oracle-summary/1", "totals": {}, "rows": [
        {"layer": "relu", "dtype": "float64", "oracle": "torch", "max_abs": 0.0, "failed": 0}]}
    b = tmp_path / "old.json"
    b.write_text(json.dumps(old))
    assert reports_main([str(tmp_path / "records-r-main.jsonl"), "-o", str(tmp_path / "out"), "--baseline", str(b)]) == 0


def test_a_layer_in_the_baseline_and_missing_now_is_a_regression(tmp_path, capsys):
    base = json.loads(_summary(tmp_path).read_text())
    base["rows"].append({**base["rows"][0], "layer": "sigmoid"})
    b = tmp_path / "b.json"
    b.write_text(json.dumps(base))
    assert reports_main([str(tmp_path / "records-r-main.jsonl"), "-o", str(tmp_path / "out"), "--baseline", str(b)]) == 1
    assert "sigmoid/float64/torch: in the baseline, missing now" in capsys.readouterr().out


def test_an_inconclusive_verdict_fails_the_report_unless_allowed(tmp_path):
    verdict = dict(kind="verdict", layer="relu", dtype="float64", stage="grad_x", oracle="torch",
                   outcome="inconclusive", reason="no example was compared", examples=0, requested=3)
    f = _records(tmp_path, json.dumps(ROW), json.dumps(verdict))
    assert reports_main([str(f), "-o", str(tmp_path / "out")]) == 1
    assert "INCONCLUSIVE" in (tmp_path / "out" / "report.md").read_text()
    assert reports_main([str(f), "-o", str(tmp_path / "out"), "--allow-inconclusive"]) == 0
