"""The comparison helper: its metric, and that it can fail for every kind of disagreement."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracles import Tol, compare, tolerance_for
from oracles.tolerances import TOLERANCES

T = Tol(atol=1e-12, rtol=1e-9)
META = dict(layer="l", dtype="float64", stage="grad_x", oracle="torch", shapes={})


def test_equal_arrays_pass_with_infinite_headroom():
    a = np.array([1.0, -2.0, 0.0])
    c = compare(a, a.copy(), T, **META)
    assert c.passed and c.max_abs == 0 and math.isinf(c.headroom)


def test_relative_error_just_inside_and_outside():
    e = np.array([1.0, 2.0])
    assert compare(e * (1 + 0.5e-9), e, T, **META).passed
    c = compare(e * (1 + 2e-9), e, T, **META)
    assert not c.passed and 0.4 < c.headroom < 0.6
    assert c.worst_index == [1] and c.oracle_value == 2.0


def test_exact_zeros_use_atol_not_relative_error():
    # exact zeros in the oracle (dead relu units): tiny absolute differences pass, real ones fail
    assert compare(np.array([1e-13, 0.0]), np.zeros(2), T, **META).passed
    c = compare(np.array([1e-6, 0.0]), np.zeros(2), T, **META)
    assert not c.passed and c.max_rel > 1e100


def test_shape_mismatch_fails_even_if_it_broadcasts():
    c = compare(np.ones((1, 3)), np.ones(3), T, **META)
    assert not c.passed and "shape (1, 3) != expected (3,)" in c.note


def test_nan_in_reference_fails():
    c = compare(np.array([np.nan, 1.0]), np.array([0.5, 1.0]), T, **META)
    assert not c.passed and "non-finite" in c.note


def test_dtype_mismatch_fails():
    c = compare(np.ones(2, np.float64), np.ones(2, np.float32), Tol(1e-5, 1e-5), **{**META, "dtype": "float32"})
    assert not c.passed and "dtype float64 != float32" in c.note


def test_missing_value_fails():
    assert not compare(None, np.ones(2), T, **META).passed


def test_message_names_everything():
    c = compare(np.array([[1.0, 2.0]]), np.array([[1.0, 2.1]]), T, **{**META, "shapes": {"x": [1, 2]}})
    msg = c.message()
    for part in ("l [float64] grad_x vs torch", "max_abs=0.1", "atol=1e-12", "rtol=1e-09", "(0, 1)", "x=(1, 2)"):
        assert part in msg, msg


def test_tolerance_table_covers_every_dtype_kind_and_stage():
    for dtype in ("float64", "float32"):
        for oracle in ("torch", "jax", "numerical"):
            for stage in ("forward", "grad_x"):
                if oracle == "numerical" and stage == "forward":
                    continue
                assert tolerance_for(dtype, oracle, stage) in TOLERANCES.values()


def test_layer_overrides_win_and_wildcards_work():
    over = {("float32", "*", "grad"): Tol(1e-3, 1e-3)}
    assert tolerance_for("float32", "jax", "grad_W", over) == Tol(1e-3, 1e-3)
    assert tolerance_for("float32", "jax", "forward", over) == TOLERANCES[("float32", "exact", "forward")]
    assert tolerance_for("float64", "jax", "grad_W", over) == TOLERANCES[("float64", "exact", "grad")]


def test_float64_tolerance_catches_a_tenth_of_a_percent():
    for oracle in ("torch", "numerical"):
        tol = tolerance_for("float64", oracle, "grad_x")
        g = np.linspace(0.1, 3.0, 7)
        assert not compare(g * 1.001, g, tol, **META).passed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tolerances_leave_room_for_one_rounding(dtype):
    # one ulp of difference on values of size 1..10 must pass every table entry for the dtype
    g = np.linspace(1.0, 10.0, 11).astype(dtype)
    h = np.nextafter(g, np.inf)
    for (d, o, s), tol in TOLERANCES.items():
        if d == dtype:
            assert compare(h, g, tol, **{**META, "dtype": dtype}).passed


def test_zero_dimensional_values_compare_like_arrays():
    """A loss is a 0-d array; compare must not take it for a scalar it can write into."""
    ok = compare(np.array(1.0), np.array(1.0 + 1e-13), T, **META)
    bad = compare(np.array(1.0), np.array(1.1), T, **META)
    assert ok.passed and ok.worst_index == [] and not bad.passed and bad.max_abs == pytest.approx(0.1)


@given(st.data())
def test_compare_agrees_with_the_definition(data):
    """compare's fast path (all finite) and slow path (NaN/Inf) both give the allclose definition:
    err = |a - e| (NaN -> inf, the same non-finite value on both sides -> 0 and left out), headroom = min (atol + rtol |e|) / err, and an
    infinite error (a NaN, or an infinity the other side lacks) has headroom 0."""
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=4), label="shape")
    special = data.draw(st.booleans(), label="with NaN/Inf")
    elems = st.floats(-10, 10) if not special else st.one_of(st.floats(-10, 10), st.sampled_from([np.nan, np.inf, -np.inf]))
    a = data.draw(hnp.arrays(np.float64, shape, elements=elems), label="reference")
    e = data.draw(hnp.arrays(np.float64, shape, elements=elems), label="oracle")
    atol = data.draw(st.sampled_from([1e-12, 1e-3, 0.5]), label="atol")
    c = compare(a, e, Tol(atol=atol, rtol=1e-3), **META)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        err = np.abs(a - e)
        same = (a == e) | (np.isnan(a) & np.isnan(e))  # the same value, non-finite ones included: left out
        err = np.where(same, 0.0, np.where(np.isnan(err), np.inf, err))
        allowed = np.nan_to_num(atol + 1e-3 * np.abs(e), nan=0.0)
        ratio = np.where(err == 0, 0.0, np.where(np.isinf(err), np.inf, err / allowed))
    with np.errstate(over="ignore", divide="ignore"):
        expect_headroom = np.inf if ratio.size == 0 or ratio.max() == 0 else 1 / ratio.max()
    assert c.headroom == pytest.approx(expect_headroom)
    assert c.max_abs == (err.max() if err.size else 0.0)
    finite = int(np.count_nonzero(np.isfinite(a) & np.isfinite(e)))
    # a NaN/Inf in the reference where the oracle has a finite value is a problem whatever the numbers
    misplaced = bool((~np.isfinite(a)).any() and not (np.isfinite(a) == np.isfinite(e)).all())
    assert c.passed == (expect_headroom >= 1 and finite > 0 and not misplaced), (c.passed, expect_headroom, c.note)
    if expect_headroom < 1 or misplaced:
        assert c.outcome == "fail", c
    elif finite == 0:  # nothing finite on both sides (or nothing at all) is never agreement
        assert c.outcome == "inconclusive" and "nothing" in c.note, c
