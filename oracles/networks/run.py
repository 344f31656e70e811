"""Running a built network three ways: the reference layers, PyTorch (one autograd graph) and JAX (each
layer's jitted vjp, chained). Each returns site path -> {"forward", "grad_in", "grad_<param>"...}.

Named net_*: oracles.backends.run_torch/run_jax run one layer on one Case and return an Outcome."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import _jax_vjp, _torch_fn
from ..names import FORWARD, Stage
from .building import Network, Node

#: A site's gradient with respect to its chained input, whatever the layer calls that input.
GRAD_IN = Stage.grad("in")


def _first(g):
    return g[0] if isinstance(g, (tuple, list)) else g


def _chain(net: Network, leaf_forward, leaf_backward, keep) -> dict[str, dict[str, Any]]:
    """Run a network by hand, layer after layer, the way the reference and the per-layer JAX oracle do.

    leaf_forward(node, a) -> output; leaf_backward(node, dout) -> (input gradient, {param: gradient}).
    A residual block outputs a + branch(a); its input gradient is dout + the branch's. `keep(value)` is
    what gets recorded (a copy for the reference, whose layers may reuse their arrays).
    Returns site path -> {"forward", "grad_in", "grad_<param>"...}.
    """
    res: dict[str, dict[str, Any]] = {}

    def fwd(node: Node, a):
        if node.inner is not None:
            b = a
            for n in node.inner:
                b = fwd(n, b)
            out = a + b
        else:
            out = leaf_forward(node, a)
        res[node.path] = {FORWARD: keep(out)}
        return out

    def bwd(node: Node, d):
        if node.inner is not None:
            e = d
            for n in reversed(node.inner):
                e = bwd(n, e)
            g = d + e
        else:
            g, grads = leaf_backward(node, d)
            res[node.path].update({Stage.grad(k): None if v is None else keep(v) for k, v in grads.items()})
        res[node.path][GRAD_IN] = keep(g)
        return g

    a = net.x
    for n in net.nodes:
        a = fwd(n, a)
    fwd(net.head, a)
    d = bwd(net.head, np.array(net.ct))
    for n in reversed(net.nodes):
        d = bwd(n, d)
    return res


def net_reference(net: Network) -> dict[str, dict[str, np.ndarray]]:
    """Each site's output, input gradient and parameter gradients, from the reference layers."""
    layers: dict[str, Any] = {}

    def forward(node: Node, a):
        layer = node.spec.make({k: v.copy() for k, v in node.params.items()}, **node.spec.config)
        layers[node.path] = layer
        return layer.forward(a, *[node.extras[arg.name] for arg in node.spec.inputs[1:]])

    def backward(node: Node, d):
        layer = layers[node.path]
        g = _first(layer.backward(d))
        return g, {p: getattr(layer, "d" + p, None) for p in node.spec.params}

    # copies: a neighbour that mutates its input or dout in place must not rewrite this site's record
    return _chain(net, forward, backward, keep=lambda v: np.array(v, copy=True))


def net_torch(net: Network, leaves: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One autograd graph over the whole network; intermediate gradients via retain_grad.

    leaves: site path -> {param: tensor} to use as the parameters (a training loop's, whose
    torch.optim optimizer steps them); by default fresh tensors from the network's arrays."""
    import torch

    res: dict[str, dict[str, Any]] = {}
    tensors: dict[str, Any] = {}

    def fwd(node: Node, a):
        tensors[node.path + ":in"] = a
        if node.inner is not None:
            # the inner branch gets its own handle on x, so its first layer's input gradient is the
            # branch's share only (the residual's own input gradient adds the skip path)
            b = a.clone()
            if b.requires_grad:
                b.retain_grad()
            for n in node.inner:
                b = fwd(n, b)
            out = a + b
        else:
            ps = (leaves or {}).get(node.path) or {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in node.params.items()}
            tensors[node.path + ":params"] = ps
            ex = [torch.from_numpy(np.array(node.extras[arg.name])) for arg in node.spec.inputs[1:]]
            out = _torch_fn(node.spec)(a, *ex, **ps, **node.spec.config)
        if out.requires_grad:
            out.retain_grad()
        tensors[node.path + ":out"] = out
        return out

    x = torch.from_numpy(net.x.copy()).requires_grad_(True)
    a = x
    for n in net.nodes:
        a = fwd(n, a)
    a.retain_grad() if a.requires_grad else None
    loss = fwd(net.head, a)
    loss.backward(torch.from_numpy(np.array(net.ct)))
    for node in net.sites():
        inp = tensors[node.path + ":in"]
        r = {FORWARD: tensors[node.path + ":out"].detach().numpy(),
             GRAD_IN: inp.grad.numpy() if inp.grad is not None else np.zeros(inp.shape, dtype=net.desc.dtype)}
        for k, p in tensors.get(node.path + ":params", {}).items():
            r[Stage.grad(k)] = p.grad.numpy() if p.grad is not None else np.zeros(p.shape, dtype=net.desc.dtype)
        res[node.path] = r
    return res


def net_jax(net: Network) -> dict[str, dict[str, np.ndarray]]:
    """Each layer's own jitted jax.vjp (cached per layer, shape and dtype), chained: forward with a zero
    cotangent to get the output, then backward with the cotangent JAX's own chain produced."""
    import jax

    ins: dict[str, Any] = {}

    def call(node: Node, a, ct):
        fn = _jax_vjp(node.spec)
        first = node.spec.inputs[0].name
        diff = {first: a, **{k: v for k, v in node.extras.items() if k in node.spec.diff_inputs}}
        other = {k: v for k, v in node.extras.items() if k not in node.spec.diff_inputs}
        return jax.block_until_ready(fn(diff, other, dict(node.params), ct))

    def forward(node: Node, a):
        ins[node.path] = a
        out, _, _ = call(node, a, np.zeros(node.out_shape, dtype=net.desc.dtype))
        return out

    def backward(node: Node, d):
        _, g_in, g_par = call(node, ins[node.path], d)
        return g_in[node.spec.inputs[0].name], g_par

    return _chain(net, forward, backward, keep=np.asarray)


NET_RUNNERS = {"torch": net_torch, "jax": net_jax}
