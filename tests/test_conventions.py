"""Kinks and ties are tested on purpose, and that test can fail both ways: a reference that takes the
wrong side at a kink is caught, and a documented framework difference that no longer shows is reported
as a stale table rather than silently passing."""
from dataclasses import replace

import numpy as np
import pytest

import reference as R
from catching import assert_caught
from oracles import REGISTRY, run_check
from oracles.names import FRAMEWORKS
from oracles.spec import Convention
from oracles.strategies import kink_cases

RELU = REGISTRY["relu"]
AT_ZERO = RELU.conventions[0]


class ReluOneAtZero(R.Relu):
    """relu'(0) = 1 instead of 0: invisible to random draws, which keep off the kink."""

    def forward(self, x):
        self.mask = x < 0  # 0 counts as "on", so its derivative is 1
        return np.where(self.mask, 0, x).astype(x.dtype)


def test_kink_cases_put_entries_exactly_on_the_kink():
    from hypothesis import given, settings

    seen = []

    @settings(max_examples=20, database=None)
    @given(kink_cases(RELU, AT_ZERO, "float32"))
    def draw(case):
        x = case.inputs["x"]
        assert x.dtype == np.float32
        seen.append(int(np.sum(x == 0)))

    draw()
    assert min(seen) >= 1, "every kink case holds at least one exact zero"


def test_wrong_side_of_the_kink_is_caught_only_at_the_kink():
    spec = replace(RELU, name="relu_one_at_zero", make=lambda p: ReluOneAtZero())
    away = run_check(spec, "float64", max_examples=15, record=False)
    assert away.passed, "random draws keep off the kink, so the bug must not show there"
    at = assert_caught(spec, "float64", by=["grad_x"], oracles=FRAMEWORKS, max_examples=15, convention=AT_ZERO)
    for oracle in FRAMEWORKS:
        with pytest.raises(AssertionError, match=r"relu_one_at_zero \[float64\] grad_x vs " + oracle):
            at.assert_convention(oracle)


def test_documented_difference_that_does_not_show_is_stale():
    claims_jax_differs = Convention("x = 0", reference="0", torch="0", jax="1 (claimed)", agree=("torch",))
    spec = replace(RELU, name="relu_stale_table", conventions=(claims_jax_differs,))
    result = run_check(spec, "float64", max_examples=10, record=False, convention=claims_jax_differs)
    result.assert_convention("torch")
    with pytest.raises(AssertionError, match="stale"):
        result.assert_convention("jax")


def test_a_documented_difference_is_recorded_not_failed():
    """A reference that follows PyTorch's relu'(0) = 0 while the spec says JAX takes 1 there: JAX's
    comparisons at the kink are recorded with the convention, and pass only because it is documented."""
    import jax.numpy as jnp

    one_at_zero = Convention("x = 0", reference="0", torch="0", jax="1", agree=("torch",))
    spec = replace(
        RELU, name="relu_vs_jax_one_at_zero", conventions=(one_at_zero,),
        jax_fn=lambda x: jnp.where(x >= 0, x, 0.0),  # derivative 1 at 0, like JAX's leaky_relu
    )
    result = run_check(spec, "float64", max_examples=10, record=False, convention=one_at_zero)
    result.assert_convention("torch")
    result.assert_convention("jax")
    assert result.difference_seen("jax")
    recorded = [c for c in result.records() if c.oracle == "jax" and c.stage == "grad_x"]
    assert recorded and all(c.convention == one_at_zero.describe() for c in recorded)
    assert any(c.extra.get("differs") for c in recorded)
    assert not any(c.oracle == "numerical" for c in result.records()), "central differences straddle the kink"
