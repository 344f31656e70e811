"""check_function: a framework-native custom gradient (a torch.autograd.Function, a jax.custom_vjp or
jax.custom_jvp function) checked on the one check path, against the plain math written once with `xp`.

The custom function becomes a `FunctionSpec`, a LayerSpec whose reference layer runs the custom function
(forward, and its backward as written) and whose math is the plain math; the oracles are
`function_runners.RUNNERS` (PyTorch and JAX on the plain math, central differences of the custom forward
in float64). Besides forward and grad_<x>, the spec has second order (grad2_<x>) and forward mode (jvp)
stages, whose reference values `reference_extras` computes from the custom rule. A stage that does not
apply (a backward marked once_differentiable, a custom_vjp in forward mode, a surrogate gradient for the
numerical oracle) gets a not-run verdict with the reason from the judge, and does not count against a
pass. Where the plain math overflows or is NaN and the custom rule is finite, the judge says
inconclusive for those elements, never fail (`overflow_inconclusive`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .backends import JAX_STATS
from .check import asked_in, left_out, run_check
from .function_adapt import BadFunction, _first_line, adapt
from .function_hygiene import probe_structure, torch_hygiene
from .function_runners import RUNNERS, directions, torch_answer
from .judge import Verdict, not_applicable
from .names import DTYPES, JVP, ORACLES, Stage
from .options import DEFAULT_EXAMPLES, OPTIONS, RunOptions
from .result import CheckResult, OracleMismatch
from .spec import Arg, Domain, Float, LayerSpec, Shape
from .strategies import arg_values, cotangent, layouts
from .validate import validate_layer_args, validate_options, validate_spec



@dataclass(eq=False)
class FunctionSpec(LayerSpec):
    """A LayerSpec for a custom function (see the module docstring). `not_applicable`: stage kind
    ("grad2", "jvp") or oracle ("numerical") -> why it is not checked."""

    adapter: Any = None
    math: Callable | None = None
    grad_math: Callable | None = None
    args: tuple = ()
    extra: tuple[str, ...] = ()
    not_applicable: dict = field(default_factory=dict)
    overflow_inconclusive: bool = True
    jax_program: Any = None

    def stages(self) -> list[str]:
        return super().stages() + list(self.extra)

    @property
    def runners(self) -> dict:
        """The oracles of this check (check.py asks them for a spec that has them: replay too)."""
        return RUNNERS

    @property
    def truth_runner(self):
        """What the float32 budget (budget.py) runs in float64 for the truth: every stage, grad2 and jvp too."""
        return torch_answer

    @property
    def positions(self) -> list[int]:
        return [i for i, a in enumerate(self.inputs) if a.differentiable]

    def reference_extras(self, case, ct) -> tuple[dict, dict]:
        """The custom rule's second order and jvp on this example, and its framework's hygiene findings."""
        arrays = [np.array(case.inputs[a.name], copy=True) for a in self.inputs]
        names = [a.name for a in self.inputs]
        w, t = directions(self, case)
        values, notes = {}, {}
        grad2 = [s for s in self.extra if Stage(s).kind == "grad2"]
        if grad2:
            try:
                got = self.adapter.second_order(arrays, self.positions, ct, w)
                values.update({Stage.grad2(names[i]): v for i, v in got.items()})
            except Exception as e:
                notes.update({s: [f"double backward (order 2) failed: {_first_line(e)}"] for s in grad2})
        if JVP in self.extra:
            try:
                values[JVP] = self.adapter.jvp(arrays, self.positions, t)
            except Exception as e:
                notes[JVP] = [f"forward mode (jvp) failed: {_first_line(e)}"]
        if self.adapter.framework == "torch":
            try:
                for stage, texts in torch_hygiene(self.adapter, arrays, self.positions, ct, names).items():
                    notes.setdefault(stage, []).extend(texts)
            except Exception:
                pass  # the forward itself raises: reference_run reported it
        return values, notes


@dataclass
class FunctionReport:
    """The result of `check_function`: one CheckResult per dtype, and the not-applicable verdicts."""

    name: str
    kind: str
    results: dict[str, CheckResult] = field(default_factory=dict)
    not_applicable: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0
    jax_compile_seconds: float = 0.0  # part of `seconds`: JAX compiling the plain math for new shapes

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results.values())

    def message(self) -> str:
        """Every verdict that did not pass (fail, inconclusive, not-run), with its example and reason."""
        return "\n\n".join(r.message(o, s) for r in self.results.values() for o, s in r.not_passed())

    def assert_passed(self) -> None:
        if not self.passed:
            raise OracleMismatch(self.message())

    def outcome(self, dtype: str, oracle: str, stage: str) -> str:
        """The outcome of one (dtype, oracle, stage): 'pass', 'fail', 'inconclusive' or 'not-run'."""
        for v in self.not_applicable:
            if (v.dtype, v.oracle, v.stage) == (dtype, oracle, stage):
                return str(v.outcome)
        return str(self.results[dtype].outcome(oracle, stage))

    def __str__(self) -> str:
        lines = [f"check_function {self.name} ({self.kind}): {self.seconds:.2f} s, of which JAX compiles "
                 f"{self.jax_compile_seconds:.2f} s"]
        for dtype, r in self.results.items():
            for o, s in r.pairs():
                status = "ok  " if r.stage_passed(o, s) else str(r.outcome(o, s)).upper()
                lines.append(f"{status} {self.name} [{dtype}] {s} (order {Stage(s).order}) vs {o} "
                             f"({r.counts.get((o, s), 0)} examples)")
        lines += [f"NOT-RUN {v.layer} [{v.dtype}] {v.stage} vs {v.oracle}: {v.reason}" for v in self.not_applicable]
        return "\n".join(lines)


def _check_args(name, math, grad_math, args) -> None:
    if not callable(math):
        raise BadFunction(f"{name}: math={math!r} is not callable; give the plain math, math(xp, *inputs)")
    if grad_math is not None and not callable(grad_math):
        raise BadFunction(f"{name}: grad_math={grad_math!r} is not callable; give grad_math(xp, ct, *inputs)")
    if not isinstance(args, tuple):
        raise BadFunction(f"{name}: args={args!r}: give a tuple of constants passed after the inputs")


def _default_name(fn) -> str:
    """MyFn for MyFn and MyFn.apply; the function's name for a jax custom_vjp / custom_jvp."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):
        return owner.__name__
    return getattr(fn, "__name__", None) or type(fn).__name__


def function_spec(fn, *, math: Callable, inputs, grad_math=None, args: tuple = (), name: str | None = None,
                  sizes=None, domain: Domain | None = None, second_order: bool = True,
                  forward_mode: bool = True) -> FunctionSpec:
    """The FunctionSpec `check_function` runs (arguments as there), probed once for structural errors."""
    name = name or _default_name(fn)
    validate_layer_args(name, inputs, None, sizes, None)
    _check_args(name, math, grad_math, args)
    ad = adapt(fn, args, name)
    arg_list = tuple(Float(n, s) for n, s in inputs.items()) if isinstance(inputs, dict) else tuple(inputs)
    diff = [i for i, a in enumerate(arg_list) if a.differentiable]
    spec = FunctionSpec(
        name=name, make=lambda params, **config: ad.layer(diff), inputs=arg_list,
        fn=lambda xp, *a: math(xp, *a, *args), sizes=dict(sizes or {}), domain=domain or Domain(),
        adapter=ad, math=math, grad_math=grad_math, args=args)
    spec.jax_layouts = spec.layouts  # compiles are cached per spec and shape: JAX is asked on every layout
    validate_spec(spec)
    if not diff:
        raise BadFunction(f"{name}: no differentiable input: give at least one float input")
    _probe(spec, ad, diff)
    na = dict(ad.not_applicable)
    if grad_math is not None:
        na["numerical"] = "a surrogate gradient (grad_math): central differences measure the forward's derivative"
    for kind, on in (("grad2", second_order), ("jvp", forward_mode)):
        if not on:
            na.setdefault(kind, f"{'second_order' if kind == 'grad2' else 'forward_mode'}=False")
    spec.extra = tuple([Stage.grad2(arg_list[i].name) for i in diff] if "grad2" not in na else []) + (
        (JVP,) if "jvp" not in na else ())
    spec.not_applicable = na
    return spec


def _probe(spec: FunctionSpec, ad, diff) -> None:
    """One deterministic float64 example of the first layout, for the structural checks."""
    rng = np.random.default_rng(0)
    sizes = dict(layouts(spec)[0].sizes)
    arrays = [arg_values(a, spec, "float64", sizes, floats=lambda s, d: rng.uniform(d.low, d.high, s),
                         integers=lambda s, high: rng.integers(0, high, s)) for a in spec.inputs]
    names = [a.name for a in spec.inputs]
    try:
        out = ad.forward([np.array(a, copy=True) for a in arrays])
        probe_structure(ad, arrays, diff, cotangent(np.shape(out), "float64", 0), names)
    except BadFunction:
        raise
    except Exception:
        pass  # a forward or backward that raises on values is a failure the check reports, stage by stage


def check_function(
    fn: Any,
    *,
    math: Callable,
    inputs: dict[str, Shape] | Sequence[Arg],
    grad_math: Callable | None = None,
    args: tuple = (),
    name: str | None = None,
    dtypes: Sequence[str] | None = None,
    oracles: Sequence[str] | None = None,
    max_examples: int | None = None,
    sizes: dict[str, tuple[int, ...]] | None = None,
    domain: Domain | None = None,
    second_order: bool = True,
    forward_mode: bool = True,
    record: bool = True,
    options: RunOptions | None = None,
) -> FunctionReport:
    """Check a custom gradient (a torch.autograd.Function class or its .apply, or a function made with
    jax.custom_vjp / jax.custom_jvp) against the plain math `math(xp, *inputs, *args)`, written once for
    an array namespace: PyTorch autograd and jax.vjp of the math, and central differences of the custom
    forward in float64, on inputs of the symbolic shapes `inputs` drawn by Hypothesis. Stages: forward,
    grad_<x> (the custom backward), grad2_<x> (double backward against a random second cotangent),
    jvp (forward mode against a random tangent). `grad_math(xp, ct, *inputs)`: the intended gradient,
    for a surrogate (straight-through, gradient reversal, clipping), compared instead of the math's.
    Malformed arguments are one-line errors (`BadFunction`, a TypeError and ValueError).

    >>> import torch
    >>> class Square(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return 2 * x * g
    >>> report = check_function(Square, math=lambda xp, x: x * x, inputs={"x": ("n", "m")},
    ...                         max_examples=3, record=False)
    >>> report.passed, report.outcome("float64", "torch", "grad2_x")
    (True, 'pass')
    """
    spec = function_spec(fn, math=math, inputs=inputs, grad_math=grad_math, args=args, name=name, sizes=sizes,
                         domain=domain, second_order=second_order, forward_mode=forward_mode)
    defaulted = oracles is None
    dtypes, oracles, max_examples = _resolve(spec.name, dtypes, oracles, max_examples, options or OPTIONS)
    report = FunctionReport(spec.name, spec.adapter.kind)
    t0, compiled = time.perf_counter(), JAX_STATS.compile_seconds
    asked = tuple(o for o in oracles if o not in spec.not_applicable)
    if not asked:
        raise BadFunction(f"{spec.name}: oracles={oracles}: none applies ({'; '.join(spec.not_applicable.get(o, '') for o in oracles)})")
    results = {}
    for dtype in sorted(dtypes, key=lambda d: d != "float64"):  # float64 first: check.asked_in builds on it
        here = asked_in(dtype, asked, results.get("float64"), defaulted)
        results[dtype] = run_check(spec, dtype, here, max_examples=max_examples, record=record, runners=RUNNERS)
        report.not_applicable += _not_applicable(spec, dtype, oracles) + left_out(spec.name, dtype, asked, here,
                                                                                  spec.stages())
    report.results = {d: results[d] for d in dtypes}
    report.seconds, report.jax_compile_seconds = time.perf_counter() - t0, JAX_STATS.compile_seconds - compiled
    return report


def _resolve(name: str, dtypes, oracles, max_examples, options: RunOptions) -> tuple:
    """dtypes, oracles and examples as given, else from the pytest options, else every one and
    DEFAULT_EXAMPLES; validated as given and as resolved (an empty set would check nothing)."""
    validate_options(dtypes, oracles, max_examples, layer=name)
    dtypes = tuple(dtypes) if dtypes is not None else tuple(d for d in DTYPES if options.dtype_selected(d))
    oracles = tuple(oracles) if oracles is not None else tuple(o for o in ORACLES if options.oracle_selected(o))
    max_examples = max_examples or options.max_examples or DEFAULT_EXAMPLES
    validate_options(dtypes, oracles, max_examples, layer=name)
    return dtypes, oracles, max_examples


def _not_applicable(spec: FunctionSpec, dtype: str, oracles) -> list[Verdict]:
    out = []
    names = [spec.inputs[i].name for i in spec.positions]
    for key, reason in spec.not_applicable.items():
        if key in ORACLES:
            out += [not_applicable(spec.name, dtype, key, s, reason) for s in spec.stages() if key in oracles
                    and Stage(s).order == 1]
            continue
        stages = [Stage.grad2(n) for n in names] if key == "grad2" else [JVP]
        out += [not_applicable(spec.name, dtype, o, s, reason) for o in oracles for s in stages
                if not (o == "numerical" and key == "grad2")]
    return out
