"""Unit tests of the decision code (the judge, the comparison, the tolerances, the float32 budget and the
numerical oracle's bound), written for its mutation run (mutation/README.md, "Decision code"): each
asserts behaviour a caller relies on (the outcome, the reason it gives, the numbers it records), on
small arrays, without running a check."""
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


def test_judge_example_one_comparison_per_oracle_and_stage_with_its_meta():
    ref = {"forward": np.array([1.0, 2.0]), "grad_x": np.array([3.0, 4.0])}
    comps = judge_example(_run({"torch": dict(ref)}, ref))
    assert [(c.oracle, c.stage, c.outcome) for c in comps] == [("torch", "forward", "pass"), ("torch", "grad_x", "pass")]
    assert all(c.example == 3 and c.seconds == 0.25 and c.layer == "l" and c.shapes == {"x": [2]} for c in comps)


def test_judge_example_an_oracle_that_could_not_run_or_gave_nothing_fails():
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


def test_an_exact_oracle_disagreeing_on_a_kink_gets_the_kink_named_and_still_fails():
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
    assert t.examples == 2 and t.counts[("torch", "grad_x")] == 2 and len(t.passing) == 2
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
    assert v.outcome is Outcome.NOT_RUN and v.budget_spent and v.reason.startswith("1 of 4 examples: the work budget ran out;")
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
