"""The judge: the one place where a verdict is decided, once.

Two levels, both built only here (tests/test_architecture.py checks that no other module constructs or
edits a `Comparison` or a `Verdict`):

- per example, per (oracle, stage): `judge_example` (a layer check) and `compare` (one pair of arrays,
  used by networks and training) turn a `Measurement` plus everything known about the example (the
  layer's protocol breaches, hygiene findings, a documented convention at a kink, the float32 noise,
  oracle-against-oracle agreement, the repro) into a frozen `Comparison`;
- per check, per (oracle, stage): `decide` turns a run's tally into a frozen `Verdict` (outcomes below).

Outcomes and what pytest shows for them (oracles/pytest_plugin.py):
  pass          every example within tolerance, at least one compared, the run complete: a passed test.
  fail          an example out of tolerance or breaking the protocol: a failed test, message "FAIL: ...".
  inconclusive  nothing could decide (nothing compared, or an oracle's own error bound too large): a
                failed test, "INCONCLUSIVE: ...". Never a skip, never counted as a pass.
  not-run       stopped early by another stage's failure, or left out: a visible skip with its reason
                ("N of M examples"); out of budget: a failed test.
  error         a bad spec or bad options: a usage error (raised, never a verdict on the layer).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable

import numpy as np

from .answer import Kinks
from .comparison import Comparison, Measurement, measure
from .undecided import own_bound
from .names import JOINT, ORACLES, Stage, oracle_stages
from .spec import Convention
from .tolerances import Tol


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_RUN = "not-run"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


# --- one example -------------------------------------------------------------------------------------------
def _documented(conv: Convention | None, oracle: str, stage: str) -> bool:
    """Whether this (oracle, stage) sits under a documented convention difference at a kink."""
    return conv is not None and oracle not in conv.agree and not Stage(stage).is_forward


def _build(m: Measurement, meta: dict, notes: list[str], extra: dict, repro: Callable[[], str] | str,
           convention: Convention | None, seconds: float, undecided: str = "") -> Comparison:
    """The only constructor call of Comparison in the project. `undecided`: why the values alone cannot
    decide (an oracle's own bound too loose to tell, a kink, a custom function's plain math overflowing
    where its rule is finite: those elements left out): inconclusive, never a pass."""
    notes = [n for n in notes if n] + list(m.problems)
    documented = _documented(convention, meta["oracle"], meta["stage"])
    if convention is not None:  # every comparison of an example put on a kink says so: the report keeps
        extra = {**extra, "kink": convention.where}  # oracle-vs-oracle differences there out of its matrix
    if documented:
        extra = {**extra, "differs": not m.within}
    outcome = _example_outcome(m, notes, documented)
    if outcome is Outcome.INCONCLUSIVE:
        notes.append(undecided or _nothing_compared(m))
    elif undecided and not notes:  # a protocol breach or a problem still fails
        outcome = Outcome.INCONCLUSIVE
        notes.append(undecided)
    passed = outcome is Outcome.PASS
    worst = m.worst_index is not None
    return Comparison(
        max_abs=m.max_abs, max_rel=m.max_rel, atol=m.atol, rtol=m.rtol, headroom=m.headroom, passed=passed,
        outcome=str(outcome), note="; ".join(notes),
        worst_index=list(m.worst_index) if worst else None, reference_value=m.reference_value if worst else None,
        oracle_value=m.oracle_value if worst else None, seconds=seconds,
        repro="" if passed else (repro() if callable(repro) else repro),
        convention=convention.describe() if documented else "", extra=extra, **meta)


def _example_outcome(m: Measurement, notes: list[str], documented: bool) -> Outcome:
    """A note (shape, dtype, NaN where the oracle has none, a protocol breach) fails; a value out of
    tolerance fails, except a documented convention difference at a kink; nothing finite on both sides is
    never agreement: inconclusive."""
    if notes or not (m.within or documented):
        return Outcome.FAIL
    return Outcome.INCONCLUSIVE if m.compared == 0 else Outcome.PASS


def _nothing_compared(m: Measurement) -> str:
    if m.size == 0:
        return "nothing to compare: the arrays are empty"
    return f"nothing finite to compare: all {m.size} element(s) are non-finite in the same places on both sides"


def _undecidable(actual, expected) -> tuple[Any, Any, str]:
    """Elements where the oracle is non-finite (its plain math overflows or is NaN) and the reference is
    finite (a numerically stabilized rule) decide nothing: both sides become NaN there, so they are left
    out; the text says how many, for the inconclusive outcome. Other arrays come back unchanged."""
    try:
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape or a.dtype.kind != "f" or e.dtype.kind != "f":
            return actual, expected, ""
        mask = ~np.isfinite(e) & np.isfinite(a)
    except (TypeError, ValueError):
        return actual, expected, ""
    if not mask.any():
        return actual, expected, ""
    a, e = a.copy(), e.copy()
    a[mask], e[mask] = np.nan, np.nan
    return a, e, (f"the plain math overflows or is NaN at {int(mask.sum())} of {mask.size} element(s) where "
                  f"the custom rule is finite: not decided there")


def compare(actual, expected, tol: Tol, *, note: str = "", extra: dict | None = None,
            repro: Callable[[], str] | str = "", convention: Convention | None = None, seconds: float = 0.0,
            **meta) -> Comparison:
    """The one comparison helper: the reference's `actual` against an oracle's `expected` under `tol`
    (|actual - expected| <= atol + rtol * |expected| element by element), judged.

    meta: layer, dtype, stage, oracle, shapes (and optionally example). A `note` (a protocol breach
    found elsewhere) fails the comparison whatever the numbers.

    >>> import numpy as np
    >>> from oracles import Tol
    >>> c = compare(np.array([1.0, 2.0]), np.array([1.0, 2.001]), Tol(1e-12, 1e-9), layer="demo",
    ...             dtype="float64", stage="forward", oracle="torch", shapes={})
    >>> c.passed, c.outcome, round(c.max_abs, 6)
    (False, 'fail', 0.001)
    """
    m = measure(actual, expected, tol, meta.get("dtype"))
    return _build(m, meta, [note], dict(extra or {}), repro, convention, seconds)


def missing(tol: Tol, problem: str) -> Measurement:
    """The measurement of a comparison whose oracle gave no value (it could not run on a broken layer)."""
    atol = tol.atol if isinstance(tol.atol, float) else float(np.max(tol.atol))
    return Measurement(math.inf, math.inf, atol, tol.rtol, 0.0, (problem,))


@dataclass(frozen=True)
class ExampleRun:
    """Everything one example produced, as the judge needs it.

    reference: stage -> what the reference layer returned (copies). notes: stage -> protocol breaches and
    hygiene findings. answers: oracle -> {stage -> array}, or None for an oracle that could not run
    because the layer itself is broken. tolerances: (oracle, stage) -> Tol in force (float32 budget
    applied; an oracle's own bound already added). noise: stage -> the float32 noise the budget measured
    (for the record). uncertainty: (oracle, stage) -> that oracle's own bound per entry (the numerical
    oracle). kinks: stage -> where the numerical oracle found the forward not differentiable.
    """

    layer: str
    dtype: str
    shapes: dict[str, list[int]]
    example: int
    stages: tuple[Stage, ...]
    reference: dict[str, Any]
    notes: dict[str, list[str]]
    answers: dict[str, dict[str, np.ndarray] | None]
    seconds: dict[str, float]
    tolerances: dict[tuple[str, str], Tol]
    noise: dict[str, float] = field(default_factory=dict)
    convention: Convention | None = None
    uncertainty: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    kinks: dict[str, Kinks] = field(default_factory=dict)
    overflow_inconclusive: bool = False  # a custom function's check: see _undecidable


def judge_example(run: ExampleRun) -> list[Comparison]:
    """One Comparison per (oracle, stage) of one example (names.oracle_stages: which stages each oracle
    answers)."""
    comps = []
    for oracle, answer in run.answers.items():
        for stage in oracle_stages(oracle, run.stages):
            tol = run.tolerances[(oracle, stage)]
            expected = None if answer is None else answer.get(stage)
            actual, undecided = run.reference.get(stage), ""
            if expected is not None and run.overflow_inconclusive:
                actual, expected, undecided = _undecidable(actual, expected)
            if expected is not None:
                # the joint stage compares derived float64 numbers (projections), not the layer's arrays
                m = measure(actual, expected, tol, None if stage == JOINT else run.dtype)
            elif answer is None:  # the oracle could not run: the layer is broken (its notes say how)
                m = missing(tol, f"oracle {oracle} could not run on this example")
            else:
                m = missing(tol, f"oracle {oracle} gave no {stage}")
            extra = {}
            if stage in run.noise:
                extra[f"{run.dtype}_noise"] = run.noise[stage]  # float64: measured through float32
            vs = _agreement(oracle, stage, run.answers)
            if vs:
                extra["vs"] = vs
            notes = list(run.notes.get(stage, ()))
            if undecided and not m.within:  # left out where the plain math overflows, still disagrees elsewhere
                undecided = ""
            own = run.uncertainty.get((oracle, stage))
            if own is not None:
                extra["bound"] = float(np.max(own, initial=0.0))
            if expected is not None and not m.problems and not undecided:
                undecided, note = own_bound(actual, expected, tol, own, run.kinks.get(stage), m, oracle, answer)
                notes.append(note)
            meta = dict(layer=run.layer, dtype=run.dtype, stage=str(stage), oracle=oracle, shapes=run.shapes,
                        example=run.example)
            # no repro here: it is made once per failing pair when the check is decided (with_repro)
            comps.append(_build(m, meta, notes, extra, "", run.convention, run.seconds.get(oracle, 0.0), undecided))
    return comps


def _agreement(oracle: str, stage: str, answers: dict) -> dict[str, float]:
    """Oracle against oracle, for the report's agreement matrix: other -> max |this - other| on this stage,
    for the oracles after this one in ORACLES (each pair once)."""
    order = {o: i for i, o in enumerate(ORACLES)}
    mine = (answers.get(oracle) or {}).get(stage)
    if mine is None:
        return {}
    vs = {}
    for other, answer in answers.items():
        theirs = (answer or {}).get(stage)
        if theirs is None or order.get(other, 99) <= order.get(oracle, 99) or np.shape(theirs) != np.shape(mine):
            continue
        a, b = np.asarray(mine, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: the same value, no difference
            d = np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.nan_to_num(np.abs(a - b), nan=np.inf))
        vs[other] = float(d.max()) if d.size else 0.0
    return vs


def check_error(layer: str, dtype: str, error: BaseException) -> Comparison:
    """The record of a check that could not run at all (a bad spec, an oracle that cannot run the math):
    the report must never show such a layer as absent-but-passing."""
    m = Measurement(math.inf, math.inf, 0.0, 0.0, 0.0, (f"the check raised {type(error).__name__}: {error}",))
    c = _build(m, dict(layer=layer, dtype=dtype, stage="check", oracle="-", shapes={}), [], {}, "", None, 0.0)
    return c


# --- one check ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """The outcome of one (oracle, stage) of one check, with its reason; built only by `decide`.

    examples: how many examples compared this pair; requested: how many a full run draws. failure: the
    smallest failing example's comparison, with its repro."""

    layer: str
    dtype: str
    oracle: str
    stage: str
    outcome: Outcome
    reason: str
    examples: int = 0
    requested: int = 0
    failure: Comparison | None = None
    budget_spent: bool = False  # not-run because the work budget ran out: a failed test, not a skip

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASS

    def to_json(self) -> dict:
        """A records line (names.VERDICT_FIELDS) for a not-run or inconclusive pair with no comparison."""
        keys = ("layer", "dtype", "stage", "oracle", "reason", "examples", "requested")
        return {"kind": "verdict", "outcome": str(self.outcome), **{k: getattr(self, k) for k in keys}}

    def message(self) -> str:
        """Starts with the outcome's name (FAIL, INCONCLUSIVE, NOT-RUN, PASS), then what and why."""
        head = f"{str(self.outcome).upper()}: "
        if self.failure is None:
            return head + f"{self.layer} [{self.dtype}] {self.stage} vs {self.oracle}: {self.reason}"
        return (head + self.failure.message() + f"\n  {self.reason}\n  reproduce with:\n    "
                + self.failure.repro.replace("\n", "\n    "))


@dataclass
class Tally:
    """What a run has seen so far, per (oracle, stage): the input of `decide`. Filled by the check loop
    (oracles/check.py) from the judged comparisons; holds no verdict of its own."""

    counts: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)  # (oracle, stage) -> (Comparison, Case): the last (smallest)
    differences: dict = field(default_factory=dict)  # (oracle, stage) -> examples showing the documented difference
    inconclusive: dict = field(default_factory=dict)  # (oracle, stage) -> (count, the last such Comparison)
    passing: list = field(default_factory=list)  # every comparison that did not fail (pass or inconclusive)
    examples: int = 0
    last_failing: Any = None
    stopped: str = ""  # why the run ended early without a failure to stop at (the work budget), else ""

    def add(self, case, comps: list[Comparison], new_example: bool = True) -> None:
        # examples drawn up to and including the first failure; the ones Hypothesis tries while shrinking
        # it are not "examples" of the run ("failed after 103 examples" with max_examples=5 misled)
        self.examples += new_example and not self.failures
        for c in comps:
            key = (c.oracle, c.stage)
            self.counts[key] = self.counts.get(key, 0) + 1
            if c.extra.get("differs") and c.passed:
                self.differences[key] = self.differences.get(key, 0) + 1
            if c.failed:
                self.failures[key] = (c, case)
                self.last_failing = case
                continue
            self.passing.append(c)
            if c.outcome == Outcome.INCONCLUSIVE.value:
                self.inconclusive[key] = (self.inconclusive.get(key, (0, None))[0] + 1, c)


def decide(layer: str, dtype: str, pairs: list[tuple[str, str]], tally: Tally, requested: int,
           stopped: bool, convention: Convention | None = None) -> dict[tuple[str, str], Verdict]:
    """The verdict of every (oracle, stage) of a check, and of each oracle's convention at a kink
    (key (oracle, "convention")). `stopped`: the run ended at a failure before drawing every example."""
    first = sorted(tally.failures)[0] if tally.failures else None
    failures = with_repro(tally.failures)
    out = {}
    for oracle, stage in pairs:
        n = tally.counts.get((oracle, stage), 0)
        v = dict(layer=layer, dtype=dtype, oracle=oracle, stage=stage, examples=n, requested=requested)
        if (oracle, stage) in failures:
            c, _ = failures[(oracle, stage)]
            out[(oracle, stage)] = Verdict(outcome=Outcome.FAIL, failure=c, reason=f"failed after {tally.examples} example(s); "
                f"this is the smallest failing example found{f' (shrinking cut short: {tally.stopped})' * bool(tally.stopped)}.", **v)
        elif tally.stopped and not stopped and n < requested:
            out[(oracle, stage)] = Verdict(outcome=Outcome.NOT_RUN, budget_spent=True, reason=(
                f"{n} of {requested} examples: {tally.stopped}; a check that did not finish never passes "
                "(raise work_budget= / --oracle-work-budget, or check smaller shapes)"), **v)
        elif stopped and n < requested:
            out[(oracle, stage)] = Verdict(outcome=Outcome.NOT_RUN, reason=(
                f"{n} of {requested} examples: agreed on those, but the run stopped at the first failure "
                f"({first[1]} vs {first[0]}) before a full run"), **v)
        elif n == 0:
            out[(oracle, stage)] = Verdict(outcome=Outcome.INCONCLUSIVE, reason="no example was compared", **v)
        elif _too_few_conclusive(n, tally.inconclusive.get((oracle, stage))):
            k, c = tally.inconclusive[(oracle, stage)]
            out[(oracle, stage)] = Verdict(outcome=Outcome.INCONCLUSIVE, failure=None, reason=(
                f"conclusive on {n - k} of {n} example(s), needs at least half; e.g. example {c.example}: {c.note}"), **v)
        else:
            out[(oracle, stage)] = Verdict(outcome=Outcome.PASS, reason=f"passed on {n} example(s)", **v)
    if convention is not None:
        for oracle in dict.fromkeys(o for o, _ in pairs):
            if oracle not in convention.agree:
                out[(oracle, "convention")] = _convention_verdict(layer, dtype, oracle, convention, tally, requested, stopped)
    return out


def not_asked(layer: str, dtype: str, oracle: str, stage: str, reason: str) -> Verdict:
    """Not-run with the reason, never a pass or a failure: left out by default (the numerical oracle in float32
    where float64 settled it) or not applicable (no second order once_differentiable; no jvp of a custom_vjp)."""
    return Verdict(layer=layer, dtype=dtype, oracle=oracle, stage=stage, outcome=Outcome.NOT_RUN, reason=reason)


def not_applicable(layer: str, dtype: str, oracle: str, stage: str, reason: str) -> Verdict:
    return not_asked(layer, dtype, oracle, stage, f"not applicable: {reason}")


def with_repro(failures: dict) -> dict:
    """(oracle, stage) -> (Comparison, Case) with each smallest failing comparison carrying its example's
    repro snippet. Made once, when the check is decided: a snippet holds every array at full precision
    (a megabyte at 4096-long inputs), too costly for each of the examples Hypothesis tries while shrinking."""
    return {k: (c if c.repro else replace(c, repro=case.repro()), case) for k, (c, case) in failures.items()}


def _too_few_conclusive(n: int, inconclusive: tuple | None) -> bool:
    """A pair passes only when it was conclusive (something finite compared, within tolerance) on at least
    half of the examples that asked it: a check that compared nothing never passes."""
    return inconclusive is not None and 2 * (n - inconclusive[0]) < n


def _convention_verdict(layer, dtype, oracle, conv: Convention, tally: Tally, requested: int, stopped: bool) -> Verdict:
    """An oracle documented to differ at a kink must actually differ there; if it never does, the
    documented convention is stale."""
    seen = sum(n for (o, _), n in tally.differences.items() if o == oracle)
    v = dict(layer=layer, dtype=dtype, oracle=oracle, stage=f"kink {conv.where}", examples=seen, requested=requested)
    if seen:
        return Verdict(outcome=Outcome.PASS, reason=f"the documented difference showed in {seen} comparison(s)", **v)
    if stopped:
        return Verdict(outcome=Outcome.NOT_RUN, reason=(
            f"the run stopped at another failure after {tally.examples} example(s)"), **v)
    return Verdict(outcome=Outcome.FAIL, reason=(
        f"at {conv.where}: the documented convention difference ({conv.describe()}) did not show in "
        f"{tally.examples} example(s) on the kink; the table is stale"), **v)


def decide_networks(label: str, dtype: str, oracles, counts: dict, examples: int, culprit: dict,
                    failure_message: str) -> dict[str, Verdict]:
    """The verdict per oracle of a randomized network check: fail where the smallest failing network
    diverges from that oracle (`culprit`: oracle -> where divergence begins), inconclusive where no
    network was compared, else pass."""
    out = {}
    for oracle in oracles:
        v = dict(layer=label, dtype=dtype, oracle=oracle, stage="every layer", examples=counts.get(oracle, 0),
                 requested=examples)
        if oracle in culprit:
            out[oracle] = Verdict(outcome=Outcome.FAIL, reason=(
                f"divergence begins at {culprit[oracle]}; failed after {examples} network(s); the smallest "
                f"failing network found:\n{failure_message}"), **v)
        elif not counts.get(oracle):
            out[oracle] = Verdict(outcome=Outcome.INCONCLUSIVE, reason="no network was compared", **v)
        else:
            out[oracle] = Verdict(outcome=Outcome.PASS, reason=f"every layer agreed on {examples} network(s)", **v)
    return out
