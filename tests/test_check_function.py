"""check_function: framework-native custom gradients checked on the one check path.

The broken corpus (tests/broken_functions.py) is caught at its stage and order; the correct twins pass in
both dtypes; not-applicable stages are not-run with their reason; a stabilized rule whose plain math
overflows is inconclusive, never failed; bad arguments are one-line errors.
"""
from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from oracles import Domain, Float, Index, Stage, check_function, records
from oracles.function import BadFunction
from reports.__main__ import main as reports_main

from broken_functions import BROKEN, CORRECT, StableSoftplus, TanhScale

EXAMPLES = 8


def _check(entry, dtypes, n=EXAMPLES):
    return check_function(entry.fn, math=entry.math, inputs=entry.inputs, name=entry.name, dtypes=dtypes,
                          max_examples=n, record=False, **entry.kw)


@pytest.mark.parametrize("entry", [e for e in BROKEN if e.stage != "error"], ids=lambda e: e.name)
def test_broken_function_is_caught_at_its_stage_and_order(entry):
    report = _check(entry, (entry.dtype,))
    r = report.results[entry.dtype]
    failed = [o for o in r.oracles if (o, entry.stage) in r.verdicts and r.stage_failed(o, entry.stage)]
    assert failed, f"{entry.name}: {entry.stage} did not fail\n{report}"
    assert Stage(entry.stage).order == entry.order
    assert f"{entry.stage} (order {entry.order}) vs {failed[0]}" in str(report)
    if entry.says:
        assert entry.says in r.message(failed[0], entry.stage), r.message(failed[0], entry.stage)
    assert not report.passed


@pytest.mark.parametrize("entry", [e for e in BROKEN if e.stage == "error"], ids=lambda e: e.name)
def test_structurally_broken_function_is_a_one_line_error(entry):
    with pytest.raises(BadFunction) as info:
        _check(entry, ("float64",))
    text = str(info.value)
    assert "\n" not in text and entry.name in text and entry.says in text, text
    if entry.order:
        assert f"(order {entry.order})" in text


def test_gradient_only_right_in_float64_passes_in_float64():
    entry = next(e for e in BROKEN if e.name == "gradient_only_right_in_float64")
    assert _check(entry, ("float64",)).passed


@pytest.mark.parametrize("entry", CORRECT, ids=lambda e: e.name)
def test_correct_function_passes_in_both_dtypes(entry):
    report = _check(entry, ("float64", "float32"), n=6)
    assert report.passed, report.message()
    stages = report.results["float64"].stages
    assert "grad_x" in stages and ("grad2_x" in stages or report.not_applicable)


def test_once_differentiable_second_order_is_not_applicable():
    entry = next(e for e in CORRECT if e.name == "once_differentiable")
    report = _check(entry, ("float64",), n=3)
    assert report.passed
    assert report.outcome("float64", "torch", "grad2_x") == "not-run"
    assert "not applicable: OnceSquare.backward is marked @once_differentiable" in str(report)
    assert "jvp" in str(report) and "defines no jvp" in str(report)


def test_surrogate_gradient_is_checked_against_grad_math():
    entry = next(e for e in CORRECT if e.name == "straight_through_round")
    report = _check(entry, ("float64",), n=5)
    assert report.passed and report.outcome("float64", "numerical", "grad_x") == "not-run"
    wrong = check_function(entry.fn, math=entry.math, inputs=entry.inputs, grad_math=lambda xp, ct, x: 2 * ct,
                           dtypes=("float64",), max_examples=5, record=False, name="ste_wrong_intent")
    assert wrong.results["float64"].stage_failed("torch", "grad_x")
    # without grad_math the derivative of round (0) is the reference: the surrogate fails, as it should
    plain = check_function(entry.fn, math=entry.math, inputs=entry.inputs, dtypes=("float64",), max_examples=5,
                           record=False, name="ste_no_grad_math", oracles=("torch",))
    assert plain.results["float64"].stage_failed("torch", "grad_x")


def test_stabilized_rule_where_plain_math_overflows_is_inconclusive_never_failed():
    report = check_function(StableSoftplus, math=lambda xp, x: xp.log(1 + xp.exp(x)), inputs={"x": ("n",)},
                            domain=Domain(750.0, 800.0), dtypes=("float64",), max_examples=5, record=False)
    r = report.results["float64"]
    assert not any(r.stage_failed(o, s) for o, s in r.pairs()), report.message()
    assert r.inconclusive("torch", "grad_x") and r.inconclusive("jax", "forward")
    assert "the plain math overflows or is NaN" in r.message("torch", "grad_x")
    assert r.stage_passed("numerical", "grad_x")  # the custom forward itself is finite and agrees


def test_default_name_for_class_and_apply():
    kw = dict(math=lambda xp, x, b: xp.tanh(x) * b, inputs={"x": ("n", "m"), "b": ("m",)}, dtypes=("float64",),
              max_examples=2, record=False, oracles=("torch",))
    assert check_function(TanhScale.apply, **kw).name == "TanhScale" == check_function(TanhScale, **kw).name


def test_some_inputs_not_requiring_grad():
    report = check_function(TanhScale, math=lambda xp, x, b: xp.tanh(x) * b,
                            inputs=(Float("x", ("n", "m")), Float("b", ("m",), diff=False)),
                            dtypes=("float64",), max_examples=5, record=False, forward_mode=False)
    assert report.passed, report.message()
    assert report.results["float64"].stages == ["forward", "grad_x", "grad2_x"]


def test_output_aliasing_an_input_is_guarded_by_torch():
    entry = next(e for e in CORRECT if e.name == "grad_reverse")
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    y = entry.fn.apply(x)
    assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    with pytest.raises(RuntimeError, match="view"):
        y.add_(1)  # why aliasing is not reported for a Function: PyTorch refuses to change it in place


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2 * x * g


@jax.custom_vjp
def _no_rule(x):
    return x


@jax.custom_vjp
def _gather_scale(x, k):
    return x[k] * 2.0


_gather_scale.defvjp(lambda x, k: (x[k] * 2.0, (x, k)),
                     lambda r, g: (jnp.zeros_like(r[0]).at[r[1]].add(2.0 * g), jnp.ones(r[1].shape)))

SQ = dict(math=lambda xp, x: x * x, inputs={"x": ("n",)})


@pytest.mark.parametrize("fn, kw, says", [
    ("instance", SQ, "instance of _Square"),
    (_Square.forward, SQ, "_Square.forward is a method of the Function"),
    (lambda x: x * x, SQ, "has no custom gradient to check"),
    (_no_rule, SQ, "call fn.defvjp"),
    (_Square, dict(math=3, inputs={"x": ("n",)}), "math=3 is not callable"),
    (_Square, dict(math=SQ["math"], inputs={"x": 3}), "x"),
    (_Square, dict(math=SQ["math"], inputs={"x": ("n",)}, args=[1]), "args=[1]"),
    (_Square, dict(math=SQ["math"], inputs=(Index("k", ("n",), 3),)), "no differentiable input"),
    (_gather_scale, dict(math=lambda xp, x, k: x[k] * 2.0, inputs=(Float("x", ("n",)), Index("k", ("m",), "n"))),
     "float cotangent for the integer argument 'k'"),
])
def test_bad_arguments_are_one_line_errors(fn, kw, says):
    if fn == "instance":
        with warnings.catch_warnings():  # PyTorch deprecates instantiating a Function: exactly the misuse
            warnings.simplefilter("ignore")
            fn = _Square()
    with pytest.raises((TypeError, ValueError)) as info:
        check_function(fn, dtypes=("float64",), max_examples=2, record=False, **kw)
    text = str(info.value)
    assert "\n" not in text and says in text, text


def test_records_and_reports_accept_the_new_stages(tmp_path):
    with records.to(tmp_path / "records"):
        check_function(TanhScale, math=lambda xp, x, b: xp.tanh(x) * b, inputs={"x": ("n", "m"), "b": ("m",)},
                       dtypes=("float64",), max_examples=3)
    lines = "".join(p.read_text() for p in (tmp_path / "records").glob("*.jsonl"))
    assert '"stage": "grad2_x"' in lines and '"stage": "jvp"' in lines
    assert reports_main([str(tmp_path / "records"), "--out", str(tmp_path / "report")]) == 0
    assert "TanhScale" in (tmp_path / "report" / "report.md").read_text()  # the report is per layer and dtype


def test_stage_names():
    assert Stage("grad2_W").kind == "grad2" and Stage("grad2_W").wrt == "W" and Stage("grad2_W").order == 2
    assert Stage("jvp").kind == "jvp" and Stage("jvp").order == 1 and Stage("grad_x").order == 1
    with pytest.raises(ValueError, match="grad2_<name>"):
        Stage("grad3_x")


def test_docstring_example_runs():
    import doctest

    import oracles.function

    assert doctest.testmod(oracles.function).failed == 0


def test_numerical_is_asked_in_float64_only_beside_a_float64_check():
    """The numerical oracle differences the custom forward in float64 whatever the dtype: beside a float64
    check it is not asked again in float32 by default, and that shows as NOT-RUN with the reason, never as
    a pass; naming it, or checking float32 alone, asks it."""
    entry = next(e for e in CORRECT if e.name == "tanh_scale")
    both = _check(entry, ("float64", "float32"), n=3)
    assert both.passed, both.message()
    assert "numerical" in both.results["float64"].oracles
    assert "numerical" not in both.results["float32"].oracles
    assert both.outcome("float32", "numerical", "grad_x") == "not-run"
    assert "NOT-RUN" in str(both) and "not asked by default in float32" in str(both)
    named = check_function(entry.fn, math=entry.math, inputs=entry.inputs, name=entry.name, max_examples=3,
                           dtypes=("float64", "float32"), oracles=("torch", "numerical"), record=False, **entry.kw)
    assert "numerical" in named.results["float32"].oracles
    assert all("not asked" not in v.reason for v in named.not_applicable)
    alone = _check(entry, ("float32",), n=3)
    assert "numerical" in alone.results["float32"].oracles
