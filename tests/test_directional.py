"""The directional numerical oracle (oracles/directional.py): O(1) in the number of parameters, and still
catches the classic gradient bugs of tests/broken_layers.py."""
from __future__ import annotations

import numpy as np
import pytest

from broken_layers import BROKEN
from oracles import REGISTRY
from oracles.backends import run_numerical
from oracles import check_layer_directional
from oracles.directional import (Probe, directional_check, directional_probes,
                                 reference_grads, run_directional)
from oracles.strategies import Case, cotangent

CORRECT = [n for n in ("affine", "sigmoid", "softmax_with_loss", "conv2d", "relu", "add", "mul") if n in REGISTRY]
MUST_CATCH = ("affine_dW_missing_transpose", "affine_db_wrong_axis", "affine_dx_off_by_1.001",
              "sigmoid_deriv_from_input", "mul_gradients_swapped", "add_no_unbroadcast",
              "softmax_with_loss_no_batch_divide", "affine_dx_off_by_1.001_float32")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", CORRECT)
def test_passes_on_correct_layers(name, dtype):
    r = check_layer_directional(REGISTRY[name], dtype, max_examples=15)
    r.assert_passed()
    assert r.examples == 15 and r.probes == 45


@pytest.mark.parametrize("name", [n for n in MUST_CATCH if n in BROKEN])
def test_catches_broken_layers(name):
    spec, dtype, _ = BROKEN[name]
    r = check_layer_directional(spec, dtype, max_examples=50)
    assert not r.passed, f"{name}: the directional oracle missed the bug"
    case, bad = r.failure
    assert bad and not any(p.passed for p in bad)
    assert "reproduce with" in r.message()


def _affine_case(n=4, i=6, o=3, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    return Case("affine", dtype, {"n": n, "i": i, "o": o}, {"x": rng.uniform(-2, 2, (n, i)).astype(dtype)},
                {"W": rng.uniform(-1, 1, (i, o)).astype(dtype), "b": rng.uniform(-1, 1, (o,)).astype(dtype)}, seed)


def test_signature_and_probe_fields():
    spec, case = REGISTRY["affine"], _affine_case()
    ct = cotangent((4, 3), "float64", 0)
    probes = directional_check(spec, case, ct, reference_grads(spec, case, ct), k=5)
    assert len(probes) == 5
    for direction, fd, projection, passed in probes:
        assert set(direction) == {"x", "W", "b"}
        norm = np.sqrt(sum(np.sum(v * v) for v in direction.values()))
        assert norm == pytest.approx(1.0)
        assert passed and abs(fd - projection) <= probes[0].tol * 10
    p = probes[0]
    assert isinstance(p, Probe) and p.tol == pytest.approx(p.rounding + p.truncation + p.grad_rounding)
    # the tolerance is tiny relative to ||g|| * ||v||: a 0.1% error along v is far outside it
    assert p.tol < 1e-6 * p.grad_norm


def test_a_tiny_error_along_one_entry_is_caught():
    spec, case = REGISTRY["affine"], _affine_case()
    ct = cotangent((4, 3), "float64", 1)
    g = reference_grads(spec, case, ct)
    g["W"] = g["W"].copy()
    g["W"][2, 1] *= 1.001
    assert not all(p.passed for p in directional_check(spec, case, ct, g, k=3))


def test_run_directional_matches_run_numerical_on_a_correct_layer():
    spec, case = REGISTRY["affine"], _affine_case()
    ct = cotangent((4, 3), "float64", 2)
    d, n = run_directional(spec, case, ct), run_numerical(spec, case, ct)
    assert all(p.passed for p in d.probes)
    for k in n.grads:
        np.testing.assert_allclose(d.grads[k], n.grads[k], atol=1e-7, rtol=1e-6)


def test_cost_does_not_grow_with_parameters():
    """Count forwards, not seconds: 4 per direction whatever the size."""
    calls = {"n": 0}
    for size in (10, 10_000):
        calls["n"] = 0
        w = np.linspace(-1, 1, size)

        def fwd(v):
            calls["n"] += 1
            return np.sum(np.sin(v["w"]))

        probes = directional_probes(fwd, {"w": w}, {"w": np.cos(w)}, 1.0, k=3)
        assert all(p.passed for p in probes)
        assert calls["n"] == 12
