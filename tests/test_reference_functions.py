"""The seeds' functions against PyTorch, and the seeds' numerical_gradient against known derivatives."""
import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as R

vals = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
                  elements=st.floats(-20, 20, allow_subnormal=False))


@given(vals)
def test_activations_match_torch(x):
    t = torch.from_numpy(x)
    np.testing.assert_allclose(R.sigmoid(x), torch.sigmoid(t).numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(R.relu(x), torch.relu(t).numpy())
    np.testing.assert_allclose(R.softmax(x), torch.softmax(t, -1).numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(R.log_softmax(x), torch.log_softmax(t, -1).numpy(), rtol=1e-12, atol=1e-12)


@given(vals)
def test_derivatives_match_torch(x):
    t = torch.from_numpy(x).requires_grad_()
    (g,) = torch.autograd.grad(torch.sigmoid(t).sum(), t)
    np.testing.assert_allclose(R.d_sigmoid(x), g.numpy(), rtol=1e-12, atol=1e-15)
    t = torch.from_numpy(x).requires_grad_()
    (g,) = torch.autograd.grad(torch.relu(t).sum(), t)
    np.testing.assert_array_equal(R.d_relu(x), g.numpy())  # relu'(0) = 0 in both


@given(vals, st.data())
def test_losses_match_torch(x, data):
    n, c = x.shape
    labels = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    y = R.softmax(x)
    expected = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(labels)).item()
    np.testing.assert_allclose(R.cross_entropy_error(y, labels), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(R.cross_entropy_error(y, np.eye(c)[labels]), expected, rtol=1e-9, atol=1e-12)
    t = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-5, 5)))
    tt = torch.from_numpy(x).requires_grad_()
    loss = 0.5 * F.mse_loss(tt, torch.from_numpy(t), reduction="sum")
    (g,) = torch.autograd.grad(loss, tt)
    np.testing.assert_allclose(R.mean_squared_error(x, t), loss.item(), rtol=1e-12)
    np.testing.assert_allclose(R.d_mean_squared_error(x, t), g.numpy(), rtol=1e-12)


def test_numerical_gradient_of_known_functions():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    np.testing.assert_allclose(R.numerical_gradient(lambda v: np.sum(v**3), x.copy()), 3 * x**2, rtol=1e-6)
    np.testing.assert_allclose(R.numerical_gradient(lambda v: np.sum(R.sigmoid(v)), x.copy()), R.d_sigmoid(x), rtol=1e-6)
    y = x.copy()
    R.numerical_gradient(lambda v: np.sum(v**2), y)
    np.testing.assert_array_equal(y, x)  # restored after perturbation


def test_numerical_gradient_sees_parameters_through_a_closure():
    # the book's idiom: f ignores its argument and reads the parameter array that is perturbed in place
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([[0.5, -1.0]])
    g = R.numerical_gradient(lambda _: float(np.sum(x @ W)), W)
    np.testing.assert_allclose(g, np.repeat(x.T, 2, axis=1), rtol=1e-8)


def test_large_logits_stay_finite():
    x = np.array([[1000.0, -1000.0, 0.0]])
    layer = R.SoftmaxWithLoss()
    loss = layer.forward(x, np.array([1]))
    assert np.isfinite(loss) and np.isclose(loss, 2000.0)
    assert np.all(np.isfinite(layer.backward(1.0)))
    assert np.all(np.isfinite(R.sigmoid(np.array([-1000.0, 1000.0]))))


# --- unit tests that mutation testing showed missing (mutation/README.md) ---
@given(st.integers(1, 4), st.integers(2, 5), st.integers(0, 2**31))
def test_cross_entropy_error_matches_torch_for_indices_onehot_and_1d(n, c, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c))
    y = R.softmax(logits)
    idx = rng.integers(0, c, size=n)
    want = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(idx)).item()
    onehot = np.eye(c)[idx]
    # indices, indices as a column (N, 1), float one-hot, integer one-hot
    for t in (idx, idx.reshape(-1, 1), onehot, onehot.astype(np.int64)):
        assert np.isclose(R.cross_entropy_error(y, t), want, rtol=1e-12, atol=1e-14)
    # a single example as 1-d arrays, labels as an index or a one-hot row
    one = F.cross_entropy(torch.from_numpy(logits[:1]), torch.from_numpy(idx[:1])).item()
    assert np.isclose(R.cross_entropy_error(y[0], idx[:1]), one, rtol=1e-12)
    assert np.isclose(R.cross_entropy_error(y[0], onehot[0]), one, rtol=1e-12)


def test_derivative_helpers_keep_the_dtype():
    x = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
    assert R.d_relu(x).dtype == np.float32 and R.d_sigmoid(x).dtype == np.float32
    assert (R.d_relu(x) == np.array([0, 1, 1], np.float32)).all()
