"""The one straight path: case -> reference -> oracles -> comparisons -> verdict (+ records)."""
from __future__ import annotations

import itertools
import math
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, given, settings

from . import budget, records
from .backends import ORACLES, RUNNERS, jax_is_warm, output_shape
from .comparison import Comparison, compare
from .names import Stage
from .spec import Convention, LayerSpec
from .strategies import Case, cases, cotangent, kink_cases
from .tolerances import tolerance_for


class OracleMismatch(AssertionError):
    """The reference disagreed with an oracle (or broke the layer protocol) on one example."""


class OracleError(RuntimeError):
    """An oracle itself could not run the spec's math: a problem with the spec, not the reference."""


def _short_exc(e: BaseException) -> str:
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__, limit=-3))
    return f"{type(e).__name__}: {e}\n  layer traceback (innermost frames):\n    " + tb.strip().replace("\n", "\n    ")


def _normalize_input_grads(spec: LayerSpec, g) -> tuple[dict[str, object], str]:
    """Map backward's return value onto the differentiable inputs; say what is wrong if it does not fit."""
    diff = spec.diff_inputs
    names = [a.name for a in spec.inputs]
    if not isinstance(g, (tuple, list)):
        g = (g,)
    g = tuple(g)
    if len(g) == len(diff):
        return dict(zip(diff, g)), ""
    if len(g) == len(names):  # one per input, non-differentiable ones ignored
        return {n: v for n, v in zip(names, g) if n in diff}, ""
    return {}, (
        f"backward returned {len(g)} gradient(s) but the layer has {len(diff)} differentiable input(s) {diff}"
    )


def evaluate_case(
    spec: LayerSpec, case: Case, oracles=ORACLES, example: int = 0, jax_compile: bool = True,
    noise_from: tuple[str, ...] = ("torch", "jax"),
) -> list[Comparison]:
    """Run the reference and every oracle on one example; one Comparison per (oracle, stage).

    With `jax_compile=False` the JAX oracle is skipped (no Comparison at all, so nothing counts as
    passed) for shapes it has not compiled yet: run_check uses this while Hypothesis shrinks a failure,
    where each new shape would otherwise cost a ~0.1 s compile.

    Protocol breaches of the reference layer (raising, wrong shapes, missing gradients, NaN, mutating
    its arguments) come back as failed Comparisons whose note says what happened, never as a crash.
    """
    shapes = {k: list(v) for k, v in case.shapes().items()}
    try:
        out_shape, _ = output_shape(spec, case)
    except Exception as e:  # the spec's own math cannot run on these shapes
        raise OracleError(f"{spec.name} [{case.dtype}] oracle torch failed on shapes {shapes}: {e}") from e
    shapes["out"] = list(out_shape)
    ct = cotangent(out_shape, case.dtype, case.seed)
    stage_notes: dict[str, list[str]] = {s: [] for s in spec.stages()}
    grad_stages = [s for s in spec.stages() if s != "forward"]

    def note(stages, text):
        for s in stages:
            stage_notes[s].append(text)

    # --- reference ---
    inputs = {k: np.array(v, copy=True) for k, v in case.inputs.items()}
    params = {k: np.array(v, copy=True) for k, v in case.params.items()}
    out, in_grads, par_grads = None, {}, {}
    layer = None
    try:
        layer = spec.make(params, **spec.config)
    except Exception as e:
        note(spec.stages(), f"make() raised {_short_exc(e)}")
    if layer is not None:
        try:
            out = layer.forward(*[inputs[a.name] for a in spec.inputs])
        except Exception as e:
            note(spec.stages(), f"forward raised {_short_exc(e)}")
        else:
            changed = [k for k in inputs if not np.array_equal(inputs[k], case.inputs[k], equal_nan=True)]
            if changed:
                note(["forward"], f"forward mutated its input(s) {changed} in place")
            dout = np.array(ct, copy=True)
            try:
                g = layer.backward(dout)
            except Exception as e:
                note(grad_stages, f"backward raised {_short_exc(e)}")
            else:
                if not np.array_equal(dout, ct):
                    note(grad_stages, "backward mutated dout in place (the caller's upstream gradient changes under it)")
                changed = [k for k in inputs if not np.array_equal(inputs[k], case.inputs[k], equal_nan=True)]
                if changed:
                    note(grad_stages, f"backward mutated the input(s) {changed} in place")
                in_grads, problem = _normalize_input_grads(spec, g)
                if problem:
                    note([f"grad_{n}" for n in spec.diff_inputs], problem)
                for p in spec.params:
                    if not hasattr(layer, "d" + p) or getattr(layer, "d" + p) is None:
                        note([f"grad_{p}"], f"layer has no gradient attribute d{p} after backward (parameter {p})")
                    else:
                        par_grads[p] = getattr(layer, "d" + p)

    reference = {"forward": out, **{f"grad_{k}": v for k, v in in_grads.items()}, **{f"grad_{k}": v for k, v in par_grads.items()}}
    if layer is not None and not any(stage_notes.values()):
        for stage, text in _hygiene(spec, case, ct, layer, reference).items():
            note([stage], text)

    # --- oracles ---
    outcomes = {}
    for oracle in oracles:
        if oracle == "jax" and not jax_is_warm(spec, case) and (
            not jax_compile or case.layout >= spec.jax_layout_count
        ):
            continue  # shrinking, or a layout JAX is not asked on: no comparison, nothing counted
        try:
            outcomes[oracle] = RUNNERS[oracle](spec, case, ct)
        except Exception as e:
            if oracle == "numerical" and any(stage_notes.values()):
                # the reference layer itself is broken; its notes already say how
                outcomes[oracle] = None
            else:
                raise OracleError(f"{spec.name} [{case.dtype}] oracle {oracle} failed on shapes {shapes}: {e}") from e
    answers: dict[tuple[str, str], np.ndarray] = {}  # (oracle, stage) -> what that oracle said
    for oracle, outcome in outcomes.items():
        for stage in spec.stages():
            if outcome is None or (stage == "forward" and outcome.output is None):
                continue
            answers[(oracle, stage)] = np.asarray(outcome.output if stage == "forward" else outcome.grads[Stage(stage).wrt])
    noise = budget.float32_noise(spec, case, ct, answers, noise_from) if case.dtype == "float32" else {}

    # --- comparisons ---
    comps: list[Comparison] = []
    for oracle, outcome in outcomes.items():
        for stage in spec.stages():
            if stage == "forward" and oracle == "numerical":
                continue  # the numerical oracle differentiates the reference's forward; it has no forward of its own
            expected = answers.get((oracle, stage))
            tol = budget.widen(tolerance_for(case.dtype, oracle, stage, spec.tolerances), noise.get(stage))
            meta = dict(layer=spec.name, dtype=case.dtype, stage=stage, oracle=oracle, shapes=shapes, example=example)
            if expected is None:
                c = Comparison(max_abs=math.inf, max_rel=math.inf, atol=tol.atol, rtol=tol.rtol, headroom=0.0, passed=False, **meta)
            else:
                c = compare(reference.get(stage), expected, tol, **meta)
            if stage in noise:
                c.extra["float32_noise"] = budget.noise_summary(noise[stage])
            if stage_notes[stage]:
                c.passed = False
                c.note = "; ".join(stage_notes[stage] + ([c.note] if c.note else []))
            c.seconds = outcome.seconds if outcome is not None else 0.0
            comps.append(c)
    _oracle_agreement(comps, answers)
    return comps


def _reference_pass(spec: LayerSpec, layer, inputs: dict, ct: np.ndarray) -> dict[str, object]:
    """forward + backward of `layer` on copies of `inputs` and `ct`: every stage's value."""
    out = layer.forward(*[np.array(inputs[a.name], copy=True) for a in spec.inputs])
    g = layer.backward(np.array(ct, copy=True))
    in_grads, _ = _normalize_input_grads(spec, g)
    vals = {"forward": out, **{f"grad_{k}": v for k, v in in_grads.items()}}
    vals.update({f"grad_{p}": getattr(layer, "d" + p, None) for p in spec.params})
    return vals


def _differences(spec: LayerSpec, dtype: str, a: dict, b: dict) -> dict[str, float]:
    """Stages where a and b disagree beyond the exact-oracle tolerance: stage -> max |a - b|."""
    out = {}
    for stage, va in a.items():
        vb = b.get(stage)
        try:
            va, vb = np.asarray(va, dtype=np.float64), np.asarray(vb, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if va.shape != vb.shape:
            out[stage] = math.inf
            continue
        tol = tolerance_for(dtype, "torch", stage, spec.tolerances)
        if not np.allclose(va, vb, atol=tol.atol, rtol=tol.rtol, equal_nan=True):
            out[stage] = float(np.max(np.abs(va - vb)))
    return out


def _second_input(spec: LayerSpec, case: Case) -> dict[str, np.ndarray]:
    """A different input of the same shapes and domain: each float input's values rolled by one place
    (a permutation, so bounds, kink margins and tie-free spacing all still hold)."""
    out = {}
    for a in spec.inputs:
        v = np.asarray(case.inputs[a.name])
        out[a.name] = np.roll(v.reshape(-1), 1).reshape(v.shape) if a.kind == "float" else v
    return out


def _hygiene(spec: LayerSpec, case: Case, ct: np.ndarray, layer, reference: dict) -> dict[str, str]:
    """Two checks no oracle can make, each a plain reference-against-reference comparison:

    - nondeterminism: a fresh instance given the same input and cotangent must give the same results;
    - stale state: the instance just used, given a second input and cotangent, must give what a fresh
      instance gives for them (catches caches filled once, gradients accumulated across calls with +=).
    """
    notes: dict[str, str] = {}
    try:
        again = _reference_pass(spec, spec.make({k: np.array(v, copy=True) for k, v in case.params.items()}, **spec.config), case.inputs, ct)
        for stage, d in _differences(spec, case.dtype, reference, again).items():
            notes[stage] = (f"nondeterministic: a second identical call (fresh instance, same input and cotangent) "
                            f"gave a different {stage} (max difference {d:.3g})")
        x2 = _second_input(spec, case)
        ct2 = cotangent(np.shape(ct), case.dtype, (case.seed + 1) % 2**32)
        reused = _reference_pass(spec, layer, x2, ct2)
        fresh = _reference_pass(spec, spec.make({k: np.array(v, copy=True) for k, v in case.params.items()}, **spec.config), x2, ct2)
        for stage, d in _differences(spec, case.dtype, fresh, reused).items():
            notes.setdefault(stage, f"stale state: the same instance used again on a second input gave a {stage} that differs "
                                    f"from a fresh instance's by {d:.3g} (state kept from the first call?)")
    except Exception as e:  # a layer that cannot be called twice is broken in its own way
        for stage in spec.stages():
            notes.setdefault(stage, f"calling the layer a second time raised {_short_exc(e)}")
    return notes


def _oracle_agreement(comps: list[Comparison], answers: dict) -> None:
    """Oracle against oracle, for the report's agreement matrix: extra["vs"][other] = max |this - other|
    (on the oracle's comparison of the same stage; each pair once)."""
    order = {o: i for i, o in enumerate(ORACLES)}
    for c in comps:
        mine = answers.get((c.oracle, c.stage))
        if mine is None:
            continue
        vs = {}
        for (o, s), theirs in answers.items():
            if s == c.stage and order.get(o, 99) > order.get(c.oracle, 99) and theirs.shape == mine.shape:
                d = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
                vs[o] = float(d.max()) if d.size else 0.0
        if vs:
            c.extra["vs"] = vs


@dataclass
class CheckResult:
    """Everything one randomized check of one layer in one dtype found.

    `failures[(oracle, stage)]` holds the smallest failing example seen for that pair; a pair passes when
    it was compared at least once and never failed.
    """

    layer: str
    dtype: str
    oracles: tuple[str, ...]
    stages: list[str]
    examples: int = 0
    counts: dict = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    failures: dict = field(default_factory=dict)
    error: BaseException | None = None
    seconds: float = 0.0
    convention: Convention | None = None
    differences: dict = field(default_factory=dict)
    last_failing: Case | None = None  # the last example that failed: after shrinking, the minimal one
    requested: int = 0  # the examples a full run draws (the profile's max_examples, or the one given)  # (oracle, stage) -> examples showing the documented difference

    def pairs(self):
        return [(o, s) for o in self.oracles for s in self.stages if not (o == "numerical" and s == "forward")]

    def add(self, case: Case, comps: list[Comparison], new_example: bool = True) -> None:
        self.examples += new_example
        for c in comps:
            key = (c.oracle, c.stage)
            self.counts[key] = self.counts.get(key, 0) + 1
            if c.passed:
                self.comparisons.append(c)
            else:
                self.failures[key] = (c, case)
                self.last_failing = case

    def records(self) -> list[Comparison]:
        out = list(self.comparisons)
        for c, case in self.failures.values():
            c.repro = case.repro()
            out.append(c)
        return out

    def stage_failed(self, oracle: str, stage: str) -> bool:
        return (oracle, stage) in self.failures

    def inconclusive(self, oracle: str, stage: str) -> bool:
        """The run stopped at another stage's failure before this pair saw a full run of examples: it
        did not fail, but it is not known to pass either (it may be broken too)."""
        return self.error is not None and not self.stage_failed(oracle, stage) and self.counts.get((oracle, stage), 0) < self.requested

    def stage_passed(self, oracle: str, stage: str) -> bool:
        return not self.stage_failed(oracle, stage) and self.counts.get((oracle, stage), 0) > 0 and not self.inconclusive(oracle, stage)

    @property
    def passed(self) -> bool:
        return all(self.stage_passed(o, s) for o, s in self.pairs())

    def failing(self) -> list[tuple[str, str]]:
        """Pairs that failed, or were never compared (inconclusive ones are not listed: see not_passed)."""
        return [p for p in self.pairs() if self.stage_failed(*p) or self.counts.get(p, 0) == 0]

    def not_passed(self) -> list[tuple[str, str]]:
        return [p for p in self.pairs() if not self.stage_passed(*p)]

    def message(self, oracle: str, stage: str) -> str:
        key = (oracle, stage)
        if key not in self.failures:
            if self.counts.get(key, 0) == 0:
                return f"{self.layer} [{self.dtype}] {stage} vs {oracle}: no example was compared"
            if self.inconclusive(oracle, stage):
                first = sorted(self.failures)[0] if self.failures else ("?", "?")
                return (f"{self.layer} [{self.dtype}] {stage} vs {oracle}: inconclusive: agreed on {self.counts[key]} "
                        f"example(s), but the run stopped at the first failure ({first[1]} vs {first[0]}) before a full run")
            return f"{self.layer} [{self.dtype}] {stage} vs {oracle}: passed on {self.counts[key]} example(s)"
        c, case = self.failures[key]
        return (
            f"{c.message()}\n  failed after {self.examples} example(s); this is the smallest failing example found.\n"
            f"  reproduce with:\n    " + case.repro().replace("\n", "\n    ")
        )

    def assert_stage(self, oracle: str, stage: str) -> None:
        if not self.stage_passed(oracle, stage):
            raise OracleMismatch(self.message(oracle, stage))

    def difference_seen(self, oracle: str) -> bool:
        return any(n > 0 for (o, _), n in self.differences.items() if o == oracle)

    def assert_convention(self, oracle: str) -> None:
        """At a kink: an oracle that agrees with the reference must match it on every stage; one that
        does not must still match the forward, differ only as documented, and actually differ somewhere
        (if it never does, the documented convention is stale)."""
        conv = self.convention
        bad = [s for s in self.stages if not self.stage_passed(oracle, s)]
        if bad:
            raise OracleMismatch("\n\n".join(self.message(oracle, s) for s in bad))
        if conv is not None and oracle not in conv.agree and not self.difference_seen(oracle):
            if self.error is not None:
                raise OracleMismatch(f"{self.layer} [{self.dtype}] vs {oracle} at {conv.where}: inconclusive: the run "
                                     f"stopped at another failure after {self.examples} example(s)")
            raise OracleMismatch(
                f"{self.layer} [{self.dtype}] vs {oracle} at {conv.where}: the documented convention difference "
                f"({conv.describe()}) did not show in {self.examples} example(s) on the kink; the table is stale"
            )

    def assert_passed(self) -> None:
        bad = self.not_passed()
        if bad:
            raise OracleMismatch("\n\n".join(self.message(o, s) for o, s in bad))


def hypothesis_settings(max_examples: int | None = None) -> dict:
    """What every oracle check overrides in the active profile: no deadline (JAX compiles per new shape),
    no multi-bug reporting (the first failure is shrunk to a minimal example), no too-slow health check."""
    kw = dict(deadline=None, report_multiple_bugs=False, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    if max_examples is not None:
        kw["max_examples"] = max_examples
    return kw


def run_check(
    spec: LayerSpec,
    dtype: str,
    oracles: tuple[str, ...] = ORACLES,
    *,
    max_examples: int | None = None,
    strategy=None,
    record: bool = True,
    convention: Convention | None = None,
) -> CheckResult:
    """Draw examples with Hypothesis and compare the reference with every oracle on each.

    Uses the active Hypothesis profile (settings.default), with no deadline (JAX compiles per new shape)
    and no multi-bug reporting (the first failure is shrunk to a minimal example).

    With `convention`, examples sit exactly on that kink or tie (strategies.kink_cases) and only the
    frameworks are asked (central differences straddle the kink, so they answer neither side). A
    gradient that differs from an oracle outside `convention.agree` is recorded as a convention
    difference and does not fail; a forward that differs, a wrong shape or a NaN still fails.
    """
    if convention is not None:
        oracles = tuple(o for o in oracles if o != "numerical")
        if strategy is None:
            strategy = kink_cases(spec, convention, dtype)
    result = CheckResult(spec.name, dtype, tuple(oracles), spec.stages(), convention=convention)
    result.requested = max_examples if max_examples is not None else settings.default.max_examples
    # at a kink a framework may differ on purpose: only PyTorch samples the float32 rounding there
    noise_from = ("torch",) if convention is not None else ("torch", "jax")
    counter = itertools.count()

    @settings(settings.default, **hypothesis_settings(max_examples))
    @given(case=strategy if strategy is not None else cases(spec, dtype))
    def check(case: Case) -> None:
        # once a failure is known Hypothesis is shrinking: stop paying JAX compiles for new shapes
        comps = evaluate_case(spec, case, oracles, example=next(counter), jax_compile=not result.failures, noise_from=noise_from)
        if convention is not None:
            _apply_convention(convention, comps, result)
        result.add(case, comps)
        bad = [c for c in comps if not c.passed]
        if bad:
            raise OracleMismatch("\n".join(c.message() for c in bad))

    t0 = time.perf_counter()
    try:
        try:
            check()
        except OracleMismatch as e:
            result.error = e
            # While shrinking, and on layouts JAX is not asked on, JAX was skipped: ask it once on the
            # minimal failing example, so its verdict on the failure is known (one compile) and recorded.
            if "jax" in oracles and result.last_failing is not None and not any(k[0] == "jax" for k in result.failures):
                case = result.last_failing
                comps = evaluate_case(spec, case, ("jax",), example=next(counter), noise_from=noise_from)
                if convention is not None:
                    _apply_convention(convention, comps, result)
                result.add(case, comps, new_example=False)
    except Exception as e:  # the check itself could not run (OracleError, a Hypothesis error): say so in
        if record:          # the records too, so the report cannot show this layer as absent-but-passing
            records.emit(result.records() + [Comparison(
                layer=spec.name, dtype=dtype, stage="check", oracle="-", shapes={}, max_abs=math.inf,
                max_rel=math.inf, atol=0.0, rtol=0.0, headroom=0.0, passed=False,
                note=f"the check raised {type(e).__name__}: {e}")])
        raise
    result.seconds = time.perf_counter() - t0
    if record:
        records.emit(result.records())
    return result


def _apply_convention(conv: Convention, comps: list[Comparison], result: CheckResult) -> None:
    for c in comps:
        if c.oracle in conv.agree or c.stage == "forward":
            continue
        c.convention = conv.describe()
        differs = not c.passed
        c.extra["differs"] = differs
        if differs and not c.note:  # a plain value difference: the documented one. Notes (shape, NaN, protocol) still fail.
            c.passed = True
            key = (c.oracle, c.stage)
            result.differences[key] = result.differences.get(key, 0) + 1


def replay(case: Case, spec: LayerSpec | None = None, oracles=ORACLES) -> str:
    """Re-run one example (e.g. from a failure's repro snippet) and describe every comparison."""
    if spec is None:
        from .zoo import REGISTRY

        if case.layer not in REGISTRY:
            raise KeyError(f"layer {case.layer!r} is not in the registry: call replay(case, spec=your_spec)")
        spec = REGISTRY[case.layer]
    comps = evaluate_case(spec, case, oracles)
    lines = []
    for c in comps:
        status = "ok  " if c.passed else "FAIL"
        lines.append(f"{status} {c.layer} [{c.dtype}] {c.stage:>10} vs {c.oracle:<9} max_abs={c.max_abs:.3g} headroom={c.headroom:.3g}" + (f"  {c.note.splitlines()[0]}" if c.note else ""))
    return "\n".join(lines)
