"""Activations family: extreme inputs stay finite and correct, and the error metric stays meaningful where
true gradients are tiny or exactly zero (saturated sigmoid/tanh, dead ReLU): no false alarms, no false
passes."""
import numpy as np
import pytest

import reference as R
from broken_layers import SigmoidDerivFromInput
from broken_zoo.activations import NaiveSoftmaxWithLoss, TanhDerivFromInput
from catching import assert_caught
from oracles import REGISTRY, Case
from oracles.check import evaluate_case
from oracles.names import FRAMEWORKS, ORACLES


class SigmoidOffByTiny(R.Sigmoid):
    def backward(self, dout):
        return super().backward(dout) * 1.001  # 0.1% too large


class TanhOffByTiny(R.Tanh):
    def backward(self, dout):
        return super().backward(dout) * 1.001


class ReluLeaky(R.Relu):
    def backward(self, dout):
        return np.where(self.mask, 1e-3 * dout, dout)  # dead units let 0.1% of dout through


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "base, make",
    [
        ("sigmoid_extreme", lambda p: SigmoidOffByTiny()),
        ("sigmoid_extreme", lambda p: SigmoidDerivFromInput()),
        ("tanh_extreme", lambda p: TanhOffByTiny()),
        ("tanh_extreme", lambda p: TanhDerivFromInput()),
    ],
    ids=["sigmoid-off-0.1%", "sigmoid-deriv-from-input", "tanh-off-0.1%", "tanh-deriv-from-input"],
)
def test_extreme_range_still_catches_gradient_bugs(base, make, dtype):
    """On [-1e3, 1e3] most entries are saturated (true gradient ~exp(-|x|), often exactly 0), where the
    allclose bound is just atol and a 0.1% error is invisible. The entries that are not saturated (about
    half of Hypothesis's draws: it favours 0, +-1 and small values) are held to rtol, so the bug is still
    caught, by every oracle, in both dtypes."""
    assert_caught(REGISTRY[base], dtype, by=["grad_x"], name=f"{base}_broken", make=make)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dead_relu_leak_is_caught(dtype):
    """Where the true gradient is exactly 0 (dead ReLU units) the bound is atol alone (1e-7..1e-5), so any
    gradient leaking through a dead unit (here 0.1% of a cotangent of size >= 0.5) fails."""
    assert_caught(REGISTRY["relu"], dtype, by=["grad_x"], name="relu_broken", make=lambda p: ReluLeaky())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saturated_and_dominant_inputs_pass_exactly_where_it_matters(dtype):
    """Hand-placed extremes (no false alarms): saturated sigmoid and tanh, and log-softmax rows with one
    logit 1e3 (float64) or 80 (float32) above the rest, where softmax is a one-hot to working precision."""
    big = 1e3 if dtype == "float64" else 80.0
    x = np.array([[-big, -50.0, -1.0, 0.0, 1.0, 50.0, big]], dtype=dtype)
    rows = np.array([[big, 0.0, -1.0], [0.0, big, big - 1.0], [-big, -big, big]], dtype=dtype)
    for name, inp in (("sigmoid_extreme", x), ("tanh_extreme", x), ("log_softmax_dominant", rows)):
        sizes = {"n": inp.shape[0], "m": inp.shape[1], "c": inp.shape[1]}
        case = Case(name, dtype, sizes, {"x": inp}, {}, seed=1)
        comps = evaluate_case(REGISTRY[name], case)
        bad = [c.message() for c in comps if not c.passed]
        assert not bad, "\n".join(bad)
        assert {c.oracle for c in comps} == set(ORACLES)
    out = R.LogSoftmax(-1).forward(rows)
    assert np.isfinite(out).all() and out.dtype == rows.dtype


def test_naive_softmax_with_loss_float32_is_caught_at_forward_only_by_the_frameworks():
    """In float32 on [-80, 80] exp does not overflow; the naive loss goes to inf where a label's
    probability underflows (a spread above ~87), so torch and JAX catch the forward. Its gradient
    (y - onehot) / N is still right to atol, and the numerical oracle differentiates the reference's
    forward in float64, where nothing underflows: it cannot see this bug. (Hence no float32 entry in
    tests/broken_zoo/activations.py, whose variants must be caught by all three oracles.)"""
    assert_caught(REGISTRY["softmax_with_loss_extreme"], "float32", by={FRAMEWORKS: ["forward"]},
                  name="softmax_with_loss_naive_exp_f32", make=lambda p: NaiveSoftmaxWithLoss())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layers_keep_dtype_and_do_not_mutate(dtype):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=(2, 3, 4)).astype(dtype)
    dout = rng.uniform(-1, 1, size=x.shape).astype(dtype)
    layers = [R.Tanh(), R.LeakyRelu(0.1), R.Elu(0.5), R.Gelu("none"), R.Gelu("tanh"), R.Softplus(),
              R.Softmax(1), R.LogSoftmax(-1)]
    for layer in layers:
        x0, d0 = x.copy(), dout.copy()
        y = layer.forward(x)
        dx = layer.backward(dout)
        assert y.dtype == x.dtype and dx.dtype == x.dtype, type(layer).__name__
        assert np.array_equal(x, x0) and np.array_equal(dout, d0), type(layer).__name__
