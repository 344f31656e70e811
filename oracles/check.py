"""The one straight path: case -> reference -> oracle answers -> judge -> verdict.

    evaluate_case   one example: reference_run.run_reference, every oracle's Answer, the float32
                    budget, then judge.judge_example -> one Comparison per (oracle, stage)
    run_check       Hypothesis draws examples and feeds each to evaluate_case; judge.decide turns the
                    tally into the verdict of every (oracle, stage): a frozen CheckResult

The check reads no global option and writes nothing: callers pass their options and write the records
of the result they get back (`run_check(record=True)` does that for its caller, after the check).
"""
from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import numpy as np

from hypothesis import HealthCheck, given, settings

from . import budget, records, work
from .backends import RUNNERS, jax_is_warm, output_shapes
from .directional import run_directional
from .comparison import Comparison
from .judge import ExampleRun, Outcome, Tally, check_error, decide, judge_example, not_asked, with_repro
from .looks import second_looks
from .names import DIRECTIONAL, FRAMEWORKS, ORACLES, Stage, oracle_stages
from .options import OPTIONS
from .protocol import spurious_blas_flags
from .reference_run import hygiene, run_reference
from .result import CheckResult, OracleMismatch, OracleNotRun
from .spec import Convention, LayerSpec
from .strategies import Case, cases, cotangents, kink_cases
from .tolerances import Tol, tolerance_for
from .validate import validate_run

__all__ = ["CheckResult", "OracleError", "OracleMismatch", "OracleNotRun", "evaluate_case", "run_check", "replay"]


class OracleError(RuntimeError):
    """An oracle itself could not run the spec's math: a problem with the spec, not the reference."""


def _ask(spec: LayerSpec, case: Case, ct, oracles, broken: bool, jax_compile: bool, shapes, runners=None) -> dict:
    """oracle -> Answer (None: it could not run on a layer that is broken anyway)."""
    # a spec may bring its own oracles (a custom function's: oracles/function_runners.py), so replay works
    runners = runners or getattr(spec, "runners", None) or {**RUNNERS, DIRECTIONAL: run_directional}
    answers = {}
    for oracle in oracles:
        if oracle == "jax" and not jax_is_warm(spec, case) and (not jax_compile or case.layout >= spec.jax_layout_count):
            continue  # shrinking, or a layout JAX is not asked on: no comparison, nothing counted
        try:
            answers[oracle] = runners[oracle](spec, case, ct)
        except Exception as e:
            if oracle in ("numerical", DIRECTIONAL) and broken:
                answers[oracle] = None  # the reference layer itself is broken; its notes already say how
            else:
                raise OracleError(f"{spec.name} [{case.dtype}] oracle {oracle} failed on shapes {shapes}: {e}") from e
    return answers


def evaluate_case(
    spec: LayerSpec, case: Case, oracles=ORACLES, example: int = 0, jax_compile: bool = True,
    noise_from: tuple[str, ...] = FRAMEWORKS, convention: Convention | None = None, runners: dict | None = None,
) -> list[Comparison]:
    """Run the reference and every oracle on one example; one judged Comparison per (oracle, stage).

    With `jax_compile=False` the JAX oracle is skipped (no Comparison at all, so nothing counts as
    passed) for shapes it has not compiled yet: run_check uses this while Hypothesis shrinks a failure,
    where each new shape would otherwise cost a ~0.1 s compile. With `convention`, the example sits on
    that kink and the judge accepts the documented difference (see judge.py).

    Protocol breaches of the reference layer (raising, wrong shapes, missing gradients, NaN, mutating
    its arguments) come back as failed Comparisons whose note says what happened, never as a crash.
    """
    shapes = {k: list(v) for k, v in case.shapes().items()}
    try:
        out_shapes = output_shapes(spec, case)
    except Exception as e:  # the spec's own math cannot run on these shapes
        raise OracleError(f"{spec.name} [{case.dtype}] oracle torch failed on shapes {shapes}: {e}") from e
    for o, s in zip(spec.outputs or ("",), out_shapes):
        shapes["out_" + o if o else "out"] = list(s)
    ct = cotangents(spec, out_shapes, case.dtype, case.seed)  # one per output
    stages = tuple(Stage(s) for s in spec.stages())
    ref = run_reference(spec, case, ct)
    if ref.layer is not None and not ref.broken:
        for stage, text in hygiene(spec, case, ct, ref).items():
            ref.note([stage], text)
    extras = getattr(spec, "reference_extras", None)  # a custom function's second order and jvp (function.py)
    if extras is not None:
        values, found = extras(case, ct)
        ref.values.update(values)
        for stage, texts in found.items():
            for text in texts:
                ref.note([stage], text)
    asked = _ask(spec, case, ct, oracles, ref.broken, jax_compile, shapes, runners)

    def judged(asked: dict, noise: dict) -> list[Comparison]:
        answers, _, reference, notes = _gathered(ref, asked)
        return judge_example(ExampleRun(
            layer=spec.name, dtype=case.dtype, shapes=shapes, example=example, stages=stages,
            reference=reference, notes=notes, answers=answers,
            seconds={o: a.seconds for o, a in asked.items() if a is not None},
            tolerances=_in_force(spec, case.dtype, stages, asked, noise),
            noise={s: budget.noise_summary(n) for s, n in noise.items()}, convention=convention,
            uncertainty={(o, s): u for o, a in asked.items() if a is not None for s, u in a.uncertainty.items()},
            kinks={s: k for a in asked.values() if a is not None for s, k in a.kinks.items()},
            overflow_inconclusive=getattr(spec, "overflow_inconclusive", False)))

    flat = _gathered(ref, asked)[1]  # the answers the noise reads: the second looks change the numerical's only
    # the perturbation's measurement only widens a tolerance (budget.py): measured only where something did not
    # pass (the same verdicts, fewer runs); then the second looks where they can still change a verdict (looks.py)
    first = judged(asked, _noise(spec, case, ct, flat, asked, noise_from, perturb=False))
    if all(c.outcome == Outcome.PASS for c in first):
        return first
    wide = _noise(spec, case, ct, flat, asked, noise_from, perturb=convention is None)
    return second_looks(asked, first, lambda a: judged(a, wide), lambda st, a: _in_force(spec, case.dtype, st, a, wide))


def _gathered(ref, asked: dict) -> tuple[dict, dict, dict, dict]:
    """The oracles' answers by stage, the same flat by (oracle, stage), and the reference's values and
    notes with each oracle's own question (directional projections) and findings added."""
    answers = {o: None if a is None else a.by_stage() for o, a in asked.items()}
    flat = {(o, s): v for o, d in answers.items() if d for s, v in d.items()}
    reference, notes = dict(ref.values), {s: list(n) for s, n in ref.notes.items()}
    for a in asked.values():
        if a is not None:
            reference.update(a.reference)
            for s, text in a.notes.items():
                notes.setdefault(s, []).append(text)
    return answers, flat, reference, notes


def _noise(spec: LayerSpec, case: Case, ct, flat: dict, asked: dict, noise_from, perturb: bool) -> dict:
    """stage -> the budget's Noise for this example (budget.py): float32, the frameworks' own error against
    the float64 truth, and with `perturb` what one float32 ulp on every input moves it by; float64, only
    with `perturb`: the example's conditioning at one float64 ulp. Never perturbed on a kink or tie."""
    if case.dtype == "float32":
        return budget.float32_noise(spec, case, ct, flat, noise_from, perturb=perturb)
    exact = perturb and any(o in FRAMEWORKS for o in asked)
    return budget.float64_noise(spec, case, ct, flat) if exact else {}


def _in_force(spec: LayerSpec, dtype: str, stages, asked: dict, noise: dict) -> dict:
    """(oracle, stage) -> the tolerance in force: the oracle's own tolerance where it gives one (bounds),
    else the table (with the layer's overrides) widened by the float32 budget, plus the oracle's own error
    bound per entry where it knows one (uncertainty: the numerical oracle)."""
    out = {}
    for o, a in asked.items():
        for s in oracle_stages(o, stages):
            if a is not None and s in a.bounds:
                out[(o, s)] = a.bounds[s]
                continue
            tol = budget.widen(tolerance_for(dtype, o, s, spec.tolerances), noise.get(s), dtype)
            own = None if a is None else a.uncertainty.get(s)
            out[(o, s)] = tol if own is None else Tol(atol=np.asarray(tol.atol) + own, rtol=tol.rtol)
    return out


def _storage_outside_pytest() -> None:
    """Outside pytest, Hypothesis's own files (its cache of source constants; the example database is
    off, see hypothesis_settings) go to the user's cache folder, not to `.hypothesis/` in whatever folder
    a script runs from. HYPOTHESIS_STORAGE_DIRECTORY, when set, wins; under pytest nothing changes."""
    if OPTIONS.pytest or os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    set_hypothesis_home_dir(cache / "gradient-oracles" / "hypothesis")


def hypothesis_settings(max_examples: int | None = None) -> dict:
    """What every oracle check overrides in the active profile: no deadline (JAX compiles per new shape),
    no multi-bug reporting (the first failure is shrunk to a minimal example), no too-slow health check.
    Outside pytest no example database: Hypothesis would write a `.hypothesis/` folder into whatever
    folder a script runs from (a failure prints its repro snippet instead); under pytest the profile's."""
    kw = dict(deadline=None, report_multiple_bugs=False, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    if not OPTIONS.pytest:
        kw["database"] = None
    if max_examples is not None:
        kw["max_examples"] = max_examples
    return kw


def _drive(spec, dtype, oracles, tally: Tally, strategy, max_examples, convention, runners,
           meter: work.Meter) -> OracleMismatch | None:
    """Let Hypothesis draw examples until one fails (then shrink it) or the run is complete; return the
    failure, if any. While shrinking, and on layouts JAX is not asked on, JAX was skipped: it is asked
    once on the minimal failing example, so its verdict on the failure is known (one compile).
    `meter` counts the layer's forward calls: work.Stop ends the run (out of budget, or the hang guard)."""
    counter = itertools.count()
    # at a kink a framework may differ on purpose: only PyTorch samples the float32 rounding there
    noise_from = ("torch",) if convention is not None else FRAMEWORKS

    @settings(settings.default, **hypothesis_settings(max_examples))
    @given(case=strategy)
    def check(case: Case) -> None:
        meter.examples = tally.examples
        if tally.failures:
            meter.shrink_step()
        # once a failure is known Hypothesis is shrinking: stop paying JAX compiles for new shapes
        comps = evaluate_case(spec, case, oracles, next(counter), not tally.failures, noise_from, convention, runners)
        tally.add(case, comps)
        bad = [c for c in comps if c.failed]  # an inconclusive example does not stop the run
        if bad:
            meter.failure_found()
            raise OracleMismatch("\n".join(c.message() for c in bad))

    try:
        check()
    except OracleMismatch as e:
        _jax_on_failure(spec, oracles, tally, next(counter), convention)
        return e
    return None


def _jax_on_failure(spec, oracles, tally: Tally, example: int, convention) -> None:
    """Ask JAX once on the smallest failing example (it was skipped while shrinking)."""
    if "jax" in oracles and tally.last_failing is not None and not any(k[0] == "jax" for k in tally.failures):
        noise_from = ("torch",) if convention is not None else FRAMEWORKS
        case = tally.last_failing
        # with the numerical oracle too where it is asked: its findings on the layer ("computes in float32")
        # go into every comparison of the example; only JAX's comparisons are new
        asked = ("jax",) + (("numerical",) if "numerical" in oracles else ())
        comps = evaluate_case(spec, case, asked, example, True, noise_from, convention)
        tally.add(case, [c for c in comps if c.oracle == "jax"], new_example=False)


def _metered_drive(spec, dtype, oracles, tally: Tally, strategy, max_examples, convention, runners,
                   meter: work.Meter) -> OracleMismatch | None:
    """_drive under the meter. Out of work: the run stops, what was compared stands (tally.stopped says
    why). Out of time (the hang guard): CheckTimeout, unless a failure was already found (then only its
    shrinking was cut short: the verdict stands)."""
    try:
        with work.metered(spec, meter), spurious_blas_flags():
            return _drive(spec, dtype, oracles, tally, strategy, max_examples, convention, runners, meter)
    except work.Stop as stop:
        if stop.kind == "time" and not tally.failures:
            raise work.CheckTimeout(str(stop)) from None
        when = "while shrinking the failure" if tally.failures else f"after {tally.examples} example(s)"
        tally.stopped = f"{stop} {when}" if stop.kind == "work" else f"hang guard hit {when}: {stop}"
        if tally.failures:  # outside the meter: one more example, so JAX's verdict on the failure is known
            _jax_on_failure(spec, oracles, tally, -1, convention)
            return OracleMismatch("\n".join(c.message() for c, _ in tally.failures.values()))
        return None


def run_check(
    spec: LayerSpec,
    dtype: str,
    oracles: tuple[str, ...] = ORACLES,
    *,
    max_examples: int | None = None,
    strategy=None,
    record: bool = True,
    convention: Convention | None = None,
    runners: dict | None = None,
    work_budget: int | None = None,
    hang_guard: float | None = None,
) -> CheckResult:
    """Draw examples with Hypothesis and compare the reference with every oracle on each.

    Uses the active Hypothesis profile (settings.default), with no deadline (JAX compiles per new shape)
    and no multi-bug reporting (the first failure is shrunk to a minimal example). With `record`, the
    result's comparisons are appended to the active records file after the check.

    With `convention`, examples sit exactly on that kink or tie (strategies.kink_cases) and only the
    frameworks are asked (central differences straddle the kink, so they answer neither side). A
    gradient that differs from an oracle outside `convention.agree` is recorded as a convention
    difference and does not fail; a forward that differs, a wrong shape or a NaN still fails.

    `runners`: oracle name -> function(spec, case, cotangent) -> Answer, for oracles asked differently
    than by default (e.g. the directional oracle with more directions).

    `work_budget`: forward calls of the reference layer the check may make (default work.PER_EXAMPLE per example);
    out of it, pairs without a full run are not-run ("N of M examples"). `hang_guard`: seconds after
    which the check raises work.CheckTimeout (default work.DEFAULT_HANG_GUARD, or ORACLE_HANG_GUARD).
    """
    validate_run(spec, dtype, oracles, max_examples, runners, work_budget, hang_guard)  # one line, nothing drawn
    if convention is not None:
        oracles = tuple(o for o in oracles if o != "numerical")
        strategy = strategy if strategy is not None else kink_cases(spec, convention, dtype)
    strategy = strategy if strategy is not None else cases(spec, dtype)
    requested = max_examples if max_examples is not None else settings.default.max_examples
    _storage_outside_pytest()
    tally = Tally()
    t0 = time.perf_counter()
    meter = work.Meter(spec.name, dtype, requested, work_budget, hang_guard)
    try:
        error = _metered_drive(spec, dtype, tuple(oracles), tally, strategy, max_examples, convention, runners, meter)
    except Exception as e:  # the check itself could not run (OracleError, a Hypothesis error): say so in
        if record:          # the records too, so the report cannot show this layer as absent-but-passing
            records.emit(tally.passing + [c for c, _ in with_repro(tally.failures).values()] + [check_error(spec.name, dtype, e)], spec.family)
        raise
    stages = spec.stages()
    pairs = [(o, s) for o in oracles for s in oracle_stages(o, stages)]
    tally.failures = with_repro(tally.failures)  # the smallest failing examples' snippets, made once
    result = CheckResult(
        layer=spec.name, dtype=dtype, oracles=tuple(oracles), stages=stages,
        verdicts=decide(spec.name, dtype, pairs, tally, requested, error is not None, convention),
        examples=tally.examples, requested=requested, counts=tally.counts, comparisons=tally.passing,
        failures=tally.failures, differences=tally.differences, error=error, seconds=time.perf_counter() - t0,
        convention=convention, last_failing=tally.last_failing, calls=meter.calls)
    if record:  # with the verdicts no comparison shows: not-run and inconclusive pairs
        unfinished = [v for v in result.verdicts.values() if v.outcome in (Outcome.NOT_RUN, Outcome.INCONCLUSIVE)]
        records.emit(result.records() + unfinished, spec.family)
    return result


def replay(case: Case, spec: LayerSpec | None = None, oracles=ORACLES) -> str:
    """Re-run one example (e.g. from a failure's repro snippet) and describe every comparison."""
    if spec is None:
        from .zoo import REGISTRY

        if case.layer not in REGISTRY:
            raise KeyError(f"layer {case.layer!r} is not in the registry: call replay(case, spec=your_spec)")
        spec = REGISTRY[case.layer]
    lines = []
    for c in evaluate_case(spec, case, oracles):
        status = "ok  " if c.passed else c.outcome.upper()[:4]
        lines.append(f"{status} {c.layer} [{c.dtype}] {c.stage:>10} vs {c.oracle:<9} max_abs={c.max_abs:.3g} "
                     f"headroom={c.headroom:.3g}" + (f"  {c.note.splitlines()[0]}" if c.note else ""))
    return "\n".join(lines)


#: why a check leaves the numerical oracle out of float32 by default (check_layer, check_function)
NUMERICAL_ASKED_IN_FLOAT64 = (
    "not asked by default in float32: central differences run the forward in float64 whatever the dtype, "
    "which the float64 check asked and passed (the float32 backward is held to PyTorch and JAX); ask for it "
    "with oracles=(..., 'numerical')")


def asked_in(dtype: str, oracles: tuple, float64: CheckResult | None, defaulted: bool) -> tuple:
    """The oracles asked in `dtype` by check_layer and check_function (which run float64 first). The
    numerical oracle differences the forward in float64 in every check (numerical.run_numerical,
    function_runners.run_numerical_fn): in float32, beside a float64 check where it passed every stage, it
    would ask the same question again on other draws, at half the check's cost (measured: the
    softmax-weighted pooling over 1024 entries, 123,000 of its 123,400 forward calls; a 1,000-element
    custom Function, 80,000 of 100,000). It stays asked where the caller names it, where float32 is the
    only dtype, and where the float64 numerical check did not pass (a layer that computes in float32 is
    answered in float32 only; a kink; anything else)."""
    if not (defaulted and dtype == "float32" and float64 is not None and "numerical" in oracles):
        return oracles
    numerical = [st for o, st in float64.pairs() if o == "numerical"]
    if not numerical or not all(float64.stage_passed("numerical", st) for st in numerical):
        return oracles
    return tuple(o for o in oracles if o != "numerical") or oracles


def left_out(layer: str, dtype: str, oracles: tuple, asked: tuple, stages) -> list:
    """The not-run verdict of every (oracle, stage) `asked_in` left out, with its reason."""
    return [not_asked(layer, dtype, o, st, NUMERICAL_ASKED_IN_FLOAT64) for o in oracles if o not in asked
            for st in oracle_stages(o, stages)]

