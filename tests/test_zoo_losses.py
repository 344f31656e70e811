"""Losses family: behaviour the randomized gate does not aim at.

- Huber and smooth L1 exactly on their seam |y - t| = delta (beta), and at y == t: the loss is C1 there,
  so reference, PyTorch and JAX must return the same gradient (no convention to declare). The gate's
  Convention mechanism puts one input on a fixed value, which cannot express |y - t| = delta, hence
  this test.
- BCE with logits stays finite and exact far into the tails, in float32 too.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import reference as R
from oracles import REGISTRY


def _grads_everywhere(spec_name, y, t, ct):
    """(reference, torch, jax) gradients of (y, t) for the registered loss, scaled by cotangent ct."""
    spec = REGISTRY[spec_name]
    layer = spec.make({}, **spec.config)
    layer.forward(y.copy(), t.copy())
    ref = layer.backward(np.asarray(ct, dtype=y.dtype))

    ty, tt = torch.tensor(y, requires_grad=True), torch.tensor(t, requires_grad=True)
    out = spec.torch_fn(ty, tt, **spec.config)
    tg = torch.autograd.grad(out, [ty, tt], grad_outputs=torch.tensor(ct, dtype=ty.dtype))
    _, pullback = jax.vjp(lambda a, b: spec.jax_fn(a, b, **spec.config), jnp.asarray(y), jnp.asarray(t))
    jg = pullback(jnp.asarray(ct, dtype=y.dtype))
    return ref, [g.numpy() for g in tg], [np.asarray(g) for g in jg]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, key", [("huber_loss", "delta"), ("smooth_l1_loss", "beta")])
def test_seam_is_c1_and_everybody_agrees(name, key, dtype):
    seam = REGISTRY[name].config[key]
    # d = y - t exactly on +-seam (t = 0 and t = 1, both exact), exactly 0, and one point per branch
    t = np.array([0.0, 0.0, 1.0, 1.0, 0.5, -1.0, 0.25], dtype=dtype)
    d = np.array([seam, -seam, seam, -seam, 0.0, 0.5 * seam, 2.0 * seam], dtype=dtype)
    y = (t + d).astype(dtype)
    assert np.array_equal(y - t, d)  # the seam is hit exactly, not within rounding
    ct = -0.75
    ref, tg, jg = _grads_everywhere(name, y, t, ct)
    # dloss/dd: huber: d inside, delta*sign(d) outside; smooth L1: the same divided by beta
    scale = 1.0 if name == "huber_loss" else 1.0 / seam
    dd = scale * np.array([seam, -seam, seam, -seam, 0.0, 0.5 * seam, seam])
    expected = ct * dd / len(d)
    for sign, g_ref, g_t, g_j in zip((1, -1), ref, tg, jg):  # dt = -dy
        np.testing.assert_allclose(g_ref, sign * expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(g_t, g_ref, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(g_j, g_ref, rtol=1e-6, atol=1e-7)
        assert g_ref.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bce_with_logits_is_finite_and_exact_in_the_tails(dtype):
    x = np.array([[-200.0, -30.0, 0.0, 30.0, 200.0]], dtype=dtype)
    t = np.array([[1.0, 0.0, 0.5, 1.0, 0.0]], dtype=dtype)
    layer = R.BCEWithLogitsLoss()
    loss = layer.forward(x, t)
    dx = layer.backward(np.asarray(1.0, dtype=dtype))
    x64, t64 = torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    want = F.binary_cross_entropy_with_logits(x64, t64)
    assert np.isfinite(loss) and np.asarray(loss).dtype == np.dtype(dtype)
    # per element: 200, ~0, log 2, ~0, 200 -> mean 80 + log(2) / 5
    np.testing.assert_allclose(float(loss), want.item(), rtol=1e-6)
    np.testing.assert_allclose(dx, np.array([[-1.0, 0.0, 0.0, 0.0, 1.0]]) / 5, atol=1e-7)


def test_nll_gradient_sits_on_the_true_class_only():
    x = np.log(np.full((3, 4), 0.25))
    t = np.array([2, 0, 2])
    layer = R.NLLLoss()
    assert layer.forward(x, t) == pytest.approx(np.log(4.0))
    dx = layer.backward(np.asarray(2.0))
    want = np.zeros((3, 4))
    want[[0, 1, 2], [2, 0, 2]] = -2.0 / 3
    np.testing.assert_array_equal(dx, want)


def test_mse_loss_rejects_an_unknown_reduction():
    with pytest.raises(ValueError, match="reduction"):
        R.MSELoss("none")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, key", [("huber_loss", "delta"), ("smooth_l1_loss", "beta")])
def test_central_differences_straddling_the_seam_stay_in_tolerance(name, key, dtype):
    """The worst case the gate can draw: |y| = 4 (the largest step, h = 4e-6) with y - t on the seam.
    Central differences there see the jump of the second derivative, an error of h / (4 * seam)
    relative to the gradient; with seam >= 1.5 that must still pass every oracle."""
    from oracles import Case
    from oracles.check import evaluate_case

    seam = REGISTRY[name].config[key]
    y = np.array([[4.0, -4.0, seam]], dtype=dtype)
    t = np.array([[4.0 - seam, -4.0 + seam, 0.0]], dtype=dtype)
    case = Case(layer=name, dtype=dtype, sizes={"n": 1, "m": 3}, inputs={"y": y, "t": t}, params={}, seed=3)
    comps = evaluate_case(REGISTRY[name], case)
    assert comps and all(c.passed for c in comps), "\n".join(c.message() for c in comps if not c.passed)
