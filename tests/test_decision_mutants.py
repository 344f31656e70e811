"""Unit tests of the decision code (the judge, the comparison, the tolerances, the float32 budget and the
numerical oracle's bound), written for its mutation run (mutation/README.md, "Decision code"): each
asserts behaviour a caller relies on (the outcome, the reason it gives, the numbers it records), on
small arrays, without running a check. Test names say "checker", never "oracle": `-k oracle` selects the
gate, exactly as `-m oracle` does (tests/test_selection.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from oracles.answer import Kinks
from oracles.comparison import measure
from oracles.judge import ExampleRun, Outcome, Tally, compare, decide, judge_example
from oracles.spec import Convention
from oracles.tolerances import Tol, resolution_needed, stage_kind, tolerance_for

T64 = Tol(1e-12, 1e-9)
META = dict(layer="l", dtype="float64", stage="grad_x", oracle="torch", shapes={"x": [2]})
RELU0 = Convention(where="x = 0", reference="0", torch="0", jax="1", agree=("torch",))


def _cmp(actual, expected, tol=T64, **kw):
    meta = {**META, **{k: kw.pop(k) for k in list(kw) if k in META}}
    return compare(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), tol, **meta, **kw)


# --- one example: compare / _build ----------------------------------------------------------------------
def test_a_pass_records_the_numbers_and_no_repro():
    c = _cmp([1.0, 2.0], [1.0, 2.0 + 1e-10], repro=lambda: pytest.fail("a passing comparison never asks its repro"))
    assert c.passed and c.outcome == "pass" and not c.failed and c.note == "" and c.repro == ""
    assert c.max_abs == pytest.approx(1e-10, rel=1e-3) and c.atol == 1e-12 and c.rtol == 1e-9
    assert c.headroom > 1 and c.worst_index == [1] and c.reference_value == 2.0 and c.oracle_value == 2.0 + 1e-10
    assert (c.layer, c.dtype, c.stage, c.oracle, c.shapes) == ("l", "float64", "grad_x", "torch", {"x": [2]})
    assert c.convention == "" and "kink" not in c.extra and "differs" not in c.extra


def test_a_failure_carries_its_repro_callable_or_text():
    c = _cmp([1.0, 3.0], [1.0, 2.0], repro=lambda: "snippet", seconds=0.5, example=7)
    assert c.failed and not c.passed and c.outcome == "fail" and c.repro == "snippet"
    assert c.worst_index == [1] and c.reference_value == 3.0 and c.oracle_value == 2.0 and c.max_abs == 1.0
    assert c.seconds == 0.5 and c.example == 7
    assert _cmp([3.0], [2.0], repro="text").repro == "text"


def test_a_note_fails_whatever_the_numbers_and_empty_notes_are_dropped():
    c = _cmp([1.0], [1.0], note="protocol breach")
    assert c.failed and c.note == "protocol breach"
    assert _cmp([1.0], [1.0], note="").passed
    both = compare(np.array([1.0]), np.array([1.0, 2.0]), T64, note="protocol breach", **META)
    assert both.note == "protocol breach; shape (1,) != expected (2,)"  # every finding, in order


def test_a_documented_convention_at_a_kink_passes_out_of_tolerance_and_says_it_differs():
    c = _cmp([0.0], [1.0], oracle="jax", convention=RELU0)  # jax is not in agree: its derivative differs there
    assert c.passed and c.outcome == "pass" and c.extra["differs"] is True and c.extra["kink"] == "x = 0"
    assert c.convention == RELU0.describe() and c.convention
    same = _cmp([1.0], [1.0], oracle="jax", convention=RELU0)
    assert same.passed and same.extra["differs"] is False
    # an oracle that agrees there is held to the tolerance, and its comparison still names the kink
    agree = _cmp([0.0], [1.0], oracle="torch", convention=RELU0)
    assert agree.failed and agree.extra["kink"] == "x = 0" and "differs" not in agree.extra and agree.convention == ""
    # a forward is never excused by a convention (it concerns derivatives)
    fwd = _cmp([0.0], [1.0], oracle="jax", stage="forward", convention=RELU0)
    assert fwd.failed and "differs" not in fwd.extra
    # a note still fails under a convention
    assert _cmp([0.0], [1.0], oracle="jax", convention=RELU0, note="breach").failed


def test_nothing_compared_is_inconclusive_with_its_reason():
    empty = _cmp(np.zeros(0), np.zeros(0))
    assert empty.outcome == "inconclusive" and not empty.passed and not empty.failed
    assert empty.note == "nothing to compare: the arrays are empty"
    nan = _cmp([np.nan, np.nan], [np.nan, np.nan])
    assert nan.outcome == "inconclusive" and "all 2 element(s) are non-finite" in nan.note
    assert nan.worst_index is not None  # the measurement still points somewhere


# --- one example: judge_example ---------------------------------------------------------------------------
def _run(answers, reference, *, tolerances=None, uncertainty=None, kinks=None, notes=None, noise=None,
         convention=None, overflow=False, stages=("forward", "grad_x")):
    from oracles.names import Stage

    stages = tuple(Stage(s) for s in stages)
    tol = tolerances or {(o, s): T64 for o in answers for s in stages}
    return ExampleRun(layer="l", dtype="float64", shapes={"x": [2]}, example=3, stages=stages, reference=reference,
                      notes=notes or {}, answers=answers, seconds={"torch": 0.25}, tolerances=tol,
                      noise=noise or {}, convention=convention, uncertainty=uncertainty or {}, kinks=kinks or {},
                      overflow_inconclusive=overflow)


def test_judge_example_one_comparison_per_checker_and_stage_with_its_meta():
    ref = {"forward": np.array([1.0, 2.0]), "grad_x": np.array([3.0, 4.0])}
    comps = judge_example(_run({"torch": dict(ref)}, ref))
    assert [(c.oracle, c.stage, c.outcome) for c in comps] == [("torch", "forward", "pass"), ("torch", "grad_x", "pass")]
    assert all(c.example == 3 and c.seconds == 0.25 and c.layer == "l" and c.shapes == {"x": [2]} for c in comps)


def test_judge_example_a_checker_that_could_not_run_or_gave_nothing_fails():
    ref = {"forward": np.array([1.0]), "grad_x": np.array([2.0])}
    comps = judge_example(_run({"torch": None}, ref))
    assert all(c.failed and "oracle torch could not run on this example" in c.note for c in comps)
    comps = judge_example(_run({"torch": {"forward": np.array([1.0])}}, ref))
    assert comps[0].passed and comps[1].failed and "oracle torch gave no grad_x" in comps[1].note
    assert comps[1].max_abs == math.inf and comps[1].headroom == 0.0


def test_judge_example_records_noise_agreement_and_the_numerical_bound():
    ref = {"forward": np.array([1.0]), "grad_x": np.array([2.0])}
    answers = {"torch": {"forward": np.array([1.0]), "grad_x": np.array([2.0])},
               "numerical": {"grad_x": np.array([2.0 + 1e-9])}}
    own = {("numerical", "grad_x"): np.array([1e-8])}
    tol = {("torch", "forward"): T64, ("torch", "grad_x"): T64, ("numerical", "grad_x"): Tol(1e-8 + 1e-12, 1e-9)}
    comps = {(c.oracle, c.stage): c for c in judge_example(_run(answers, ref, tolerances=tol, uncertainty=own,
                                                                  noise={"grad_x": 5e-7}))}
    assert comps[("torch", "grad_x")].extra["vs"] == {"numerical": pytest.approx(1e-9)}
    assert comps[("torch", "grad_x")].extra["float64_noise"] == 5e-7 and "float64_noise" not in comps[("torch", "forward")].extra
    assert comps[("numerical", "grad_x")].extra["bound"] == 1e-8 and "vs" not in comps[("numerical", "grad_x")].extra
    assert comps[("numerical", "grad_x")].passed


def test_judge_example_a_loose_own_bound_is_inconclusive_but_a_disagreement_still_fails():
    ref = {"grad_x": np.array([2.0])}
    loose = {("numerical", "grad_x"): np.array([1e-2])}  # far above the 2e-4 needed to see a 0.1% error
    tol = {("numerical", "grad_x"): Tol(1e-2, 1e-9)}
    c, = judge_example(_run({"numerical": {"grad_x": np.array([2.001])}}, ref, tolerances=tol, uncertainty=loose,
                            stages=("grad_x",)))
    assert c.outcome == "inconclusive" and "numerical cannot tell" in c.note
    c, = judge_example(_run({"numerical": {"grad_x": np.array([2.5])}}, ref, tolerances=tol, uncertainty=loose,
                            stages=("grad_x",)))
    assert c.failed


def test_judge_example_a_protocol_note_fails_even_when_the_bound_is_loose():
    ref = {"grad_x": np.array([2.0])}
    c, = judge_example(_run({"numerical": {"grad_x": np.array([2.0])}}, ref, stages=("grad_x",),
                            tolerances={("numerical", "grad_x"): Tol(1e-2, 1e-9)},
                            uncertainty={("numerical", "grad_x"): np.array([1e-2])}, notes={"grad_x": ["breach"]}))
    assert c.failed and "breach" in c.note


def test_judge_example_overflow_of_the_plain_math_is_left_out_not_passed():
    ref = {"grad_x": np.array([1.0, 2.0])}
    c, = judge_example(_run({"torch": {"grad_x": np.array([np.inf, 2.0])}}, ref, overflow=True, stages=("grad_x",)))
    assert c.outcome == "inconclusive" and "at 1 of 2 element(s) where the custom rule is finite" in c.note
    c, = judge_example(_run({"torch": {"grad_x": np.array([np.inf, 3.0])}}, ref, overflow=True, stages=("grad_x",)))
    assert c.failed  # still disagrees where both are finite
    c, = judge_example(_run({"torch": {"grad_x": np.array([np.inf, 2.0])}}, ref, overflow=False, stages=("grad_x",)))
    assert c.failed  # without the option a non-finite oracle against a finite reference fails
    c, = judge_example(_run({"torch": {"grad_x": np.array([1.0, 2.0])}}, ref, overflow=True, stages=("grad_x",)))
    assert c.passed


def test_an_exact_checker_disagreeing_on_a_kink_gets_the_kink_named_and_still_fails():
    ref = {"grad_x": np.array([1.0, 0.0])}
    kinks = {"grad_x": Kinks(mask=np.array([False, True]), left=np.array([np.nan, 0.0]), right=np.array([np.nan, 1.0]))}
    c, = judge_example(_run({"torch": {"grad_x": np.array([1.0, 1.0])}}, ref, kinks=kinks, stages=("grad_x",)))
    assert c.failed and "sits on a kink of the forward" in c.note and "(1,)" in c.note
    c, = judge_example(_run({"torch": {"grad_x": np.array([1.5, 0.0])}}, ref, kinks=kinks, stages=("grad_x",)))
    assert c.failed and "kink" not in c.note


# --- one check: Tally and decide -------------------------------------------------------------------------
class _Case:
    def __init__(self, name):
        self.name = name

    def repro(self):
        return f"repro of {self.name}"


def _c(outcome, oracle="torch", stage="grad_x", example=0, differs=None, note=""):
    expected = {"pass": [1.0], "fail": [2.0], "inconclusive": []}[outcome]
    actual = [1.0] if outcome != "inconclusive" else []
    conv = RELU0 if differs is not None else None
    if differs is not None:
        oracle = "jax"
        actual = [0.0] if differs else [1.0]
    return _cmp(actual, expected, oracle=oracle, stage=stage, example=example, convention=conv, note=note)


def test_tally_counts_examples_until_the_first_failure_and_keeps_the_last_failure():
    t = Tally()
    t.add(_Case(1), [_c("pass")])
    t.add(_Case(2), [_c("inconclusive", example=2)])
    assert t.examples == 2 and t.counts[("torch", "grad_x")] == 2
    assert [c.outcome for c in t.passing] == ["pass", "inconclusive"]  # the records of what did not fail
    assert t.inconclusive[("torch", "grad_x")][0] == 1 and t.inconclusive[("torch", "grad_x")][1].example == 2
    t.add(_Case(3), [_c("inconclusive", example=3)])
    assert t.inconclusive[("torch", "grad_x")][0] == 2 and t.inconclusive[("torch", "grad_x")][1].example == 3
    t.add(_Case(4), [_c("fail")])
    assert t.examples == 4 and t.failures[("torch", "grad_x")][1].name == 4 and t.last_failing.name == 4
    t.add(_Case(5), [_c("fail")])  # a shrink step: not an example of the run, but the smaller failure
    assert t.examples == 4 and t.failures[("torch", "grad_x")][1].name == 5 and len(t.passing) == 3
    t2 = Tally()
    t2.add(_Case(1), [_c("pass")], new_example=False)
    assert t2.examples == 0


def test_tally_counts_the_documented_difference_only_where_it_showed():
    t = Tally()
    t.add(_Case(1), [_c("pass", differs=True), _c("pass", differs=False)])
    assert t.differences == {("jax", "grad_x"): 1}
    t.add(_Case(2), [_c("pass", differs=True)])
    assert t.differences == {("jax", "grad_x"): 2}


def _decide(tally, pairs=(("torch", "grad_x"),), requested=4, stopped=False, convention=None):
    return decide("l", "float64", list(pairs), tally, requested, stopped, convention)


def test_decide_pass_names_the_examples():
    t = Tally()
    for i in range(4):
        t.add(_Case(i), [_c("pass")])
    v = _decide(t)[("torch", "grad_x")]
    assert v.outcome is Outcome.PASS and v.passed and v.reason == "passed on 4 example(s)"
    assert (v.examples, v.requested, v.layer, v.dtype, v.oracle, v.stage) == (4, 4, "l", "float64", "torch", "grad_x")
    assert not v.budget_spent and v.failure is None


def test_decide_fail_carries_the_smallest_failure_with_its_repro():
    t = Tally()
    t.add(_Case("a"), [_c("pass")])
    t.add(_Case("b"), [_c("fail")])
    v = _decide(t, stopped=True)[("torch", "grad_x")]
    assert v.outcome is Outcome.FAIL and not v.passed and v.failure.repro == "repro of b"
    assert v.reason == "failed after 2 example(s); this is the smallest failing example found."
    t.stopped = "out of work"
    v = _decide(t, stopped=True)[("torch", "grad_x")]
    assert v.reason.endswith("found (shrinking cut short: out of work).")


def test_decide_a_stopped_run_leaves_the_other_pairs_not_run_naming_the_first_failure():
    t = Tally()
    t.add(_Case("a"), [_c("pass", stage="forward"), _c("pass", oracle="jax", stage="forward")])
    t.add(_Case("b"), [_c("fail", stage="grad_x"), _c("fail", oracle="jax", stage="grad_x"),
                       _c("pass", stage="forward")])
    pairs = [("torch", "forward"), ("torch", "grad_x"), ("jax", "grad_x")]
    out = _decide(t, pairs=pairs, stopped=True)
    v = out[("torch", "forward")]
    assert v.outcome is Outcome.NOT_RUN and not v.budget_spent
    assert v.reason == ("2 of 4 examples: agreed on those, but the run stopped at the first failure "
                        "(grad_x vs jax) before a full run")
    # the pair that did get every example passes although the run stopped
    full = _decide(t, pairs=pairs, stopped=True, requested=2)[("torch", "forward")]
    assert full.outcome is Outcome.PASS


def test_decide_out_of_budget_is_not_run_and_spent_never_a_pass():
    t = Tally()
    t.add(_Case(1), [_c("pass")])
    t.stopped = "the work budget ran out"
    v = _decide(t)[("torch", "grad_x")]
    assert v.outcome is Outcome.NOT_RUN and v.budget_spent
    assert v.reason == ("1 of 4 examples: the work budget ran out; a check that did not finish never passes "
                        "(raise work_budget= / --oracle-work-budget, or check smaller shapes)")  # the way out
    assert _decide(t, requested=1)[("torch", "grad_x")].outcome is Outcome.PASS
    # a run stopped by a failure is not a spent budget
    t.add(_Case(2), [_c("fail", stage="forward")])
    v = _decide(t, pairs=[("torch", "grad_x"), ("torch", "forward")], stopped=True)[("torch", "grad_x")]
    assert v.outcome is Outcome.NOT_RUN and not v.budget_spent


def test_decide_nothing_compared_and_too_few_conclusive_are_inconclusive():
    assert _decide(Tally())[("torch", "grad_x")].outcome is Outcome.INCONCLUSIVE
    assert _decide(Tally())[("torch", "grad_x")].reason == "no example was compared"
    half = Tally()
    for outcome in ("pass", "pass", "inconclusive", "inconclusive"):
        half.add(_Case(0), [_c(outcome, example=9)])
    assert _decide(half)[("torch", "grad_x")].outcome is Outcome.PASS  # conclusive on exactly half: enough
    half.add(_Case(0), [_c("inconclusive", example=9)])
    v = _decide(half, requested=5)[("torch", "grad_x")]
    assert v.outcome is Outcome.INCONCLUSIVE and v.failure is None
    assert v.reason.startswith("conclusive on 2 of 5 example(s), needs at least half; e.g. example 9: nothing")


def test_decide_a_documented_convention_must_show():
    t = Tally()
    t.add(_Case(1), [_c("pass", differs=True)])
    pairs = [("torch", "grad_x"), ("jax", "grad_x")]
    out = _decide(t, pairs=pairs, convention=RELU0)
    assert ("torch", "convention") not in out  # torch agrees at the kink: nothing to show
    v = out[("jax", "convention")]
    assert v.outcome is Outcome.PASS and v.stage == "kink x = 0" and v.examples == 1
    assert (v.layer, v.dtype, v.oracle, v.requested) == ("l", "float64", "jax", 4)
    assert v.message().startswith("PASS: l [float64] kink x = 0 vs jax: the documented difference showed")
    assert v.reason == "the documented difference showed in 1 comparison(s)"
    quiet = Tally()
    quiet.add(_Case(1), [_c("pass", differs=False)])
    v = _decide(quiet, pairs=pairs, convention=RELU0)[("jax", "convention")]
    assert v.outcome is Outcome.FAIL and "did not show in 1 example(s) on the kink; the table is stale" in v.reason
    assert RELU0.describe() in v.reason
    quiet.add(_Case(2), [_c("fail", stage="forward")])
    v = _decide(quiet, pairs=pairs, convention=RELU0, stopped=True)[("jax", "convention")]
    assert v.outcome is Outcome.NOT_RUN and v.reason == "the run stopped at another failure after 2 example(s)"
    assert set(_decide(quiet, pairs=pairs)) == set(pairs)


# --- tolerances ---------------------------------------------------------------------------------------------
def test_stage_kind_and_the_table_lookup():
    assert stage_kind("forward") == "forward" and stage_kind("forward_out") == "forward"
    assert stage_kind("grad_x") == "grad" and stage_kind("grad") == "grad" and stage_kind("xforward_") == "grad"
    assert tolerance_for("float32", "torch", "forward") == Tol(1e-5, 1e-5)
    assert tolerance_for("float64", "directional", "grad") == Tol(1e-12, 1e-9)  # unknown oracles are exact


@pytest.mark.parametrize("key", [("float64", "exact", "grad"), ("float64", "exact", "*"), ("float64", "*", "grad"),
                                 ("*", "exact", "grad"), ("float64", "*", "*"), ("*", "exact", "*"),
                                 ("*", "*", "grad"), ("*", "*", "*")])
def test_every_wildcard_of_an_override_applies(key):
    assert tolerance_for("float64", "torch", "grad_x", {key: Tol(1.0, 2.0)}) == Tol(1.0, 2.0)
    assert tolerance_for("float64", "torch", "grad_x", {("float32", "*", "*"): Tol(1.0, 2.0)}) == Tol(1e-12, 1e-9)


def test_the_most_specific_override_wins():
    overrides = {("*", "*", "*"): Tol(9.0, 9.0), ("float64", "exact", "*"): Tol(2.0, 2.0),
                 ("float64", "*", "grad"): Tol(3.0, 3.0)}
    assert tolerance_for("float64", "torch", "grad_x", overrides) == Tol(2.0, 2.0)
    assert tolerance_for("float64", "numerical", "grad_x", overrides) == Tol(3.0, 3.0)
    assert tolerance_for("float32", "numerical", "forward", overrides) == Tol(9.0, 9.0)


def test_resolution_needed_against_the_stage_or_the_example_scale():
    assert resolution_needed(np.array([2.0, 1e-6, 0.0])).tolist() == pytest.approx([2e-4, 2e-7, 2e-7])
    assert resolution_needed(np.zeros(2), scale=3.0).tolist() == pytest.approx([3e-7, 3e-7])
    assert resolution_needed(np.array([-2.0, np.inf])).tolist()[0] == pytest.approx(2e-4)  # |value|, inf left out
    assert resolution_needed(np.array([1.0]), scale=0.5).tolist() == pytest.approx([1e-4])
    # small values are resolved against their own largest, not against 1
    assert resolution_needed(np.array([1e-3, 0.0])).tolist() == pytest.approx([1e-7, 1e-10])
    # nothing finite, or nothing at all: no floor from the stage (an infinite value needs nothing finite)
    assert resolution_needed(np.array([np.inf, 0.0])).tolist() == [np.inf, 0.0]
    assert resolution_needed(np.zeros(0)).shape == (0,)
    # float32 values: the threshold in float64 all the same
    assert resolution_needed(np.array([3.0, 1e-9], np.float32)).dtype == np.float64


# --- measure ------------------------------------------------------------------------------------------------
def test_measure_element_wise_atol_and_its_largest_recorded():
    m = measure(np.array([1.0, 1.0]), np.array([1.0 + 1e-6, 1.0 + 1e-6]), Tol(np.array([1e-5, 1e-7]), 0.0))
    assert not m.within and m.atol == 1e-5 and m.worst_index == (1,)
    assert m.headroom == pytest.approx(0.1, rel=1e-6)
    bad = measure(np.array([1.0, 1.0]), np.array([1.0, 1.0]), Tol(np.array([1e-5, 1e-7, 1.0]), 0.0))
    assert bad.problems and "shape" in bad.problems[0]


def test_measure_headroom_compared_and_size():
    m = measure(np.array([1.0, np.inf, 3.0]), np.array([1.0, np.inf, 3.0 + 1e-10]), T64)
    assert m.within and m.compared == 2 and m.size == 3 and m.headroom > 1
    exact = measure(np.array([1.0]), np.array([1.0]), T64)
    assert exact.headroom == math.inf and exact.max_abs == 0.0 and exact.compared == 1
    m = measure(np.array([[1.0, 2.0], [3.0, 4.5]]), np.array([[1.0, 2.0], [3.0, 4.0]]), T64)
    assert m.worst_index == (1, 1) and m.reference_value == 4.5 and m.oracle_value == 4.0
    assert m.max_abs == 0.5 and m.max_rel == pytest.approx(0.125)
    assert m.headroom == pytest.approx((1e-12 + 4e-9) / 0.5)


def test_measure_relative_error_over_an_exact_zero_is_huge_not_undefined():
    m = measure(np.array([1e-3]), np.array([0.0]), T64)
    assert m.max_rel == pytest.approx(1e-3 / np.finfo(np.float64).tiny) and not m.within
    m32 = measure(np.array([1e-3], np.float32), np.array([0.0], np.float32), Tol(1e-5, 1e-5))
    assert m32.max_rel == pytest.approx(np.float32(1e-3) / np.finfo(np.float32).tiny, rel=1e-6)


def test_measure_non_finite_values():
    # non-finite in the reference where the oracle is finite: a problem, named
    m = measure(np.array([np.inf, np.nan, 1.0]), np.array([2.0, 3.0, 1.0]), T64)
    assert m.problems == ("reference has 2 non-finite value(s) (NaN/Inf)",)
    assert not measure(np.array([np.inf, 1.0]), np.array([np.nan, 1.0]), T64).problems  # both non-finite there
    m = measure(np.array([1.0, 2.0]), np.array([np.nan, 2.0]), T64)  # a NaN oracle allows nothing
    assert not m.problems and not m.within and m.max_abs == math.inf and m.worst_index == (0,)
    m = measure(np.array([np.nan, 2.0]), np.array([np.nan, 2.0]), T64)
    assert m.within and m.compared == 1
    m = measure(np.array([-np.inf, 2.0]), np.array([np.inf, 2.0]), T64)
    assert not m.within and m.max_abs == math.inf
    zero_atol = measure(np.array([1.0, 2.0]), np.array([1.0, 2.0]), Tol(0.0, 1e-9))
    assert zero_atol.within and zero_atol.headroom == math.inf
    m = measure(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-6]), Tol(0.0, 1e-9))
    assert not m.within and m.max_abs == pytest.approx(1e-6) and m.worst_index == (1,)
    assert m.max_rel == pytest.approx(5e-7)


def test_measure_dtype_problems_say_whether_the_values_agree():
    m = measure(np.array([1.0, 2.0]), np.array([1.0, 2.0], np.float32), Tol(1e-5, 1e-5), "float32")
    assert m.problems == ("dtype float64 != float32: the values agree, the layer returns float64 for float32 input",)
    m = measure(np.array([1.0, 3.0]), np.array([1.0, 2.0], np.float32), Tol(1e-5, 1e-5), "float32")
    assert m.problems[0] == "dtype float64 != float32"
    m = measure(np.array([1, 2]), np.array([1.0, 2.0]), T64)
    assert m.problems == ("reference dtype int64 is not floating",) and m.max_abs == math.inf
    assert measure(None, np.array([1.0]), T64).problems == ("reference gave no value",)
    assert measure(np.array([1.0], np.float32), np.array([1.0], np.float32), Tol(1e-5, 1e-5)).within  # dtype: the oracle's


# --- the float32 error budget ------------------------------------------------------------------------------
from oracles import budget  # noqa: E402
from oracles.budget import FACTOR, FLOOR, TINY32, Noise, envelope, measured_noise, widen  # noqa: E402


def test_widen_floor_per_dtype_and_the_stage_worst_noise_once():
    noise = Noise(entries=np.array([0.0, 4e-6]), envelope=np.array([1e-8, 4e-6]), scale=100.0)
    t32 = widen(Tol(1e-5, 2e-5), noise)
    assert t32.rtol == 2e-5
    assert t32.atol.tolist() == pytest.approx([FLOOR * 100.0 + TINY32, FACTOR * 4e-6])
    t64 = widen(Tol(1e-12, 1e-9), noise, "float64")
    assert t64.atol.tolist() == pytest.approx([4e-6, FACTOR * 4e-6])  # the stage's worst noise, once, as floor
    quiet = Noise(entries=np.zeros(2), envelope=np.zeros(2), scale=0.0)
    assert widen(Tol(1e-12, 1e-9), quiet, "float64").atol.tolist() == [1e-12, 1e-12]
    assert widen(Tol(1e-5, 1e-5), quiet).atol.tolist() == [TINY32, TINY32]
    empty = Noise(entries=np.zeros(0), envelope=np.zeros(0), scale=1.0)
    assert widen(Tol(1e-5, 1e-5), empty).atol.shape == (0,)


def test_measured_noise_skips_what_cannot_be_measured_and_floors_the_scale():
    t = np.array([2.0, -4.0])
    out = measured_noise({"a": t, "b": None, "c": t, "d": t, "e": np.array([np.inf, 1.0]), "f": t},
                         {"a": [t + [1e-6, 0.0], None, np.zeros(3), t - [0.0, 3e-6]], "c": [None], "d": [t + np.nan],
                          "e": [np.array([np.inf, 1.0])]})
    assert set(out) == {"a"}
    assert out["a"].entries.tolist() == pytest.approx([1e-6, 3e-6]) and out["a"].scale == 4.0
    assert measured_noise({"a": t}, {"a": [t]}, at_least=10.0)["a"].scale == 10.0
    assert measured_noise({"a": t}, {"a": [t]}, at_least=1.0)["a"].scale == 4.0


def test_the_envelope_reaches_one_octave_each_way_and_no_further():
    truth = np.array([1.0, 2.0, 4.0, 8.0])
    noise = np.array([0.0, 0.0, 0.0, 5.0])
    assert envelope(noise, truth, 8.0).tolist() == [0.0, 0.0, 5.0, 5.0]
    noise = np.array([3.0, 0.0, 0.0, 0.0])
    assert envelope(noise, truth, 8.0).tolist() == [3.0, 3.0, 0.0, 0.0]
    # entries below FLOOR x scale share the lowest octave, whatever their own size
    tiny = np.array([1e-30, 1e-20, 1.0])
    assert envelope(np.array([0.0, 7.0, 0.0]), tiny, 1.0).tolist() == [7.0, 7.0, 0.0]
    assert envelope(np.zeros(0), np.zeros(0), 1.0).size == 0


def _moves(monkeypatch, small, large):
    """budget.rounding_moves with the two rounded runs given: `small` at k units, `large` at 2k."""
    got = iter([small, large])
    monkeypatch.setattr(budget, "rounded", lambda spec, case, ct, unit, run: next(got))


def test_rounding_moves_keeps_power_laws_and_leaves_out_jumps(monkeypatch):
    """A move that grows by 2^p, p in [0.5, 2.5], is rounding (counted at the smaller size); one that does
    not grow (a tie broken, a kink crossed), that grows faster, or that is 0/0 is left out."""
    t = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0])
    m1 = np.array([1e-7, 1e-7, 1e-7, 1e-7, 1e-7, 1e-7, 0.0])
    grow = np.array([2.0, 4.0, 1.0, 2 ** 0.6, 2 ** 2.4, 2 ** 2.6, 1.0])
    _moves(monkeypatch, {"g": t + m1, "k": np.ones(2)}, {"g": t + m1 * grow, "k": np.ones(2)})
    u32 = float(np.finfo(np.float32).eps) / 2
    out = budget.rounding_moves(None, None, None, u32, None, {"g": t, "h": None, "k": np.ones(3)})
    assert set(out) == {"g"}  # no truth, or a shape that differs: nothing measured
    assert (out["g"] - t).tolist() == pytest.approx([1e-7, 1e-7, 0.0, 1e-7, 1e-7, 0.0, 0.0], rel=1e-6, abs=1e-20)
    assert budget.scale_for(u32) == 1.0


def test_rounding_moves_in_float64_are_measured_large_and_scaled_back(monkeypatch):
    """float64: measured at k = 2^10 units, where the measuring run's own rounding is 2^-10 of the move, and
    divided by k^p, p the measured order."""
    u64 = float(np.finfo(np.float64).eps) / 2
    k = budget.scale_for(u64)
    assert k == budget.MEASURED_ABOVE
    t = np.array([1.0, 1.0])
    m1 = np.array([1e-10, 1e-10])
    _moves(monkeypatch, {"g": t + m1}, {"g": t + m1 * np.array([2.0, 4.0])})
    out = budget.rounding_moves(None, None, None, u64, None, {"g": t})
    assert (out["g"] - t).tolist() == pytest.approx([1e-10 / k, 1e-10 / k ** 2], rel=1e-3)


# --- the judge's reading of an oracle's own bound -------------------------------------------------------------
from oracles.comparison import Measurement  # noqa: E402
from oracles.undecided import _scale as answer_scale, kink_note, own_bound, undecided_reason  # noqa: E402


def _kinks(mask, left=0.0, right=1.0):
    mask = np.asarray(mask)
    return Kinks(mask=mask, left=np.where(mask, left, np.nan), right=np.where(mask, right, np.nan))


def test_a_tight_bound_decides_and_a_loose_one_says_where_and_by_how_much():
    exp = np.array([2.0, 1.0])
    tol = Tol(1e-12, 1e-9)
    assert undecided_reason(exp, exp, tol, np.array([1e-6, 1e-6]), None, True) == ""
    why = undecided_reason(exp, exp, tol, np.array([1e-6, 5e-3]), None, True, oracle="numerical")
    assert why == ("numerical cannot tell: its own error bound 0.005 at (1,) (value 1) is above the 0.0001 needed to "
                   "see a 0.1% error, on 1 of 2 entries")
    why = undecided_reason(exp, exp, tol, np.array([1e-3, 5e-3]), None, True, oracle="directional")
    assert why.startswith("directional cannot tell: its own error bound 0.005 at (1,)") and "on 2 of 2 entries" in why
    assert "nan" not in undecided_reason(exp, exp, tol, np.array([np.inf, 0.0]), None, True)
    assert undecided_reason(exp, exp, tol, np.array([np.inf, 0.0]), None, True).startswith("numerical cannot tell")
    # the reference's own allowance larger still: the bound changes nothing (float32)
    assert undecided_reason(exp, exp, Tol(1.0, 0.0), np.array([5e-3, 5e-3]), None, True) == ""
    # the example's scale: a zero gradient is resolved against it
    zero = np.zeros(1)
    assert undecided_reason(zero, zero, tol, np.array([1e-5]), None, True, scale=1.0) != ""
    assert undecided_reason(zero, zero, tol, np.array([1e-8]), None, True, scale=1.0) == ""
    assert undecided_reason(zero, zero, tol, np.array([1e-5]), None, True, scale=1000.0) == ""


def test_a_loose_bound_on_a_kink_or_a_disagreement_on_a_kink_is_named_as_a_kink():
    exp = np.array([2.0, 0.5])
    tol = Tol(1e-12, 1e-9)
    why = undecided_reason(exp, exp, tol, np.array([1e-9, 1.0]), _kinks([False, True]), True)
    assert why.startswith("not differentiable at (1,) (1 uncertain entry, all on kinks): the one-sided slopes")
    assert "0 (left) and 1 (right), the central difference 0.5 answers neither side" in why
    loose_elsewhere = undecided_reason(exp, exp, tol, np.array([1.0, 1.0]), _kinks([False, True]), True)
    assert "cannot tell" in loose_elsewhere
    ref = np.array([2.0, 0.0])
    why = undecided_reason(ref, exp, tol, np.array([1e-9, 1e-9]), _kinks([False, True]), False)
    assert "(1 disagreeing entry, all on kinks)" in why
    two = undecided_reason(np.array([0.0, 0.0]), exp, tol, np.array([1e-9, 1e-9]), _kinks([True, True]), False)
    assert "(2 disagreeing entries, all on kinks)" in two and two.startswith("not differentiable at (0,)")
    assert undecided_reason(np.array([0.0, 0.0]), exp, tol, np.zeros(2), _kinks([False, True]), False) == ""
    assert undecided_reason(ref, exp, tol, np.zeros(2), None, False) == ""
    assert undecided_reason(ref, exp, tol, np.zeros(2), _kinks([False, False]), False) == ""
    assert undecided_reason(exp, exp, tol, np.zeros(2), _kinks([False, True]), False) == ""  # nothing failing


def test_own_bound_for_a_bounded_and_for_an_exact_checker():
    exp = np.array([2.0, 0.0])
    m_in = measure(exp, exp, T64)
    m_out = measure(np.array([2.0, 1.0]), exp, T64)
    kinks = _kinks([False, True])
    answer = {"forward": np.array([1e6]), "grad_x": exp, "grad_b": np.array([np.inf, -3.0])}
    assert answer_scale(answer) == 3.0  # gradients only, finite entries only
    assert answer_scale({"forward": np.ones(1), "grad_x": np.zeros(0)}) == 0.0
    assert answer_scale({"grad_x": np.array([np.inf, np.nan]), "grad_b": np.array([0.5])}) == 0.5  # small, or nothing finite
    # a bounded oracle: its bound, resolved against the example's largest gradient (3: 3e-7 needed at the zero)
    assert own_bound(exp, exp, T64, np.array([0.0, 1e-6]), None, m_in, "numerical", answer)[0] != ""
    assert own_bound(exp, exp, T64, np.array([0.0, 2.5e-7]), None, m_in, "numerical", answer) == ("", "")
    # an exact oracle: no bound; a disagreement on a kink is named, elsewhere nothing
    undecided, note = own_bound(np.array([2.0, 1.0]), exp, T64, None, kinks, m_out, "torch", answer)
    assert undecided == "" and note.startswith("the worst entry (1,) sits on a kink of the forward")
    assert own_bound(exp, exp, T64, None, kinks, m_in, "torch", answer) == ("", "")
    assert own_bound(np.array([2.0, 1.0]), exp, T64, None, None, m_out, "torch", answer) == ("", "")


def test_kink_note_only_for_a_worst_entry_on_a_kink():
    kinks = _kinks([[False, True]], left=-1.0, right=2.0)
    on = Measurement(1.0, 1.0, 0.0, 0.0, 0.0, worst_index=(0, 1))
    assert kink_note(on, kinks).startswith("the worst entry (0, 1) sits on a kink of the forward (one-sided slopes "
                                           "-1 left, 2 right)")
    assert kink_note(Measurement(1.0, 1.0, 0.0, 0.0, 0.0, worst_index=(0, 0)), kinks) == ""
    assert kink_note(Measurement(1.0, 1.0, 0.0, 0.0, 0.0, worst_index=None), kinks) == ""
    assert kink_note(Measurement(1.0, 1.0, 0.0, 0.0, 0.0, worst_index=(1,)), kinks) == ""


# --- the numerical oracle's bound ------------------------------------------------------------------------------
from oracles import numerical as N  # noqa: E402
from oracles import rounding as R  # noqa: E402
from oracles import stencil as S  # noqa: E402


def test_granularity_is_the_last_significant_bit():
    g = R.granularity(np.array([1.0, 0.75, -0.75, 0.0, np.inf, np.nan, 3.0 * 2.0**-40, 1e7 + 2.0**-29 - 1e7]))
    assert g.tolist() == [1.0, 0.25, 0.25, 0.0, np.inf, np.inf, 2.0**-40, 2.0**-29]
    assert R.granularity(np.array([1 / 3]))[0] == np.spacing(1 / 3)  # a full-precision value: one ulp


def test_r_is_rounding_or_granularity_of_fresh_values():
    u = S.UNIT["float64"]
    y = np.array([1e7 + 2.0**-29 - 1e7, 1.25, 3.0])
    assert R._r(y, u, None).tolist() == pytest.approx([2.0**-29, 0.25, max(16 * u * 3.0, 1.0)])
    center = np.array([0.0, 1.25, 2.0])  # 1.25 passed through unchanged: no granularity, its rounding only
    assert R._r(y, u, center).tolist() == pytest.approx([2.0**-29, 16 * u * 1.25, 1.0])
    assert R._r(y, u, np.zeros(2)).tolist() == pytest.approx([2.0**-29, 0.25, 1.0])  # another shape: all fresh


def test_rho_sums_the_moved_entries_or_every_entry_without_granularity():
    u = 1e-3
    ct = np.array([2.0, -1.0])
    up, down = np.array([1.0, 0.5]), np.array([1.0, 0.5])
    assert R._rho(ct, up, down, u) == pytest.approx(16 * u * (2 * 2.0 + 1 * 1.0))  # nothing moved
    up2 = np.array([1.0, 0.75])
    # only entry 1 moved: |ct| (r(0.75) + r(0.5)) = 1 * (max(16u 0.75, 0.25) + max(16u 0.5, 0.5))
    assert R._rho(ct, up2, down, u) == pytest.approx(0.25 + 0.5)
    assert R._rho(ct, up2, down, 0.1) == pytest.approx(1.6 * 0.75 + 1.6 * 0.5)
    assert R._rho(ct, up2, down, u, center=np.array([1.0, 0.5])) == pytest.approx(0.25 + 16 * u * 0.5)


def test_the_step_scale_is_the_magnitude_but_at_most_the_spread():
    assert N._scale(np.zeros(0)).shape == (0,)
    assert N._scale(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    assert N._scale(np.array([1e3 + 1.0, 1e3 - 1.0])).tolist() == pytest.approx([1.0, 1.0])
    sd = np.std([4.0, -4.0, 0.0])
    assert N._scale(np.array([4.0, -4.0, 0.0])).tolist() == pytest.approx([sd, sd, 8.0 / 3.0])  # mean magnitude
    sd = np.std([1.0, 3.0, 100.0, -100.0])
    assert N._scale(np.array([1.0, 3.0, 100.0, -100.0])).tolist() == pytest.approx([51.0, 51.0, sd, sd])
    assert N._scale(np.array([5.0, 5.0])).tolist() == [5.0, 5.0]  # no spread: the magnitude


def test_noise_weights_are_a_fourth_difference_scaled_to_one():
    w = R._noise_weights(2.5)
    nodes = np.array([-2.5, -1.0, 0.0, 1.0, 2.5])
    assert np.abs(w).sum() == pytest.approx(1.0) and w.shape == (5,)
    for p in range(4):  # annihilates cubics: only rounding (and h^4 L'''') is left
        assert abs(np.sum(w * nodes ** p)) < 1e-12
    assert abs(np.sum(w * nodes ** 4)) > 0.1
    assert w.tolist() == pytest.approx(S._NOISE_WEIGHTS.tolist())
    assert w[0] == pytest.approx(w[4]) and w[1] == pytest.approx(w[3]) and w[1] < 0 < w[2] and w[0] > 0


def test_better_step_toward_the_optimum_within_bounds():
    r = N._better_step(np.array([8.0, 1.0, 1e30, 0.0, np.inf, 2.0]), np.array([1.0, 2.0, 1e-30, 0.0, 1.0, 2.0]))
    assert r.tolist() == pytest.approx([(1.0 / 16.0) ** (1 / 3), 64.0, 1 / 4096, 64.0, 1 / 4096, 64.0])
    assert N._better_step(np.array([1e-30]), np.array([1e30])).tolist() == [64.0]
    assert N._better_step(np.array([2.0]), np.array([1e12])).tolist() == [64.0]
    assert N._better_step(np.array([10.0]), np.array([1e-3])).tolist() == pytest.approx([(1e-3 / 20.0) ** (1 / 3)])
    assert N._better_step(np.array([1.0]), np.array([1e30])).tolist() == [64.0]
    # no truncation measured (a linear function): the larger step, and no division warning
    assert N._better_step(np.array([0.0, 0.0]), np.array([1.0, 0.0])).tolist() == [64.0, 64.0]


def _planned(step, rounding, bound):
    f = lambda v: np.array([v], dtype=np.float64)  # noqa: E731
    return N._Estimate(f(0.0), f(bound), f(0.0), f(0.0), f(0.0), f(0.0), f(rounding), f(step), f(0.0),
                       np.zeros((1, 4)))


def test_a_hopeless_entry_is_tried_once_at_the_step_predicted_best():
    """_hopeless: rounding 1e-3 at h = 1e-3 predicts 1e-3 * 1e-3 / s at step s; with the plan's largest
    step 0.5 that is 2e-6, so a need of 2e-6 (exactly) or more keeps the whole plan, and less keeps one
    step: the largest where the rest of the bound is below the rounding (truncation unknown but small),
    the minimum of rest (s/h)^2 + rounding h/s where the rest dominates."""
    plan = [0.5, 0.01, 0.002]
    assert N._hopeless(plan, _planned(1e-3, 1e-3, 1.5e-3), 0, 2e-6) == plan  # the largest step could meet it
    assert N._hopeless(plan, _planned(1e-3, 1e-3, 1.5e-3), 0, 1.99e-6) == [0.5]  # rest 5e-4 <= rounding
    assert N._hopeless(plan, _planned(1e-3, 1e-3, 2e-3), 0, 1.99e-6) == [0.5]  # rest == rounding: not dominant
    # rest 1e-2 dominates: predicted 1e-2 (s / 1e-3)^2 + 1e-6 / s is 2.5e3, 1.0001, 4.0005e-2 -> the smallest step
    assert N._hopeless(plan, _planned(1e-3, 1e-3, 1.1e-2), 0, 1.99e-6) == [0.002]
    # predictions that cross: rest 2e-3 > rounding 1e-3 gives 500, 8.5e-3, 1.0002e-2 -> the middle step
    assert N._hopeless([0.5, 0.002, 1e-4], _planned(1e-3, 1e-3, 3e-3), 0, 1e-12) == [0.002]
    # the prediction's truncation grows as h^2, not 2h: rest 2, rounding 1, h 1 predicts 2.53 at 0.8 and 3.10
    # at 0.35 (as 2h: 4.45 and 4.26)
    assert N._hopeless([0.8, 0.35], _planned(1.0, 1.0, 3.0), 0, 1e-12) == [0.8]
    # nothing to predict from: no step moved it, or its rounding is unknown
    for est in (_planned(np.nan, 1e-3, 1.0), _planned(0.0, 1e-3, 1.0), _planned(1e-3, np.inf, np.inf), _planned(1e-3, np.nan, 1.0)):
        assert N._hopeless(plan, est, 0, 1e-12) == plan


def test_the_plan_adds_the_unit_scale_where_it_is_another_step():
    """_plans of an entry its need does not make hopeless: toward the optimum twice (here no truncation:
    REFINE^2, clipped to FARTHEST), then the unit scale STEP x max(|v|, 1), which is left out where it is
    the first step itself (v = +-1 with spread 1)."""
    def est(n):
        z = np.zeros(n)
        return N._Estimate(z, z + 1e-3, z, z, z, z, z + 1e-3, z + 1e-6, z, np.zeros((n, 4)))

    go, free = np.array([0, 1]), np.array([False, False])
    other = N._plans("float64", np.array([3.0, 0.5]), est(2), go, free, np.full(2, 1e9))
    first = N.STEP["float64"] * N._scale(np.array([3.0, 0.5]))
    assert other[0] == pytest.approx([first[0] * 4096, first[0] * 64, N.STEP["float64"] * 3.0])
    assert other[1] == pytest.approx([first[1] * 4096, first[1] * 64, N.STEP["float64"] * 1.0])
    same = N._plans("float64", np.array([1.0, -1.0]), est(2), go, free, np.full(2, 1e9))
    assert same[0] == pytest.approx([N.STEP["float64"] * 4096, N.STEP["float64"] * 64])



def test_a_plan_with_somewhere_to_hold_them_holds_the_hopeless_entries_back():
    """_plans(held=...): an entry no step can bring to its need goes to `held` with the one step _hopeless
    picks (here the largest: no truncation), not into the plans; one that can keep its plan."""
    z = np.zeros(2)
    est = N._Estimate(z, z + 1e-3, z, z, z, z, z + 1e-3, z + 1e-6, z, np.zeros((2, 4)))
    go, free, held = np.array([0, 1]), np.array([False, False]), {}
    plans = N._plans("float64", np.array([3.0, 0.5]), est, go, free, np.array([1e-15, 1e9]), held)
    alone = N._plans("float64", np.array([3.0, 0.5]), est, go, free, np.array([1e-15, 1e9]))
    assert list(plans) == [1] and plans[1] == alone[1] and list(held) == [0]
    assert held[0] == alone[0][0] == max(N._plans("float64", np.array([3.0, 0.5]), est, go, free, np.full(2, 1e9))[0])


def _held_example():
    """Five entries of sum(ct * x^3) with loose first bounds as if rounding made them so, counted forwards."""
    x, ct, calls = np.array([1.0, 2.0, 3.0, 0.5, 0.01]), np.array([0.7, -1.3, 1.1, 0.9, -0.8]), []
    forward = lambda: calls.append(1) or x ** 3  # noqa: E731
    at = S._At(forward, ct, forward(), "float64")
    est = N._estimate(at, x)
    est.bound[:], est.rounding[:], est.step[:] = 1e-3, 1e-3, 1e-6
    return at, x, est, calls


def test_the_held_tries_are_made_only_where_they_could_decide():
    """_sharpen: a held entry is tried (one probe, 4 forwards) where it is loose against max(need, base)
    and, moving to a larger step, its predicted bound rounding x h / step is within base (entry 0); not
    where that is above base (entry 1: 1e-3 x 1e-6 / 1e-4 = 1e-5 > 5e-6), nor where its bound already
    decides (entry 2). The prediction is trusted only where the first step measured a derivative above its
    bound: tried whatever it predicts at a smaller step (entry 3: 1e-2; fewer outputs may move there) and
    where the value was within its bound (entry 4: 2.4e-4 < 1e-3, outputs moved by rounding, as in
    sdpa_causal's exact zeros). The untried stay held; with no base every one left is tried, then none."""
    at, x, est, calls = _held_example()
    held, need, n = {0: 1e-3, 1: 1e-4, 2: 1e-3, 3: 1e-7, 4: 1e-4}, np.full(5, 1e-12), len(calls)
    N._sharpen(at, x, est, held, need, np.array([5e-6, 5e-6, 2e-3, 5e-6, 5e-6]))
    assert len(calls) - n == 12 and sorted(held) == [1, 2]
    assert est.bound[0] < 1e-5 and abs(est.value[0] - 3 * 0.7) <= est.bound[0]  # tried: tighter, and honest
    assert est.bound[1] == est.bound[2] == 1e-3 and max(est.bound[3:]) < 1e-3 and x[3:].tolist() == [0.5, 0.01]
    N._sharpen(at, x, est, held, need, None)
    assert len(calls) - n == 20 and held == {} and max(est.bound[1:]) < 1e-4
    assert np.all(np.abs(est.value - 3 * x ** 2 * np.array([0.7, -1.3, 1.1, 0.9, -0.8])) <= est.bound)
    N._sharpen(at, x, est, held, need, None)
    assert len(calls) - n == 20  # nothing held is nothing tried


def test_refine_holds_the_hopeless_entries_back_only_when_asked():
    """_refine(defer=True) makes no try for the entries no step can bring to their need (a rounding of 1e3
    at h = 1e-6 predicts ~1e-3 at the largest step): they come back held, for _sharpen; without defer
    they are tried there and then (4 forwards each), and nothing is held."""
    made = []
    for defer in (True, False):
        at, x, est, calls = _held_example()
        est.bound[:], est.rounding[:], n = 1e3, 1e3, len(calls)
        held, need = N._refine(at, x, est, 30.0, defer)
        made.append((len(calls) - n, sorted(held)))
    (deferred, held), (direct, none) = made
    assert held and none == [] and direct - deferred == 4 * len(held)

def test_the_held_tries_decide_at_the_judges_own_edges():
    """_sharpen at the edges, as the judge reads them: a bound exactly at max(need, base) already decides
    (own <= ..., entry 2); a prediction exactly at base could decide (entry 0, tried); a try at the
    entry's own step is a larger step (not a smaller one): its prediction is trusted (entry 1, 1e-3 >
    base, not tried)."""
    at, x, est, calls = _held_example()
    held, need, n = {0: 1e-3, 1: 1e-6, 2: 1e-3}, np.full(5, 1e-12), len(calls)
    N._sharpen(at, x, est, held, need, np.array([1e-3 * 1e-6 / 1e-3, 5e-6, 1e-3, 5e-6, 5e-6]))
    assert len(calls) - n == 4 and sorted(held) == [1, 2]


def test_the_held_tries_wait_for_a_stage_that_did_not_pass():
    """looks._sharpened: no stage asked where the numerical oracle passed; a stage inconclusive with the
    values within tolerance gets its allowance without the own bound (entries that could decide); a
    failing one and one out of tolerance (a kink) every held try (None). The sharpened answer replaces
    the asked one, its sharpen spent."""
    from types import SimpleNamespace as C

    from oracles.answer import Answer
    from oracles.looks import _sharpened

    bases = []

    def sharpen(base):
        bases.append(base)
        return {}, {s: np.zeros(2) for s in base}, {}

    a = Answer(None, {"x": np.array([1.0, -2.0]), "W": np.array([0.5, 4.0])}, 0.0,
               uncertainty={"grad_x": np.ones(2), "grad_W": np.ones(2)}, sharpen=sharpen)
    asked = {"numerical": a}
    bare = lambda stages, given: {("numerical", s): Tol(atol=1e-3, rtol=0.5) for s in stages}  # noqa: E731
    passing = C(oracle="numerical", stage="grad_x", outcome="pass", headroom=3.0)
    assert _sharpened(asked, [passing, C(oracle="torch", stage="grad_W", outcome="fail", headroom=0.1)], bare) is asked
    assert bases == []
    loose = C(oracle="numerical", stage="grad_W", outcome="inconclusive", headroom=2.0)
    got = _sharpened(asked, [passing, loose], bare)
    assert list(bases[-1]) == ["grad_W"] and bases[-1]["grad_W"].tolist() == [0.251, 2.001]
    assert got["numerical"].uncertainty["grad_W"].tolist() == [0.0, 0.0] and got["numerical"].sharpen is None
    assert got["numerical"].uncertainty["grad_x"].tolist() == [1.0, 1.0]
    kink = C(oracle="numerical", stage="grad_x", outcome="inconclusive", headroom=0.5)
    failing = C(oracle="numerical", stage="grad_W", outcome="fail", headroom=0.2)
    _sharpened(asked, [kink, failing], bare)
    assert bases[-1] == {"grad_x": None, "grad_W": None}

def _t(value, bound, jump=0.0):
    return (value, bound, jump, 2 * jump, -1.0, 1.0, 0.5 * bound)


def test_corroborated_keeps_the_tightest_estimate_another_agrees_with():
    tight_wrong, a, b = _t(1.0, 1e-9, 3.0), _t(2.05, 0.1, 4.0), _t(2.0, 0.2, 5.0)
    assert N._corroborated([tight_wrong, a, b]) == a  # the tightest that is corroborated, not the smallest value
    assert N._corroborated([b, a]) == a
    # exactly touching bounds agree
    assert N._corroborated([_t(1.0, 0.5), _t(2.0, 0.5), _t(9.0, 1e-3)]) == _t(1.0, 0.5)
    # nobody agrees: the tightest (whatever its value), its bound widened to cover every finite estimate
    got = N._corroborated([_t(3.0, 0.1, 5.0), _t(1.0, 0.5, 6.0), _t(9.0, np.inf, 7.0)])
    assert got == (3.0, 2.5, 5.0, 10.0, -1.0, 1.0, 0.05)
    # an infinite bound agrees with nothing
    assert N._corroborated([_t(1.0, np.inf), _t(1.0, 0.1)]) == _t(1.0, 0.1)
    assert N._corroborated([_t(1.0, np.inf)])[1] == np.inf


def _est(value, jump_h, jump_2h, rounding=0.0):
    value = np.asarray(value, dtype=float)
    return N._Estimate(value=value, bound=np.zeros_like(value), jump_h=np.asarray(jump_h, float),
                       jump_2h=np.asarray(jump_2h, float), left=value - 0.5, right=value + 0.5,
                       rounding=np.full_like(value, rounding), step=np.full_like(value, 1e-6),
                       noise=np.zeros_like(value), sums=np.zeros((*value.shape, 4)))


def test_kinks_are_jumps_at_both_steps_that_do_not_grow_like_curvature():
    k = N._kinks(_est([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0], [1.0, 2.5, 1.0, 0.0]))
    assert k.mask.tolist() == [True, False, False, False]  # 2.5x at 2.5x the step: curvature
    assert k.left.tolist()[0] == 0.5 and k.right.tolist()[0] == 1.5 and np.isnan(k.left[1]) and np.isnan(k.right[2])
    # the jump must exceed KINK_JUMP of the gradient's scale and four times the rounding
    assert N._kinks(_est([1.0], [0.9e-3], [0.9e-3])).mask.tolist() == [False]
    assert N._kinks(_est([1.0], [1.1e-3], [1.1e-3])).mask.tolist() == [True]
    assert N._kinks(_est([1.0], [1.0], [1.0], rounding=0.3)).mask.tolist() == [False]
    assert N._kinks(_est([1.0], [1.0], [1.0], rounding=0.2)).mask.tolist() == [True]
    # the scale is at least 1e-3 of the stage's largest entry
    assert N._kinks(_est([1000.0, 0.0], [0.0, 0.9e-3], [0.0, 0.9e-3])).mask.tolist() == [False, False]
    assert N._kinks(_est([1000.0, 0.0], [0.0, 1.1e-3], [0.0, 1.1e-3])).mask.tolist() == [False, True]
    # more than four times the rounding: a jump of exactly that is not a kink
    assert N._kinks(_est([1.0], [1.0], [5.0], rounding=0.25)).mask.tolist() == [False]
    assert N._kinks(_est([1.0], [5.0], [1.0], rounding=0.25)).mask.tolist() == [False]
    assert N._kinks(_est([1.0], [1.01], [5.0], rounding=0.25)).mask.tolist() == [True]
    # a gradient whose entries are all small is judged at its own size (the 1e-3 floor is relative)
    assert N._kinks(_est([1e-5, 0.0], [1e-7, 0.0], [1e-7, 0.0])).mask.tolist() == [True, False]
    # an input with no entries has no kinks
    assert N._kinks(_est(np.zeros(0), np.zeros(0), np.zeros(0))).mask.shape == (0,)
    # exactly a quarter of 2.5 x jump_h away from curvature's growth still counts as curvature
    assert N._kinks(_est([1.0], [1.0], [1.875])).mask.tolist() == [False]
    # between curvature and a kink: a jump_2h within a quarter of 2.5 x jump_h counts as curvature
    assert N._kinks(_est([1.0], [1.0], [2.5 * 0.74])).mask.tolist() == [True]
    assert N._kinks(_est([1.0], [1.0], [2.5 * 0.8])).mask.tolist() == [False]


def test_computes_in_tells_float32_from_float64_and_restores_the_arrays():
    x = np.array([0.3, -1.7, 2.2])
    calls = []

    def f64():
        calls.append(x.copy())
        return np.sin(x)

    def f32():
        return np.sin(x.astype(np.float32)).astype(np.float64)

    assert R.computes_in(f32, f32(), [x]) == "float32"
    assert x.tolist() == [0.3, -1.7, 2.2]
    assert R.computes_in(f64, f64(), [x]) == "float64" and x.tolist() == [0.3, -1.7, 2.2]
    assert len(calls) == 1 + 2  # two forwards of its own: the small move showed
    rows = np.full(4, 999.0)  # blind to moving every entry alike (rows of one value), not to other moves
    centred = lambda: rows - rows.mean()  # noqa: E731
    assert R.computes_in(centred, centred(), [rows]) == "float64" and rows.tolist() == [999.0] * 4
    assert R.computes_in(f32, f32(), [np.zeros(3)]) == "float64"  # nothing to move
    assert R.computes_in(f32, np.zeros(0), [x]) == "float64"
    flat = np.array([1.0, 1.0, 1.0])

    def const32():  # float32 inside, but the output does not depend on the input: no evidence
        return np.ones(2)

    assert R.computes_in(const32, const32(), [flat]) == "float64"


# --- what a comparison records when something is missing or odd ------------------------------------------------
def test_a_missing_checker_answer_records_the_largest_atol_and_formats():
    ref = {"grad_x": np.array([1.0, 2.0])}
    tol = {("torch", "grad_x"): Tol(np.array([1e-5, 3e-5]), 2e-5)}
    c, = judge_example(_run({"torch": None}, ref, tolerances=tol, stages=("grad_x",)))
    assert c.failed and c.atol == 3e-5 and c.rtol == 2e-5 and c.max_abs == math.inf and c.max_rel == math.inf
    assert c.headroom == 0.0 and "atol=3e-05 rtol=2e-05 (headroom 0, needs >= 1)" in c.message()
    c, = judge_example(_run({"torch": None}, ref, stages=("grad_x",)))
    assert c.atol == 1e-12 and "max_abs=inf max_rel=inf, tolerance atol=1e-12 rtol=1e-09" in c.message()


def test_a_measurement_that_failed_on_its_own_has_no_headroom():
    c = compare(np.array([1.0]), np.array([1.0, 2.0]), T64, **META)
    assert c.failed and c.headroom == 0.0 and c.max_abs == math.inf
    assert compare(np.array([1.0]), np.array([1.0]), T64, **META).seconds == 0.0


def test_compare_holds_the_reference_to_the_check_dtype_not_the_checker_dtype():
    ref32 = np.array([1.0, 2.0], np.float32)
    ok = compare(ref32, np.array([1.0, 2.0]), Tol(1e-5, 1e-5), **{**META, "dtype": "float32"})
    assert ok.passed, ok.note
    bad = compare(ref32, np.array([1.0, 2.0]), T64, **{**META, "dtype": "float64"})
    assert bad.failed and "dtype float32 != float64" in bad.note


def test_overflow_mode_leaves_odd_arrays_to_the_measurement():
    # an integer oracle answer equal to the reference: nothing to leave out, a pass
    c, = judge_example(_run({"torch": {"grad_x": np.array([1, 2])}}, {"grad_x": np.array([1.0, 2.0])}, overflow=True,
                            stages=("grad_x",)))
    assert c.passed
    # an integer reference against an overflowing oracle: fails as not floating, no crash
    c, = judge_example(_run({"torch": {"grad_x": np.array([np.inf, 2.0])}}, {"grad_x": np.array([1, 2])}, overflow=True,
                            stages=("grad_x",)))
    assert c.failed and "not floating" in c.note
    # shapes that differ: a shape failure, whatever overflows
    c, = judge_example(_run({"torch": {"grad_x": np.array([np.inf, 2.0])}}, {"grad_x": np.array([1.0])}, overflow=True,
                            stages=("grad_x",)))
    assert c.failed and "shape (1,) != expected (2,)" in c.note


def test_a_checker_value_that_overflowed_is_read_without_a_warning():
    """Warnings are errors in this suite: a non-finite central difference (the forward overflowed) under a
    tolerance without rtol must give a reason, not an invalid-operation warning."""
    exp = np.array([np.inf, np.nan, 1.0])
    why = undecided_reason(exp, exp, Tol(1e-12, 0.0), np.array([np.inf, np.inf, 0.0]), None, True)
    assert "cannot tell" in why
    assert undecided_reason(np.zeros(3), exp, Tol(1e-12, 0.0), np.zeros(3), _kinks([True, True, True]), False) != ""
    huge = np.array([1.7e308])
    assert undecided_reason(huge, huge, Tol(1.7e308, 1.0), np.zeros(1), None, True) == ""


def test_the_resolution_boundary_and_extreme_bounds():
    tol = Tol(1e-12, 1e-9)
    two = np.array([2.0])
    need = resolution_needed(two)
    assert undecided_reason(two, two, tol, need.copy(), None, True) == ""  # a bound exactly at the resolution decides
    assert undecided_reason(two, two, tol, np.nextafter(need, 1.0), None, True) != ""
    zero = np.zeros(1)  # a zero gradient and no example scale: no bound can resolve it
    assert undecided_reason(zero, zero, tol, np.array([1e-8]), None, True).startswith("numerical cannot tell")
    assert "cannot tell" in undecided_reason(zero, zero, tol, np.array([1e10]), None, True)
    inf = np.array([np.inf, 1.0])  # an infinite value with an infinite bound: undecided, without a warning
    assert "cannot tell" in undecided_reason(inf, inf, tol, np.array([np.inf, 0.0]), None, True)


def test_the_reason_names_the_entry_furthest_above_its_resolution():
    tol = Tol(1e-12, 1e-9)
    exp = np.array([1.0, 100.0])  # needs 1e-4 and 1e-2: the first bound is 10x too loose, the second 5x
    why = undecided_reason(exp, exp, tol, np.array([1e-3, 5e-2]), None, True)
    assert "bound 0.001 at (0,) (value 1)" in why and "on 2 of 2 entries" in why
    inf = np.array([np.inf, 1.0])  # an infinite bound on an infinite value is the worst of all
    why = undecided_reason(inf, inf, tol, np.array([np.inf, 1e-2]), None, True)
    assert "bound inf at (0,)" in why


def test_a_disagreement_exactly_at_the_tolerance_is_no_disagreement():
    kinks = _kinks([True])
    assert undecided_reason(np.array([0.75]), np.array([0.5]), Tol(0.25, 0.0), np.zeros(1), kinks, False) == ""
    assert undecided_reason(np.array([0.76]), np.array([0.5]), Tol(0.25, 0.0), np.zeros(1), kinks, False) != ""
    # infinities on both sides do not warn
    two = _kinks([False, True])
    assert undecided_reason(np.array([np.inf, 0.0]), np.array([np.inf, 0.5]), Tol(1e-12, 1e-9), np.zeros(2), two,
                            False) == ""


def test_measured_noise_key_order_small_scales_and_empty_stages():
    t = np.array([0.5])
    out = measured_noise({"none": None, "unanswered": t, "a": t}, {"unanswered": [], "a": [t + 1e-7]})
    assert set(out) == {"a"} and out["a"].scale == 0.5  # the stage's own largest, not 1
    empty = measured_noise({"e": np.zeros(0)}, {"e": [np.zeros(0)]}, at_least=2.0)
    assert empty["e"].scale == 2.0 and empty["e"].entries.size == 0


def test_rho_a_value_passed_through_has_no_granularity():
    u = 1e-6
    got = R._rho(np.array([1.0]), np.array([1.25]), np.array([1.0]), u, center=np.array([1.25]))
    assert got == pytest.approx(16 * u * 1.25 + 1.0)  # up equals the centre: its rounding only


def test_judge_example_applies_the_convention_and_times_each_checker():
    ref = {"grad_x": np.array([0.0])}
    c, = judge_example(_run({"jax": {"grad_x": np.array([1.0])}}, ref, stages=("grad_x",), convention=RELU0))
    assert c.passed and c.extra["differs"] is True and c.seconds == 0.0  # jax was not timed in this run
    c, = judge_example(_run({"torch": {"grad_x": np.array([0.0])}}, ref, stages=("grad_x",)))
    assert c.seconds == 0.25


def test_judge_example_measures_the_joint_stage_in_float64_whatever_the_dtype():
    from oracles.names import JOINT, Stage

    run = ExampleRun(layer="l", dtype="float32", shapes={}, example=0, stages=(Stage(JOINT),),
                     reference={JOINT: np.array([1.0, 2.0])}, notes={}, answers={"directional": {JOINT: np.array([1.0, 2.0])}},
                     seconds={}, tolerances={("directional", JOINT): Tol(1e-5, 1e-5)})
    c, = judge_example(run)
    assert c.passed, c.note


def test_judge_example_empty_input_and_a_disagreement_only_on_a_kink():
    c, = judge_example(_run({"numerical": {"grad_x": np.zeros(0)}}, {"grad_x": np.zeros(0)}, stages=("grad_x",),
                            uncertainty={("numerical", "grad_x"): np.zeros(0)}))
    assert c.extra["bound"] == 0.0 and c.outcome == "inconclusive"
    kinks = {"grad_x": _kinks([False, True])}
    c, = judge_example(_run({"numerical": {"grad_x": np.array([1.0, 0.5])}}, {"grad_x": np.array([1.0, 0.0])},
                            stages=("grad_x",), uncertainty={("numerical", "grad_x"): np.full(2, 1e-12)}, kinks=kinks))
    assert c.outcome == "inconclusive" and c.note.startswith("not differentiable at (1,) (1 disagreeing entry")


def test_a_failing_verdict_carries_the_examples_repro_snippet():
    from broken_layers import BROKEN
    from oracles import run_check

    spec, dtype, _ = BROKEN["affine_db_wrong_axis"]
    v = run_check(spec, dtype, ("torch",), max_examples=3, record=False).verdicts[("torch", "grad_b")]
    assert v.outcome is Outcome.FAIL and "replay(" in v.failure.repro and "replay(" in v.message()


def test_measure_edge_tolerances_and_huge_relative_errors_without_warnings():
    # atol 0 on an exact zero that both sides give: agreement (infinite headroom), not 0/0
    assert measure(np.array([0.0, 1.0]), np.array([0.0, 1.0]), Tol(0.0, 1e-9)).headroom == math.inf
    assert measure(np.array([0.0, 1.0]), np.array([0.0, 1.0]), Tol(np.array([0.0, 1e-5]), 1e-9)).headroom == math.inf
    # an error over an exact zero: a huge relative error, never an overflow warning
    m = measure(np.array([1e10]), np.array([0.0]), T64)
    assert m.max_rel == math.inf and not m.within
    m = measure(np.array([1e10, np.nan]), np.array([0.0, np.nan]), T64)
    assert m.max_rel == math.inf and not m.within
    m = measure(np.array([1.0, np.nan]), np.array([0.0, np.nan]), Tol(0.0, 1e-9))  # nothing allowed at all
    assert m.headroom == 0.0 and m.worst_index == (0,)


def test_the_dtype_diagnostic_judges_the_values_under_the_tolerance_in_force():
    tol = Tol(1e-5, 1e-3)
    agree = "the values agree, the layer returns float64 for float32 input"
    for act, exp in [([1e-6], [0.0]),                 # within atol (NumPy's default atol, 1e-8, would not be)
                     ([1.0001], [1.0]),               # within rtol (NumPy's default rtol, 1e-5, would not be)
                     ([np.nan, 1.0], [np.nan, 1.0])]:  # NaN in the same places
        m = measure(np.array(act), np.array(exp, np.float32), tol, "float32")
        assert m.problems[0].endswith(agree), (act, m.problems)


def test_empty_and_not_floating_comparisons_format_their_numbers():
    empty = compare(np.zeros(0), np.zeros(0), T64, **META)
    assert "max_abs=0 max_rel=0, tolerance atol=1e-12 rtol=1e-09" in empty.message()
    ints = compare(np.array([1, 2]), np.array([1.0, 2.0]), T64, **META)
    assert ints.failed and "tolerance atol=1e-12 rtol=1e-09" in ints.message() and ints.atol == 1e-12


def test_measure_against_an_integer_checker_names_the_dtype():
    m = measure(np.array([1.0, 2.0]), np.array([1, 2]), T64)  # the dtype defaults to the oracle's: int64
    assert m.problems == ("dtype float64 != int64: the values agree, the layer returns float64 for int64 input",)
    assert m.max_abs == 0.0 and m.compared == 2


def test_a_stage_that_does_not_apply_is_not_run_with_its_reason():
    from oracles.judge import not_applicable

    v = not_applicable("fn", "float32", "torch", "grad2_x", "the backward is once_differentiable")
    assert v.outcome is Outcome.NOT_RUN and not v.passed and not v.budget_spent and v.failure is None
    assert (v.layer, v.dtype, v.oracle, v.stage) == ("fn", "float32", "torch", "grad2_x")
    assert v.reason == "not applicable: the backward is once_differentiable"


def test_an_entry_whose_step_moves_nothing_is_constant_or_probed_at_eight_times_the_step():
    u = S.UNIT["float64"]
    ct = np.array([2.0])
    x = np.array([-1.0])
    dead = lambda: np.maximum(x, 0.0) + 3.0  # noqa: E731  a dead unit: locally constant
    got = N._constants(S._At(dead, ct, dead(), "float64"), x, [0], [1e-6])[0]
    rounding = 16 * u * 2.0 * (3.0 + 3.0) / (2 * 1e-6 * N.REFINE)  # what the output's rounding could hide
    assert got[:4] == (0.0, pytest.approx(rounding), 0.0, 0.0) and np.isnan(got[4]) and np.isnan(got[5])
    assert got[6] == pytest.approx(rounding) and x.tolist() == [-1.0]
    # a step the function's own quantum swallowed: the full probe at 8x, its bound also covering 0
    y = np.array([0.50085])
    steps = lambda: np.floor(y * 1e3) / 1e3  # noqa: E731  constant within +-1e-4; at 8e-4 one step up, none down
    at = S._At(steps, np.array([1.0]), steps(), "float64")
    got, (probe, moved) = N._constants(at, y, [0], [1e-4])[0], S._probe(at, y, 0, 8e-4)
    assert moved
    assert got[0] == probe[0] != 0.0 and got[1] == max(probe[1], abs(probe[0])) and got[1] > abs(got[0])
    assert got[2:7] == pytest.approx(probe[2:7], nan_ok=True) and y.tolist() == [0.50085]
    assert got[1] != got[2]  # the bound, not the jump
    # a dead zone of +-2e-6: flat at the first step, 0.75 at 8x with a bound of ~0.15 (its truncation; the
    # fourth difference of an odd function is 0): the bound reported covers the value (the first step saw
    # nothing); the pair at 8x is reused: 4 forwards in all
    z = np.array([0.0])
    calls = []
    dead_zone = lambda: calls.append(1) or np.sign(z) * np.maximum(np.abs(z) - 2e-6, 0.0)  # noqa: E731
    at = S._At(dead_zone, np.array([1.0]), dead_zone(), "float64")
    calls.clear()
    got, (probe, _) = N._constants(at, z, [0], [1e-6])[0], S._probe(at, z, 0, 8e-6)
    assert len(calls) == 4 + 4 and got[0] == pytest.approx(0.75) and probe[1] < 0.5 * abs(probe[0])
    assert got[1] == abs(got[0]) and z.tolist() == [0.0]


def test_a_finite_reference_against_an_infinite_checker_has_no_headroom():
    m = measure(np.array([1.0, 2.0]), np.array([np.inf, 2.0]), T64)
    assert not m.within and m.headroom == 0.0 and m.worst_index == (0,) and m.max_abs == math.inf


def test_weighted_rows_are_differenced_before_weighting_for_one_entry_and_many():
    """_weighted: each difference formed entry by entry (a large common value cancels exactly), a node with
    coefficient 0 left out (an infinite evaluation spoils only its own rows), and many entries at once
    ((k, M) nodes) get what each gets alone."""
    big = 1e16
    c = np.array([big, 1.0, -2.0])
    nodes = (c - [0, 2.5, 0], c - [0, 1, 0], c, c + [0, 1, 0], c + [0, 2.5, 0])  # the stencil: RATIO = 2.5
    ct = np.array([1.0, 0.5, -1.5])
    got = S._weighted(ct, nodes)
    assert got.shape == (7,) and got[:6].tolist() == [1.0, 2.5, 0.5, 0.5, 1.25, 1.25]  # exact: 1e16 did not move
    assert abs(got[6]) <= 8 * np.spacing(big)  # no fourth difference in a linear move: the 1e16 entry's rounding only
    with np.errstate(invalid="ignore"):
        inf = S._weighted(ct, nodes[:4] + (np.array([np.inf, 1.0, -2.0]),))
    assert inf[0] == 1.0 and math.isinf(inf[1]) and inf[3] == 0.5
    rng = np.random.default_rng(3)
    many = tuple(rng.normal(size=(4, 6)) for _ in range(5))  # 4 entries, 6 outputs
    ct = rng.normal(size=6)
    want = [[np.sum(ct * (n[3] - n[1])), np.sum(ct * (n[4] - n[0])), np.sum(ct * (n[3] - n[2])),
             np.sum(ct * (n[2] - n[1])), np.sum(ct * (n[4] - n[2])), np.sum(ct * (n[2] - n[0])),
             np.sum(ct * sum(w * f for w, f in zip(S._NOISE_WEIGHTS, n)))] for n in zip(*many)]
    assert S._weighted(ct, many).shape == (4, 7)
    # the rows summed by np.sum one entry at a time against _weighted's sums over the last axis: the same
    # terms, possibly added in another order, so a few ulps of sums of O(1) terms (the tolerance the
    # single-entry version of this test had); exact agreement with _weighted one entry at a time below
    np.testing.assert_allclose(S._weighted(ct, many), want, rtol=1e-12, atol=1e-15)
    assert [S._weighted(ct, n).tolist() for n in zip(*many)] == S._weighted(ct, many).tolist()


def test_the_sixth_node_is_a_noise_sample_blind_to_quartics_but_not_to_odd_rounding():
    """sixth_noise: the fifth divided difference on (-RATIO, -1, 0, 1, RATIO, SIXTH) x h from the four sums
    a probe kept and one forward at SIXTH h: zero on any polynomial of degree <= 4, not zero on rounding
    that is odd in the step (which the fourth difference cancels); the entry restored."""
    rng = np.random.default_rng(5)
    c, ct, h = rng.normal(size=5), np.array([0.5, -2.0]), 0.1
    x = np.array([0.0, 0.0])
    poly = lambda: np.polyval(c, x[0] / h) * np.array([1.0, 3.0])  # noqa: E731
    center = poly()
    sums = [float(np.sum(ct * (np.polyval(c, k) * np.array([1.0, 3.0]) - center))) for k in (-R.RATIO, -1.0, 1.0, R.RATIO)]
    assert abs(R.sixth_noise(poly, x, 0, h, ct, center, np.array(sums))) <= 1e-12 and x.tolist() == [0.0, 0.0]
    nodes = [-R.RATIO, -1.0, 0.0, 1.0, R.RATIO, R.SIXTH]
    w = np.array([1 / np.prod([a - b for b in nodes if b != a]) for a in nodes])
    assert R._noise_weights(R.RATIO, R.SIXTH) == pytest.approx(w / np.abs(w).sum())
    odd = np.array([-2.0, -1.0, 1.0, 2.0])  # e(-h) = -e(h): the fourth difference cancels it, the fifth does not
    assert abs(float(S._NOISE_WEIGHTS @ np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))) <= 1e-15
    flat = lambda: np.zeros(2)  # noqa: E731  the sixth node moves nothing
    assert abs(R.sixth_noise(flat, x, 0, h, ct, np.zeros(2), odd)) > 0.1


def test_corroborated_drops_what_a_comparably_tight_estimate_contradicts():
    """A loose first estimate agrees with anything: two tight ones that contradict each other are both
    dropped when they are within CONTRADICTS of each other's bound, and the one that agrees with every
    comparable estimate is kept; a contradiction from one more than CONTRADICTS times looser does not count."""
    first, far, mid = _t(0.0, 1.0), _t(0.1, 1e-3), _t(0.5, 1e-3 * N.CONTRADICTS)
    assert N._corroborated([first, far, mid]) == first
    looser = _t(0.5, 1e-3 * N.CONTRADICTS * 1.01)
    assert N._corroborated([first, far, looser]) == far
    assert N.CONTRADICTS == N.REFINE ** 2 / 4


def test_hidden_counts_half_a_float32_spacing_each_way_of_the_outputs_a_step_did_not_move():
    ct = np.array([0.5, -2.0, 3.0])
    up, down = np.array([3.5, 1e-3, 7.0]), np.array([3.5, 2e-3, 7.0])  # entries 0 and 2 did not move
    want = 0.5 * np.spacing(np.float32(3.5)) + 3.0 * np.spacing(np.float32(7.0))
    assert R.hidden_many(ct, up[None], down[None], "float32").tolist() == pytest.approx([float(want)], rel=1e-12)
    assert R.hidden_many(ct, up[None], down[None], "float64").tolist() == [0.0]
    two = R.hidden_many(ct, np.stack([up, up + 1.0]), np.stack([down, down]), "float32")  # row 2: every entry moved
    assert two.tolist() == pytest.approx([float(want), 0.0], rel=1e-12)


def test_the_careful_look_adds_the_sixth_nodes_excess_over_the_fourth_difference_only():
    """_careful widens an entry's bound by NOISE_FACTOR * max(0, |fifth| - |fourth|) / h, nothing else."""
    h = 0.1
    x = np.array([0.0, 0.0])
    f = lambda: np.array([10.0 * x[0] + 0.3 * (x[0] > 0.15), 10.0 * x[1]])  # noqa: E731  a step up at 0.15 < SIXTH h
    ct = np.array([1.0, 1.0])
    at = S._At(f, ct, f(), "float64")
    lin = np.array([10.0 * k * h for k in (-R.RATIO, -1.0, 1.0, R.RATIO)])
    sums = np.stack([lin + [0.0, 0.0, 0.0, 0.3], lin + [0.0, 0.0, 0.0, 0.3]])  # the jump seen at RATIO h
    est = N._Estimate(value=np.full(2, 10.0), bound=np.array([1e-3, 2e-3]), jump_h=np.zeros(2), jump_2h=np.zeros(2),
                      left=np.full(2, 10.0), right=np.full(2, 10.0), rounding=np.zeros(2), step=np.full(2, h),
                      noise=np.array([0.0, 1.0]), sums=sums)
    odd = [R.sixth_noise(f, x, i, h, ct, at.center, sums[i]) for i in range(2)]
    got = N._careful(at, x, est)
    assert got[0] == pytest.approx(1e-3 + S.NOISE_FACTOR * max(0.0, abs(odd[0]) - 0.0) / h)
    assert got[1] == pytest.approx(2e-3 + S.NOISE_FACTOR * max(0.0, abs(odd[1]) - 1.0) / h) and got[0] > 1e-3
    assert x.tolist() == [0.0, 0.0] and est.bound.tolist() == [1e-3, 2e-3]  # restored; the estimate untouched


def _pinned_cases():
    x = np.array([1.0, 0.7, -1.0, 0.3])  # rounding-dominated (1e6 + 1e-3 x), curved, dead (max(x, 0) at -1), steep
    f64 = lambda: np.array([1e6 + 1e-3 * x[0] + 0.5 * x[1] ** 3, max(x[2], 0.0) + 2.0, np.sin(50.0 * x[3])])  # noqa: E731
    w, p = np.array([9.3e-38, 0.034]), np.array([1e-4, 1e-37, -3.68])

    def f32():  # computes in float32; at the first step w[0]'s move hides below the first output's rounding
        a, tiny, c = p.astype(np.float32)
        w32 = w.astype(np.float32)
        return np.array([a * w32[0] + c + np.float32(0.5) * w32[1], tiny * w32[0] + tiny * w32[1]], dtype=np.float64)

    return [(f64, [("x", x)], np.array([0.9, -1.1, 0.6])), (f32, [("w", w), ("p", p)], np.array([0.95, -1.08]))]


@pytest.mark.parametrize("k, precision, forwards, values, bounds", [
    (0, "float64", 33, {"x": [0.000899998, 0.6615, 0.0, -22.7906]},
     {"grad_x": [1.48355e-07, 1.00986e-05, 8.52344e-08, 0.000187274]}),
    (1, "float32", 42, {"w": [9.49812e-05, 0.475], "p": [0.0, -0.03672, 0.95]},
     {"grad_w": [9.53195e-06, 1.19185e-05], "grad_p": [6.76336e-06, 2.71558e-07, 3.72004e-06]}),
], ids=["float64", "float32"])
def test_the_refinement_policy_is_pinned(k, precision, forwards, values, bounds):
    """The refinement's policy (which entries are refined, which steps are tried in which order, when it
    stops, what is dead) on five kinds of entry, pinned to its forward count and answers:
    its mutants keep every bound honest (that is tested elsewhere) but spend forwards differently or stop
    at another estimate. A deliberate change of the policy updates these numbers."""
    f, targets, ct = _pinned_cases()[k]
    n = [0]

    def counted():
        n[0] += 1
        return f()

    grads, bound, _, got_precision, _, _ = N.estimate(counted, targets, ct)
    assert (got_precision, n[0]) == (precision, forwards)
    for name, want in values.items():
        assert grads[name] == pytest.approx(want, rel=1e-4, abs=1e-300)
    for stage, want in bounds.items():
        assert bound[stage] == pytest.approx(want, rel=1e-3)


# --- the probe's stencil and the precision test, batched (oracles/stencil.py, rounding.rho_many / computes_in) --
def test_the_one_sided_slopes_and_their_jumps_are_measured_per_side():
    """At a kink (|x| at 0) the slopes are -1 left and +1 right at both steps; on a smooth function they
    agree with the derivative to O(h). _kinks reads these fields; nothing else checks them one by one."""
    x = np.array([0.0])
    ct = np.array([1.5])
    at = S._At(lambda: np.abs(x), ct, np.abs(x), "float64")
    (value, _, jump_h, jump_2h, left, right, *_), moved = S._probe(at, x, 0, 1e-3)
    assert moved and (value, left, right, jump_h, jump_2h) == (0.0, -1.5, 1.5, 3.0, 3.0)
    y = np.array([0.3])
    at = S._At(lambda: y ** 2, ct, y ** 2, "float64")
    (value, _, jump_h, jump_2h, left, right, *_), _ = S._probe(at, y, 0, 1e-3)
    assert value == pytest.approx(0.9) and left == pytest.approx(0.9 - 1.5e-3) and right == pytest.approx(0.9 + 1.5e-3)
    assert jump_h == pytest.approx(3e-3) and jump_2h == pytest.approx(2.5 * 3e-3)


def test_an_overflowing_difference_has_an_infinite_bound():
    x = np.array([709.7])
    at = S._At(lambda: np.exp(x), np.array([1.0]), np.exp(x), "float64")
    with np.errstate(over="ignore", invalid="ignore"):
        fields, moved = S._probe(at, x, 0, 0.5)
    assert moved and fields[1] == np.inf and x.tolist() == [709.7]


def test_outputs_of_another_shape_are_differenced_as_they_broadcast_or_named():
    """A forward whose output changes shape when an entry moves (a broken layer): outputs that broadcast
    against the centre are probed on the common shape; others are a one-line ValueError with the shapes."""
    x = np.array([0.5, -1.0])
    ct = np.array([[1.0, 2.0]])

    def grows():  # (1, 2) at the centre, (2, 2) once x[0] moved
        out = np.array([[x[0] * 3.0, x[1]]])
        return out if x[0] == 0.5 else np.repeat(out, 2, axis=0)

    at = S._At(grows, ct, grows(), "float64")
    (value, bound, *_), moved = S._probe(at, x, 0, 1e-4)
    assert moved and value == pytest.approx(6.0) and bound < 1e-6  # two rows of 3 x ct 1.0, on the common shape
    assert S._probe(at, x, 1, 1e-4)[0][0] == pytest.approx(2.0)  # x[1] moves nothing's shape: the stacked path

    def odd():  # (5,) at the centre and below it, (3,) one step up, (4,) RATIO steps up
        return np.zeros(5 if x[0] <= 0.5 else 3 if x[0] < 0.5 + 2e-4 else 4)

    at = S._At(odd, np.ones(5), odd(), "float64")
    with pytest.raises(ValueError, match=r"the forward returned shapes \[\(3,\), \(4,\), \(5,\)\] when one entry "
                                         r"moved by 0\.0001, \(5,\) at the centre"):
        S._probe(at, x, 0, 1e-4)
    assert x.tolist() == [0.5, -1.0]


@pytest.mark.parametrize("nodes", [("v + h",), ("v - h",), ("v + RATIO h",), ("v - RATIO h",), ("v + h", "v - h"),
                                   ("v + h", "v - h", "v + RATIO h")], ids=lambda n: " & ".join(n))
def test_evaluations_of_another_shape_are_named_whichever_nodes_they_are(nodes):
    """_alike: each of the four evaluations is held to the centre's shape; those that do not broadcast
    against the others are the one-line ValueError with the shapes, never numpy's own error."""
    x, h = np.array([0.5]), 1e-4
    at_node = {"v + h": 0.5 + h, "v - h": 0.5 - h, "v + RATIO h": 0.5 + S.RATIO * h, "v - RATIO h": 0.5 - S.RATIO * h}

    def forward():
        return np.full(3 if any(abs(x[0] - at_node[n]) < h / 10 for n in nodes) else 5, x[0])

    at = S._At(forward, np.ones(5), forward(), "float64")
    with pytest.raises(ValueError, match=r"the forward returned shapes \[.*\] when one entry moved by 0\.0001"):
        S._probe(at, x, 0, h)
    assert x.tolist() == [0.5]


def test_rho_many_sums_each_row_by_itself():
    ct, u = np.array([2.0, -1.0]), 1e-3
    up = np.array([[1.0, 0.5], [3.0, 0.5], [1.0, 0.75]])  # rows 0 and 1 move nothing, row 2 moves entry 1
    down = np.array([[1.0, 0.5], [3.0, 0.5], [1.0, 0.5]])
    got = R.rho_many(ct, up, down, u)
    assert got.dtype == np.float64
    assert got.tolist() == pytest.approx([16 * u * (2 * 2.0 + 1 * 1.0), 16 * u * (2 * 6.0 + 1 * 1.0), 0.25 + 0.5])


def test_visible_is_exactly_eighty_thousand_spacings_and_quiet_on_non_finite_values():
    assert R._visible(np.array([1.0]), np.array([1.0 + 8e4 * 2.0 ** -52]))  # exactly at the threshold
    assert not R._visible(np.array([1.0]), np.array([1.0 + 7.9e4 * 2.0 ** -52]))
    assert not R._visible(np.zeros(2), np.ones(3))  # another shape: no evidence
    assert not R._visible(np.array([np.inf]), np.array([np.inf]))  # no warning: warnings are errors here
    assert R._visible(np.array([1e308]), np.array([-1e308]))


def test_computes_in_moves_finite_arrays_only_and_reads_only_finite_outputs():
    """An array of ones is moved like any other; a non-finite array is not moved (its moves would be NaN);
    an output that is NaN at the centre stays NaN under the small move and is left out of the float32 test."""
    ones = np.ones(3)
    f32 = lambda: np.sin(ones.astype(np.float32)).astype(np.float64)  # noqa: E731
    assert R.computes_in(f32, f32(), [ones]) == "float32"
    x, y = np.array([0.3, -1.7]), np.array([np.inf])
    g32 = lambda: np.concatenate([np.sin(x.astype(np.float32)), y.astype(np.float32)]).astype(np.float64)  # noqa: E731
    assert R.computes_in(g32, g32(), [x, y]) == "float32" and y.tolist() == [np.inf]
    nan32 = lambda: np.append(np.sin(x.astype(np.float32)).astype(np.float64), np.nan)  # noqa: E731
    assert R.computes_in(nan32, nan32(), [x]) == "float32"
    gated = lambda: (np.sin(x.astype(np.float32)) * (y.astype(np.float32) > 0)).astype(np.float64)  # noqa: E731
    assert R.computes_in(gated, gated(), [x, y]) == "float32"  # y moved would be NaN, and NaN > 0 is False
    zeros = np.zeros(2)
    assert R.computes_in(gated, gated(), [x, y, zeros]) == "float32"


def test_computes_in_second_direction_has_random_signs_and_sizes_whose_quarter_rounds_away():
    d = R._random_direction([np.zeros(1000), np.zeros((3, 4))])
    assert [a.shape for a in d] == [(1000,), (3, 4)]
    assert np.all((np.abs(d[0]) >= 0.8) & (np.abs(d[0]) <= 1.2)) and 0.25 * 1.2 < 0.5
    assert 400 < np.sum(d[0] < 0) < 600 and len(np.unique(np.abs(d[0]))) > 900  # signs and sizes both vary
    assert [a.tolist() for a in R._random_direction([np.zeros(5)])] == [a.tolist() for a in R._random_direction([np.zeros(5)])]


def test_computes_in_sees_a_float32_layer_blind_to_moving_everything_up_or_down():
    """x all 1.5 and W all -0.75 have the same relative float32 spacing: moved all up, or all down, by 2,500
    of their spacings, x @ W moves by 2,500^2 u^2 terms that float32 rounds away. Random signs alone cancel
    too whenever as many x_i as W_i move up (the fixed signs did for 8, 9 and 16 entries); random sizes
    do not."""
    for n in (1, 8, 9, 16):
        x, w = np.full(n, 1.5), np.full(n, -0.75)
        f = lambda: np.atleast_1d(x.astype(np.float32) @ w.astype(np.float32)).astype(np.float64)  # noqa: E731
        for sign in (1.0, -1.0):
            moved = [a + sign * 2500 * np.spacing(np.abs(a).astype(np.float32)).astype(np.float64) for a in (x, w)]
            assert np.array_equal(np.atleast_1d(moved[0].astype(np.float32) @ moved[1].astype(np.float32)), f())
        assert R.computes_in(f, f(), [x, w]) == "float32", n
