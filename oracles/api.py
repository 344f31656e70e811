"""Public API for researchers: check your own layer with the same path the built-in layers take."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from functools import partial
from typing import Any, Callable, Sequence

from .backends import output_shapes
from .check import asked_in, left_out, run_check
from .directional import DEFAULT_K, Probe, run_directional
from .judge import Verdict
from .names import DIRECTIONAL, DTYPES, JOINT, ORACLES
from .options import DEFAULT_EXAMPLES, OPTIONS, RunOptions, profile_examples
from .result import CheckResult, OracleMismatch
from .spec import Arg, Domain, Float, LayerSpec, Shape
from .strategies import Case, cotangents
from .validate import check_custom_name, check_limits, validate_layer_args, validate_options, validate_spec


@dataclass
class LayerReport:
    """The result of `check_layer`: one CheckResult per dtype."""

    name: str
    results: dict[str, CheckResult] = field(default_factory=dict)
    not_asked: list[Verdict] = field(default_factory=list)  # (oracle, stage)s left out by default, and why

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results.values())

    def assert_passed(self) -> None:
        """Raise OracleMismatch with the message of every verdict that kept a dtype from passing."""
        errors = []
        for r in self.results.values():
            try:
                r.assert_passed()
            except OracleMismatch as e:
                errors.append(str(e))
        if errors:
            raise OracleMismatch("\n\n".join(errors))

    def __str__(self) -> str:
        lines = []
        for dtype, r in self.results.items():
            for o, s in r.pairs():
                status = "ok  " if r.stage_passed(o, s) else str(r.outcome(o, s)).upper()
                lines.append(f"{status} {self.name} [{dtype}] {s} vs {o} ({r.counts.get((o, s), 0)} examples)")
        lines += [f"NOT-RUN {v.layer} [{v.dtype}] {v.stage} vs {v.oracle}: {v.reason}" for v in self.not_asked]
        return "\n".join(lines)


def check_layer(
    make: Callable[..., Any],
    *,
    inputs: dict[str, Shape] | Sequence[Arg],
    params: dict[str, Shape] | None = None,
    fn: Callable | None = None,
    torch_fn: Callable | None = None,
    jax_fn: Callable | None = None,
    name: str | None = None,
    dtypes: Sequence[str] | None = None,
    oracles: Sequence[str] | None = None,
    max_examples: int | None = None,
    work_budget: int | None = None,
    hang_guard: float | None = None,
    sizes: dict[str, tuple[int, ...]] | None = None,
    domain: Domain | None = None,
    config: dict[str, Any] | None = None,
    record: bool = True,
    options: RunOptions | None = None,
    **spec_kw,
) -> LayerReport:
    """Check a layer written in the seeds' style against PyTorch, JAX and central differences.

    `make(params)` builds the layer from a dict of parameter arrays; `inputs` and `params` give symbolic
    shapes (size names are drawn by Hypothesis); the math is `fn(xp, *inputs, **params)` written once for
    an array namespace (run under array-api-compat's torch and under jax.numpy), or `torch_fn`/`jax_fn`.
    Every comparison goes to the active records file unless `record=False`. `dtypes`, `oracles` and
    `max_examples` default to `options` (the `oracle_options` fixture gives the pytest run's
    --oracle-dtypes / --oracle-oracles / --oracle-examples; without it, the plugin's options when it set
    them), else both dtypes, all three oracles and the loaded Hypothesis profile's number of examples
    (options.DEFAULT_EXAMPLES, 10, under Hypothesis's own default profile, whose 100 nobody chose).
    `work_budget` (forward calls of the layer per dtype; --oracle-work-budget) and `hang_guard` (seconds;
    --oracle-hang-guard) bound each check (oracles/work.py): out of work, the stages not fully run are
    not-run, never pass. Without `name`, the name is derived from where `make` is defined
    (`custom_<file>_<line>`), so two layers checked without a name never merge into one report row.

    >>> import numpy as np
    >>> class Scale:                       # out = x * s, with a trainable s
    ...     param_names = ("s",)
    ...     def __init__(self, s): self.s = s
    ...     def forward(self, x): self.x = x; return x * self.s
    ...     def backward(self, dout): self.ds = (dout * self.x).sum(axis=0); return dout * self.s
    >>> report = check_layer(lambda p: Scale(p["s"]), inputs={"x": ("n", "m")}, params={"s": ("m",)},
    ...                      fn=lambda xp, x, s: x * s, name="scale", max_examples=5)
    >>> report.passed
    True
    """
    name = default_name(make) if name is None else name
    validate_options(dtypes, oracles, max_examples, layer=name)  # as given (a string is not a tuple of names)
    check_limits(work_budget, hang_guard, name)
    spec = layer_spec(make, inputs=inputs, params=params, fn=fn, torch_fn=torch_fn, jax_fn=jax_fn, name=name,
                      sizes=sizes, domain=domain, config=config, **spec_kw)
    defaulted = oracles is None
    dtypes, oracles, kw = _with_options(options or OPTIONS, dtypes, oracles, max_examples, work_budget, hang_guard)
    validate_options(dtypes, oracles, kw["max_examples"], layer=name)  # from `options` too: an empty set checks nothing
    return _checked(spec, dtypes, oracles, defaulted, record=record, **kw)


def _checked(spec: LayerSpec, dtypes: tuple, oracles: tuple, defaulted: bool, **kw) -> LayerReport:
    """Every dtype's run_check, float64 first (what float32 asks may build on it: check.asked_in)."""
    report, results = LayerReport(spec.name), {}
    for dtype in sorted(dtypes, key=lambda d: d != "float64"):
        asked = asked_in(dtype, oracles, results.get("float64"), defaulted)
        results[dtype] = run_check(spec, dtype, asked, **kw)
        report.not_asked += left_out(spec.name, dtype, oracles, asked, results[dtype].stages)
    report.results = {d: results[d] for d in dtypes}
    return report


def _with_options(options: RunOptions, dtypes, oracles, max_examples, work_budget, hang_guard) -> tuple:
    """check_layer's arguments, each one not given taken from `options` (the pytest plugin's, when it set
    them; else everything and the defaults)."""
    dtypes = tuple(dtypes) if dtypes is not None else tuple(d for d in DTYPES if options.dtype_selected(d))
    oracles = tuple(oracles) if oracles is not None else tuple(o for o in ORACLES if options.oracle_selected(o))
    examples = next((n for n in (max_examples, options.max_examples, profile_examples()) if n is not None), DEFAULT_EXAMPLES)
    kw = dict(max_examples=examples,
              work_budget=options.work_budget if work_budget is None else work_budget,
              hang_guard=options.hang_guard if hang_guard is None else hang_guard)
    return dtypes, oracles, kw


_default_names: dict[str, list] = {}


def default_name(make: Callable) -> str:
    """`custom_<file>_<line>` of where `make` is defined (a class: `custom_<ClassName>`), with `_2`, `_3`
    for other make functions defined at the same place in this process: two checks of different layers
    never share a report row under one default name.

    >>> class Scale: ...
    >>> default_name(Scale)
    'custom_Scale'
    """
    if isinstance(make, type):
        base = f"custom_{make.__name__}"
    else:
        code = getattr(make, "__code__", None)
        where = f"{Path(code.co_filename).stem}_{code.co_firstlineno}" if code else type(make).__name__
        base = "custom_" + re.sub(r"[\W_]+", "_", where).strip("_")
    seen = _default_names.setdefault(base, [])
    if not any(m is make for m in seen):
        seen.append(make)
    i = next(i for i, m in enumerate(seen) if m is make)
    return base if i == 0 else f"{base}_{i + 1}"


def layer_spec(
    make: Callable[..., Any],
    *,
    inputs: dict[str, Shape] | Sequence[Arg],
    params: dict[str, Shape] | None = None,
    fn: Callable | None = None,
    torch_fn: Callable | None = None,
    jax_fn: Callable | None = None,
    name: str | None = None,
    sizes: dict[str, tuple[int, ...]] | None = None,
    domain: Domain | None = None,
    config: dict[str, Any] | None = None,
    **spec_kw,
) -> LayerSpec:
    """The LayerSpec `check_layer` builds from the same arguments: `oracles.register(spec)` puts it in
    the registry, and `oracles.networks.register_network_layer(spec)` lets generated networks use it.
    A malformed argument is a ValueError or TypeError naming it (oracles/validate.py); so is a name a
    registered layer already has."""
    name = default_name(make) if name is None else name
    validate_layer_args(name, inputs, params, sizes, config)
    args = tuple(Float(n, s) for n, s in inputs.items()) if isinstance(inputs, dict) else tuple(inputs)
    spec = LayerSpec(
        name=name, make=make, inputs=args, params=dict(params or {}), fn=fn, torch_fn=torch_fn, jax_fn=jax_fn,
        sizes=dict(sizes or {}), domain=domain or Domain(), config=dict(config or {}), **spec_kw,
    )
    validate_spec(spec)
    check_custom_name(spec)
    return spec


def assert_layer(*args, **kwargs) -> LayerReport:
    """`check_layer(...)`, raising OracleMismatch with every failing stage's message if any fails."""
    report = check_layer(*args, **kwargs)
    report.assert_passed()
    return report


# --- a registry layer on Hypothesis-drawn cases: the one check path, with this oracle ---------------------
@dataclass(frozen=True)
class DirectionalResult:
    """A view of the check's result for the directional oracle alone: examples, probes, and the
    smallest failing example with its failing probes."""

    result: CheckResult
    k: int = DEFAULT_K
    failure: tuple | None = None  # (case, failing probes) of the smallest failing example

    layer = property(lambda self: self.result.layer)
    dtype = property(lambda self: self.result.dtype)
    examples = property(lambda self: self.result.examples)
    seconds = property(lambda self: self.result.seconds)

    @property
    def probes(self) -> int:
        return self.k * self.result.counts.get((DIRECTIONAL, JOINT), 0)

    @property
    def passed(self) -> bool:
        return self.result.passed

    def message(self) -> str:
        text = self.result.message(DIRECTIONAL, JOINT)
        if self.failure is not None:
            text += "\n  failing probes:\n  " + "\n  ".join(p.describe() for p in self.failure[1])
        return text

    def assert_passed(self) -> None:
        if not self.passed:
            raise AssertionError(self.message())


def _failing_probes(spec: LayerSpec, case: Case, k: int) -> list[Probe]:
    """The probes of one (failing) example again, for the message: deterministic given the case."""
    ct = cotangents(spec, output_shapes(spec, case), case.dtype, case.seed)
    try:
        probes = run_directional(spec, case, ct, k).probes
    except Exception as e:
        return [Probe({}, float("nan"), float("nan"), False, note=f"the reference raised {type(e).__name__}: {e}")]
    return [p for p in probes if not p.passed] or probes


def check_layer_directional(spec: LayerSpec, dtype: str = "float64", *, k: int = DEFAULT_K,
                            max_examples: int | None = None, strategy=None) -> DirectionalResult:
    """Draw cases of a registry layer with Hypothesis (the same strategies as the gate) and check the
    reference's gradients along k directions: `run_check` with the directional oracle alone. A layer
    that raises, or returns gradients of the wrong shape, fails like a wrong value.

    >>> from oracles import REGISTRY
    >>> check_layer_directional(REGISTRY["affine"], "float64", max_examples=3).passed
    True
    """
    result = run_check(spec, dtype, (DIRECTIONAL,), max_examples=max_examples, strategy=strategy, record=False,
                       runners={DIRECTIONAL: partial(run_directional, k=k)})
    failure = None
    if result.last_failing is not None:
        failure = (result.last_failing, _failing_probes(spec, result.last_failing, k))
    return DirectionalResult(result, k, failure)
