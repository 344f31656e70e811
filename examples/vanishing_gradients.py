"""Vanishing gradients in a deep MLP: ||dW|| of every Affine layer of a 10-layer network (width 30), for
sigmoid and ReLU activations, with weights of std 1 and with Xavier (std 1/sqrt(fan_in)) resp. He
(std sqrt(2/fan_in)) initialization, computed by the reference's backward and confirmed by PyTorch autograd
and by jax.grad. Loss: SoftmaxWithLoss (mean cross-entropy) on a random batch with random labels.

    python examples/vanishing_gradients.py [--json table.json]
"""
from __future__ import annotations

import argparse
import json

import numpy as np

import reference as R

DEPTH, WIDTH, IN, CLASSES, BATCH = 10, 30, 30, 10, 64
CONFIGS = [("sigmoid", "std1"), ("sigmoid", "xavier"), ("relu", "std1"), ("relu", "he")]


def init_weights(activation: str, init: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """DEPTH (W, b) pairs: IN -> WIDTH -> ... -> WIDTH -> CLASSES, zero biases."""
    rng = np.random.default_rng(seed)
    dims = [IN] + [WIDTH] * (DEPTH - 1) + [CLASSES]
    out = []
    for fan_in, fan_out in zip(dims, dims[1:]):
        std = {"std1": 1.0, "xavier": np.sqrt(1.0 / fan_in), "he": np.sqrt(2.0 / fan_in)}[init]
        out.append((rng.normal(0.0, std, size=(fan_in, fan_out)), np.zeros(fan_out)))
    return out


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    return rng.normal(size=(BATCH, IN)), rng.integers(0, CLASSES, size=BATCH)


def reference_norms(weights, activation, x, t) -> list[float]:
    layers = []
    for i, (W, b) in enumerate(weights):
        layers.append(R.Affine(W.copy(), b.copy()))
        if i < len(weights) - 1:
            layers.append(R.Sigmoid() if activation == "sigmoid" else R.Relu())
    net = R.Sequential(layers, R.SoftmaxWithLoss())
    net.forward(x, t)
    net.backward()
    return [float(np.linalg.norm(l.dW)) for l in layers if isinstance(l, R.Affine)]


def torch_norms(weights, activation, x, t) -> list[float]:
    import torch
    import torch.nn.functional as F

    Ws = [torch.tensor(W, requires_grad=True) for W, _ in weights]
    bs = [torch.tensor(b, requires_grad=True) for _, b in weights]
    h = torch.from_numpy(x)
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if i < len(Ws) - 1:
            h = torch.sigmoid(h) if activation == "sigmoid" else torch.relu(h)
    F.cross_entropy(h, torch.from_numpy(t)).backward()
    return [float(torch.linalg.norm(W.grad)) for W in Ws]


def jax_norms(weights, activation, x, t) -> list[float]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # float64, as the reference (also set by the tests' conftest)
    act = jax.nn.sigmoid if activation == "sigmoid" else jax.nn.relu

    def loss(params):
        h = jnp.asarray(x)
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i < len(params) - 1:
                h = act(h)
        logp = jax.nn.log_softmax(h, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, jnp.asarray(t)[:, None], axis=1))

    grads = jax.grad(loss)([(jnp.asarray(W), jnp.asarray(b)) for W, b in weights])
    return [float(jnp.linalg.norm(gW)) for gW, _ in grads]


def gradient_norm_table(seed: int = 0, configs=CONFIGS) -> list[dict]:
    """One row per (activation, init, layer): {"activation", "init", "layer" (0 = next to the input),
    "ref", "torch", "jax"} with ||dW|| (Frobenius) from each; plain floats, ready for json.dumps."""
    x, t = data(seed)
    rows = []
    for activation, init in configs:
        weights = init_weights(activation, init, seed)
        norms = {name: fn(weights, activation, x, t)
                 for name, fn in (("ref", reference_norms), ("torch", torch_norms), ("jax", jax_norms))}
        for i in range(len(weights)):
            rows.append({"activation": activation, "init": init, "layer": i,
                         **{name: norms[name][i] for name in norms}})
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the table to this file")
    args = ap.parse_args()
    rows = gradient_norm_table(args.seed)
    print(f"{DEPTH}-layer MLP, width {WIDTH}, batch {BATCH}: ||dW|| per layer (layer 0 = next to the input)")
    print(f"{'activation':10s} {'init':7s} {'layer':>5s} {'reference':>12s} {'torch':>12s} {'jax':>12s} {'max rel diff':>13s}")
    for r in rows:
        rel = max(abs(r["ref"] - r[o]) / abs(r[o]) if r[o] else abs(r["ref"]) for o in ("torch", "jax"))
        print(f"{r['activation']:10s} {r['init']:7s} {r['layer']:5d} {r['ref']:12.4e} {r['torch']:12.4e} "
              f"{r['jax']:12.4e} {rel:13.1e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
        print(f"wrote {args.json}")
