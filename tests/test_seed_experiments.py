"""The seeds' experiments, imported from examples/ and run small: each asserts behaviour (the loss falls,
the reference agrees with PyTorch/JAX, the accuracy clears the bar, gradients vanish), never timings."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------ 2-10-1 regression
def test_regression_2_10_1_learns_and_matches_torch():
    """Full-batch SGD, lr 0.07, float64. Tolerance: rtol 1e-9 on every loss and atol 1e-10 on the final
    weights (the gate's float64 level). Each step both frameworks compute the same sums in different
    orders (~1e-16 relative); full-batch SGD at this lr is contracting here, so the difference does not
    grow over the run (measured: ~2e-15 relative on the losses, ~4e-16 on the weights)."""
    ex = _load("regression_2_10_1")
    out = ex.run(steps=300, seed=0)
    assert out["n_params"] == 41
    ref, tor = out["ref_losses"], out["torch_losses"]
    assert ref.shape == tor.shape == (300,)
    assert ref[-1] < ref[0] / 100  # the loss falls by a large factor
    assert np.all(np.isfinite(ref))
    np.testing.assert_allclose(ref, tor, rtol=1e-9, atol=0)
    for key in out["ref_final"]:
        np.testing.assert_allclose(out["ref_final"][key], out["torch_final"][key], rtol=0, atol=1e-10)
    # the net has learned the plane, not only lowered the loss: check on fresh points
    x, t = ex.make_data(n=200, seed=123)
    net = ex.build(out["ref_final"])
    assert np.sqrt(np.mean((net.predict(x) - t) ** 2)) < 0.1 * np.std(t)


# ---------------------------------------------------------------------------------------------- digits
def test_digits_two_layer_test_accuracy_above_95_percent():
    ex = _load("digits_two_layer")
    hist = ex.train(epochs=ex.EPOCHS, seed=0, split_seed=0)
    assert [r["epoch"] for r in hist] == list(range(1, ex.EPOCHS + 1))
    assert hist[-1]["loss"] < hist[0]["loss"] / 5
    assert hist[-1]["train_acc"] > 0.95
    assert hist[-1]["test_acc"] > 0.95


# --------------------------------------------------------------------------------- vanishing gradients
@pytest.fixture(scope="module")
def vanishing():
    return _load("vanishing_gradients")


def test_gradient_norm_table_reference_agrees_with_torch_and_jax(vanishing):
    rows = vanishing.gradient_norm_table(seed=0)
    assert len(rows) == len(vanishing.CONFIGS) * vanishing.DEPTH
    json.loads(json.dumps(rows))  # plain floats and strings: a JSON report can take it as is
    assert set(rows[0]) == {"activation", "init", "layer", "ref", "torch", "jax"}
    for r in rows:
        assert np.isfinite(r["ref"]) and r["ref"] > 0
        for oracle in ("torch", "jax"):  # float64 gate tolerance on a norm
            assert abs(r["ref"] - r[oracle]) <= 1e-12 + 1e-9 * abs(r[oracle]), (r, oracle)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_std1_sigmoid_gradient_shrinks_towards_the_input(vanishing, seed):
    rows = vanishing.gradient_norm_table(seed=seed, configs=[("sigmoid", "std1")])
    norms = [r["ref"] for r in sorted(rows, key=lambda r: r["layer"])]
    assert norms[0] < norms[len(norms) // 2] < norms[-1]
    assert norms[0] < norms[-1] / 10
    # and the frameworks see the same shrinkage
    for r in rows:
        assert abs(r["ref"] - r["torch"]) <= 1e-9 * r["torch"] and abs(r["ref"] - r["jax"]) <= 1e-9 * r["jax"]
