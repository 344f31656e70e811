"""The oracles of a custom-function check: PyTorch autograd and JAX on the *plain math*, and central
differences of the custom function's own forward (float64). Each answers every stage of the check:

    forward, grad_<x>    the output and the vector-Jacobian product with the example's cotangent ct
    grad2_<x>            d/dx of sum_i <grad_i, w_i> for a random second cotangent w (double backward)
    jvp                  the directional derivative of the output along a random tangent t

With `grad_math(xp, ct, *inputs)` (an intended, surrogate gradient: straight-through, gradient reversal,
clipping) the gradients are that function's value, its second order is its derivative, and its jvp is
its transpose (d/dct <grad_math(ct), t>, exact since a vjp is linear in ct). The numerical oracle, which
can only measure the forward's derivative, is not asked then. The random directions come from the
example's seed (`directions`), so the reference (function.py) and every oracle use the same ones.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import budget, numerical
from .backends import JAX_STATS, Answer, configure
from .directional import derivative_along
from .names import JVP, Stage
from .strategies import Case, cotangent
from .tolerances import Tol, tolerance_for


@dataclass
class FunctionAnswer(Answer):
    """An Answer with the stages a layer does not have (second order, jvp) in `more`."""

    more: dict = field(default_factory=dict)

    def by_stage(self) -> dict[str, np.ndarray]:
        out = super().by_stage()
        out.update({Stage(k): np.asarray(v) for k, v in self.more.items()})
        return out


def directions(spec, case: Case) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(w, t): a second cotangent and a tangent per differentiable input, seeded by the example."""
    shapes = [np.shape(case.inputs[spec.inputs[i].name]) for i in spec.positions]
    w = [cotangent(s, case.dtype, (case.seed + 7919 * (k + 1)) % 2**32) for k, s in enumerate(shapes)]
    t = [cotangent(s, case.dtype, (case.seed + 104729 * (k + 1)) % 2**32) for k, s in enumerate(shapes)]
    return w, t


def _as_tuple(g, n: int, name: str) -> tuple:
    g = tuple(g) if isinstance(g, (tuple, list)) else (g,)
    if len(g) != n:
        raise ValueError(f"{name}: grad_math returned {len(g)} gradient(s) for {n} differentiable input(s)")
    return g


def _wants(spec) -> tuple[bool, bool]:
    stages = [Stage(s) for s in spec.stages()]
    return any(s.kind == "grad2" for s in stages), JVP in stages


#: float64 second order has no float128 truth to measure its rounding against (float32's budget does:
#: budget.py, through FunctionSpec.truth_runner). What is measurable is how far the two frameworks'
#: second orders of the plain math differ on the example: both are correct, so that is rounding, and the
#: bound is max(table atol, 10 x that entry's difference, the stage's largest difference).
#: Measured: tanh(x @ W) with saturated units (entries ~1e-8): JAX's second derivative differed from
#: PyTorch's by 1.04e-12 (over the table's 1e-12 atol) while the reference matched PyTorch to 1e-22.
_NOISE: dict = {}  # the last example's float64 second-order noise, shared by the torch and JAX answers


def _grad2_noise(spec, case: Case, ct: np.ndarray) -> dict:
    """stage -> |PyTorch - JAX| second order of the plain math, element by element (float64 examples)."""
    if _NOISE.get("case") is case:
        return _NOISE["noise"]
    a, b = torch_answer(spec, case, ct).more, jax_answer(spec, case, ct).more
    noise = {s: np.abs(np.asarray(a[s]) - np.asarray(b[s])) for s in a if Stage(s).kind == "grad2"}
    _NOISE.update(case=case, noise=noise)
    return noise


def _bounds(spec, case: Case, ct: np.ndarray) -> dict:
    """stage -> this oracle's own error bound, for float64 second-order stages (see _NOISE)."""
    if case.dtype != "float64" or not _wants(spec)[0]:
        return {}
    out = {}
    for s, n in _grad2_noise(spec, case, ct).items():
        table = tolerance_for("float64", "torch", s)
        atol = np.maximum(np.maximum(table.atol, budget.FACTOR * n), float(np.max(n, initial=0.0)))
        out[s] = Tol(atol=atol, rtol=table.rtol)
    return out


def _split(spec, values) -> tuple[dict, dict]:
    """{name: first-order gradient}, {grad2_<name>: ...} from per-position lists."""
    names = [spec.inputs[i].name for i in spec.positions]
    return dict(zip(names, values[0])), {Stage.grad2(n): v for n, v in zip(names, values[1])}


def run_torch_math(spec, case: Case, ct: np.ndarray) -> FunctionAnswer:
    """Autograd of the plain math (or grad_math) in PyTorch, in the example's dtype."""
    answer = torch_answer(spec, case, ct)
    answer.bounds = _bounds(spec, case, ct)
    return answer


def torch_answer(spec, case: Case, ct: np.ndarray) -> FunctionAnswer:
    import array_api_compat.torch as xp
    import torch

    configure()
    t0 = time.perf_counter()
    need2, needj = _wants(spec)
    pos, (w, t) = spec.positions, directions(spec, case)
    ts = [torch.from_numpy(np.array(case.inputs[a.name], copy=True)) for a in spec.inputs]
    for i in pos:
        ts[i].requires_grad_(True)
    diffs = [ts[i] for i in pos]
    out = spec.math(xp, *ts, *spec.args)
    c = torch.from_numpy(np.array(ct, copy=True)).requires_grad_(spec.grad_math is not None and needj)
    if spec.grad_math is None:
        gs = torch.autograd.grad(out, diffs, c, create_graph=need2, allow_unused=True)
    else:
        gs = _as_tuple(spec.grad_math(xp, c, *ts, *spec.args), len(pos), spec.name)
    gs = [torch.zeros_like(d) if g is None else g for g, d in zip(gs, diffs)]
    g2, more = [], {}
    if need2:
        s = sum((g * torch.from_numpy(wi)).sum() for g, wi in zip(gs, w))
        got = torch.autograd.grad(s, diffs, allow_unused=True, retain_graph=True) if s.requires_grad else [None] * len(pos)
        g2 = [np.zeros_like(d.detach().numpy()) if g is None else g.detach().numpy() for g, d in zip(got, diffs)]
    if needj and spec.grad_math is not None:
        s = sum((g * torch.from_numpy(ti)).sum() for g, ti in zip(gs, t))
        more[JVP] = torch.autograd.grad(s, c)[0].numpy() if s.requires_grad else np.zeros_like(ct)
    elif needj:
        def f(*d):
            vals = [v.detach() for v in ts]
            for i, v in zip(pos, d):
                vals[i] = v
            return spec.math(xp, *vals, *spec.args)
        with warnings.catch_warnings():  # torch.func's first use warns of torch.jit.script's deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            more[JVP] = torch.func.jvp(f, tuple(d.detach() for d in diffs), tuple(torch.from_numpy(ti) for ti in t))[1].numpy()
    grads, second = _split(spec, ([g.detach().numpy() for g in gs], g2))
    return FunctionAnswer(out.detach().numpy(), grads, time.perf_counter() - t0, more={**more, **second})


_PROGRAMS: dict = {}  # (math, grad_math, args, positions, stages) -> jitted program: warm across checks


def _jax_program(spec):
    """One jitted program per spec: output, gradients, second order and jvp of the plain math at once
    (shared by every check of the same math, so a second check_function call compiles nothing)."""
    if spec.jax_program is not None:
        return spec.jax_program
    key = (spec.math, spec.grad_math, spec.args, tuple(spec.positions), len(spec.inputs), _wants(spec))
    try:
        spec.jax_program = _PROGRAMS.get(key)
    except TypeError:  # unhashable constants in args: no sharing
        key = None
    if spec.jax_program is None:
        spec.jax_program = _build_program(spec)
        if key is not None:
            _PROGRAMS[key] = spec.jax_program
    return spec.jax_program


def _build_program(spec):
    import jax
    import jax.numpy as jnp

    pos, gm, (need2, needj) = spec.positions, spec.grad_math, _wants(spec)

    def merged(d, a):
        vals = list(a)
        for i, v in zip(pos, d):
            vals[i] = v
        return vals

    def f(*vals):
        return spec.math(jnp, *vals, *spec.args)

    def vjp_at(a, c, d):
        if gm is not None:
            return _as_tuple(gm(jnp, c, *merged(d, a), *spec.args), len(pos), spec.name)
        return jax.vjp(lambda *dd: f(*merged(dd, a)), *d)[1](c)

    def program(a, c, w, t):
        d = tuple(a[i] for i in pos)
        g2 = jax.grad(lambda dd: sum((g * wi).sum() for g, wi in zip(vjp_at(a, c, dd), w)))(d) if need2 else ()
        if not needj:
            jv = None
        elif gm is not None:
            jv = jax.grad(lambda cc: sum((g * ti).sum() for g, ti in zip(vjp_at(a, cc, d), t)))(c)
        else:
            jv = jax.jvp(lambda *dd: f(*merged(dd, a)), d, tuple(t))[1]
        return f(*a), vjp_at(a, c, d), g2, jv

    return jax.jit(program)


def run_jax_math(spec, case: Case, ct: np.ndarray) -> FunctionAnswer:
    """jax.vjp / jax.grad / jax.jvp of the plain math (or grad_math), jitted once per spec and shape."""
    answer = jax_answer(spec, case, ct)
    answer.bounds = _bounds(spec, case, ct)
    return answer


def jax_answer(spec, case: Case, ct: np.ndarray) -> FunctionAnswer:
    import jax

    configure()
    fn = _jax_program(spec)
    w, t = directions(spec, case)
    signature = (spec, tuple((k, np.shape(v), str(np.asarray(v).dtype)) for k, v in case.inputs.items()))
    t0 = time.perf_counter()
    out, gs, g2, jv = jax.block_until_ready(fn([case.inputs[a.name] for a in spec.inputs], ct, tuple(w), tuple(t)))
    dt = time.perf_counter() - t0
    JAX_STATS.calls += 1
    if signature not in JAX_STATS.signatures:  # what check.py's jax_is_warm reads
        JAX_STATS.signatures.add(signature)
        JAX_STATS.compiles += 1
        JAX_STATS.compile_seconds += dt
    grads, second = _split(spec, ([np.asarray(g) for g in gs], [np.asarray(g) for g in g2]))
    more = {**second, **({JVP: np.asarray(jv)} if jv is not None else {})}
    return FunctionAnswer(np.asarray(out), grads, dt, more=more)


def run_numerical_fn(spec, case: Case, ct: np.ndarray) -> FunctionAnswer:
    """Central differences of the custom function's own forward in float64, with the numerical oracle's
    own bound per entry (oracles/numerical.py): element by element for the gradients, along the tangent
    for the jvp."""
    t0 = time.perf_counter()
    arrays = [np.array(case.inputs[a.name], dtype=np.float64 if a.kind != "index" else None) for a in spec.inputs]
    ct64, forward, at = np.asarray(ct, dtype=np.float64), spec.adapter.forward, spec.adapter.forward_fn(arrays)
    targets = [(spec.inputs[i].name, arrays[i]) for i in spec.positions]
    grads, uncertainty, kinks, precision, careful, sharpen = numerical.estimate(
        lambda: np.asarray(at(), dtype=np.float64), targets, ct64, defer=True)
    more = {}
    if _wants(spec)[1]:
        _, t = directions(spec, case)
        h = numerical.STEP[precision] * max([1.0] + [float(np.abs(arrays[i]).max(initial=0.0)) for i in spec.positions])

        def along(s: float):
            moved = list(arrays)
            for i, ti in zip(spec.positions, t):
                moved[i] = arrays[i] + s * ti
            return forward(moved)

        more[JVP], uncertainty[JVP] = derivative_along(along, h, precision)
    return FunctionAnswer(None, grads, time.perf_counter() - t0, more=more, uncertainty=uncertainty, kinks=kinks,
                          careful=careful, sharpen=sharpen)


RUNNERS = {"torch": run_torch_math, "jax": run_jax_math, "numerical": run_numerical_fn}
