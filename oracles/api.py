"""Public API for researchers: check your own layer with the same path the built-in layers take."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .backends import ORACLES
from .check import run_check
from .result import CheckResult, OracleMismatch
from .options import OPTIONS, RunOptions
from .spec import Arg, Domain, Float, LayerSpec, Shape
from .strategies import DTYPES


@dataclass
class LayerReport:
    """The result of `check_layer`: one CheckResult per dtype."""

    name: str
    results: dict[str, CheckResult] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results.values())

    def assert_passed(self) -> None:
        bad = [r for r in self.results.values() if not r.passed]
        if bad:
            raise OracleMismatch("\n\n".join(r.message(o, s) for r in bad for o, s in r.not_passed()))

    def __str__(self) -> str:
        lines = []
        for dtype, r in self.results.items():
            for o, s in r.pairs():
                status = "ok  " if r.stage_passed(o, s) else str(r.outcome(o, s)).upper()
                lines.append(f"{status} {self.name} [{dtype}] {s} vs {o} ({r.counts.get((o, s), 0)} examples)")
        return "\n".join(lines)


def check_layer(
    make: Callable[..., Any],
    *,
    inputs: dict[str, Shape] | Sequence[Arg],
    params: dict[str, Shape] | None = None,
    fn: Callable | None = None,
    torch_fn: Callable | None = None,
    jax_fn: Callable | None = None,
    name: str = "custom",
    dtypes: Sequence[str] | None = None,
    oracles: Sequence[str] | None = None,
    max_examples: int | None = None,
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
    them), else both dtypes, all three oracles and the Hypothesis profile's number of examples.

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
    spec = layer_spec(make, inputs=inputs, params=params, fn=fn, torch_fn=torch_fn, jax_fn=jax_fn, name=name,
                      sizes=sizes, domain=domain, config=config, **spec_kw)
    report = LayerReport(name)
    options = options or OPTIONS  # the pytest plugin's, when it set them; else everything
    dtypes = tuple(dtypes) if dtypes is not None else tuple(d for d in DTYPES if options.dtype_selected(d))
    oracles = tuple(oracles) if oracles is not None else tuple(o for o in ORACLES if options.oracle_selected(o))
    if max_examples is None:
        max_examples = options.max_examples
    for dtype in dtypes:
        report.results[dtype] = run_check(spec, dtype, oracles, max_examples=max_examples, record=record)
    return report


def layer_spec(
    make: Callable[..., Any],
    *,
    inputs: dict[str, Shape] | Sequence[Arg],
    params: dict[str, Shape] | None = None,
    fn: Callable | None = None,
    torch_fn: Callable | None = None,
    jax_fn: Callable | None = None,
    name: str = "custom",
    sizes: dict[str, tuple[int, ...]] | None = None,
    domain: Domain | None = None,
    config: dict[str, Any] | None = None,
    **spec_kw,
) -> LayerSpec:
    """The LayerSpec `check_layer` builds from the same arguments: `oracles.register(spec)` puts it in
    the registry, and `oracles.networks.register_network_layer(spec)` lets generated networks use it."""
    args = tuple(Float(n, s) for n, s in inputs.items()) if isinstance(inputs, dict) else tuple(inputs)
    return LayerSpec(
        name=name, make=make, inputs=args, params=dict(params or {}), fn=fn, torch_fn=torch_fn, jax_fn=jax_fn,
        sizes=dict(sizes or {}), domain=domain or Domain(), config=dict(config or {}), **spec_kw,
    )


def assert_layer(*args, **kwargs) -> LayerReport:
    """`check_layer(...)`, raising OracleMismatch with every failing stage's message if any fails."""
    report = check_layer(*args, **kwargs)
    report.assert_passed()
    return report
