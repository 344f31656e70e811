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
