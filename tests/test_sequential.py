"""Sequential records every layer's output and every layer's input gradient (the seeds' deltas); both
are checked against PyTorch autograd with retained intermediate gradients, on a random cotangent."""
import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import reference as R


@given(st.integers(1, 4), st.lists(st.integers(1, 5), min_size=1, max_size=4), st.integers(2, 5), st.integers(0, 2**31))
def test_sequential_outputs_and_deltas_match_torch(n, widths, classes, seed):
    rng = np.random.default_rng(seed)
    dims = [3] + widths + [classes]
    Ws = [rng.normal(size=(a, b)) for a, b in zip(dims, dims[1:])]
    bs = [rng.normal(size=b) for b in dims[1:]]
    layers = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        layers.append(R.Affine(W, b))
        if i < len(Ws) - 1:
            layers.append(R.Relu() if i % 2 == 0 else R.Sigmoid())
    net = R.Sequential(layers, R.SoftmaxWithLoss())
    x = rng.normal(size=(n, 3))
    t = rng.integers(0, classes, size=n)
    dout = rng.uniform(0.5, 1.5)
    loss = net.forward(x, t)
    deltas = net.backward(dout)

    # the same network in torch, intermediates retained
    h = torch.from_numpy(x).requires_grad_()
    ins, outs = [h], []
    Wt = [torch.from_numpy(W).requires_grad_() for W in Ws]
    bt = [torch.from_numpy(b).requires_grad_() for b in bs]
    k = 0
    for layer in layers:
        if isinstance(layer, R.Affine):
            h = h @ Wt[k] + bt[k]
            k += 1
        else:
            h = torch.relu(h) if isinstance(layer, R.Relu) else torch.sigmoid(h)
        h.retain_grad()
        outs.append(h)
        ins.append(h)
    tloss = F.cross_entropy(h, torch.from_numpy(t))
    (tloss * dout).backward()

    np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
    assert len(net.outputs) == len(layers) and len(deltas) == len(layers) + 1
    for got, ref in zip(net.outputs, outs):
        np.testing.assert_allclose(got, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for got, ref in zip(deltas, ins):
        np.testing.assert_allclose(got, ref.grad.numpy(), rtol=1e-9, atol=1e-12)
    grads = net.grads()
    for i, W in enumerate(Wt):
        idx = [j for j, l in enumerate(layers) if isinstance(l, R.Affine)][i]
        np.testing.assert_allclose(grads[f"{idx}.W"], W.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(grads[f"{idx}.b"], bt[i].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_params_and_grads_are_keyed_by_layer_index_and_name():
    rng = np.random.default_rng(0)
    a1, a2 = R.Affine(rng.normal(size=(3, 4)), np.zeros(4)), R.Affine(rng.normal(size=(4, 2)), np.ones(2))
    net = R.Sequential([a1, R.Relu(), a2], R.SoftmaxWithLoss())
    assert list(net.params()) == ["0.W", "0.b", "2.W", "2.b"]
    assert net.params()["2.b"] is a2.b and a1.params() == {"W": a1.W, "b": a1.b}
    net.forward(rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1]))
    net.backward()
    g = net.grads()
    assert list(g) == list(net.params()) and g["0.W"] is a1.dW and a2.grads()["b"] is a2.db
    assert all(g[k].shape == net.params()[k].shape for k in g)


def test_a_loss_with_two_gradients_feeds_the_first_back():
    """MeanSquaredError returns (dy, dt); Sequential propagates dy."""
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 2))
    net = R.Sequential([R.Affine(W, np.zeros(2))], R.MeanSquaredError())
    x, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    net.forward(x, t)
    deltas = net.backward()
    y = x @ W
    assert np.allclose(deltas[-1], (y - t) / 4) and np.allclose(deltas[0], (y - t) / 4 @ W.T)


def test_grads_before_backward_are_none_and_duck_typed_layers_are_skipped():
    """A layer's grads() is None for each parameter until backward has run; Sequential takes any object
    with forward/backward, and one without param_names contributes no parameters."""
    rng = np.random.default_rng(2)
    a = R.Affine(rng.normal(size=(3, 2)), np.zeros(2))
    assert a.grads() == {"W": None, "b": None}

    class Bare(R.Layer):  # a researcher's layer that never set self.dW before backward
        param_names = ("W",)

    assert Bare().grads() == {"W": None}

    class Scale:  # no Layer base class, no param_names
        def forward(self, x):
            return 2 * x

        def backward(self, dout):
            return 2 * dout

    net = R.Sequential([Scale(), a], R.SoftmaxWithLoss())
    assert list(net.params()) == ["1.W", "1.b"]
    net.forward(rng.normal(size=(4, 3)), np.array([0, 1, 1, 0]))
    net.backward()
    assert list(net.grads()) == ["1.W", "1.b"] and net.grads()["1.W"] is a.dW
