"""Registry entries for the seed layers, the book's own (see oracles/registry.py for the conventions of
an entry): Affine, ReLU, Sigmoid, SoftmaxWithLoss, MeanSquaredError and the broadcasting Add and Mul.

This family registers first (oracles/zoo/__init__.py imports it before the others), so the seeds lead the
registry's order, which is the order of test ids. SIGMOID and SOFTMAX_WITH_LOSS are named for the
activations family, whose *_extreme entries reuse them.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Convention, Domain, Float, Index, LayerSpec, OneHot

# --- Affine -------------------------------------------------------------------------------------------
register(LayerSpec(
    name="affine",
    make=lambda p: R.Affine(p["W"], p["b"]),
    inputs=(Float("x", ("n", "i")),),
    params={"W": ("i", "o"), "b": ("o",)},
    torch_fn=lambda x, W, b: torch.addmm(b, x, W),
    jax_fn=lambda x, W, b: jnp.dot(x, W) + b,
    doc="x @ W + b",
))

register(LayerSpec(
    name="affine_nd",
    make=lambda p: R.Affine(p["W"], p["b"]),
    inputs=(Float("x", ("n", "c", "h", "w")),),
    params={"W": ("c*h*w", "o"), "b": ("o",)},
    sizes={"c": (1, 2, 3), "h": (1, 2, 3), "w": (1, 2)},
    torch_fn=lambda x, W, b: torch.flatten(x, 1) @ W + b,
    jax_fn=lambda x, W, b: jnp.reshape(x, (x.shape[0], -1)) @ W + b,
    doc="Affine on (N, C, H, W) input, flattened to (N, C*H*W) as in the book; dx reshaped back",
))

# --- Activations --------------------------------------------------------------------------------------
register(LayerSpec(
    name="relu",
    make=lambda p: R.Relu(),
    inputs=(Float("x", ("n", "m")),),
    torch_fn=torch.relu,
    jax_fn=jax.nn.relu,
    conventions=(Convention("x = 0", reference="0", torch="0", jax="0"),),
))

SIGMOID = register(LayerSpec(
    name="sigmoid",
    make=lambda p: R.Sigmoid(),
    inputs=(Float("x", ("n", "m")),),
    torch_fn=torch.sigmoid,
    jax_fn=jax.nn.sigmoid,
    domain=Domain(-10.0, 10.0),
))

# --- Losses -------------------------------------------------------------------------------------------
SOFTMAX_WITH_LOSS = register(LayerSpec(
    name="softmax_with_loss",
    make=lambda p: R.SoftmaxWithLoss(),
    inputs=(Float("x", ("n", "c")), Index("t", ("n",), classes="c")),
    sizes={"c": (2, 3, 5)},
    torch_fn=lambda x, t: F.cross_entropy(x, t),
    jax_fn=lambda x, t: -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(x, axis=1), t[:, None], axis=1)),
    domain=Domain(-8.0, 8.0),
    doc="cross-entropy of softmax(x) with class-index labels, mean over the batch",
))

register(LayerSpec(
    name="softmax_with_loss_onehot",
    make=lambda p: R.SoftmaxWithLoss(),
    inputs=(Float("x", ("n", "c")), OneHot("t", ("n", "c"))),
    sizes={"c": (2, 3, 5)},
    torch_fn=lambda x, t: F.cross_entropy(x, t),
    jax_fn=lambda x, t: -jnp.sum(t * jax.nn.log_softmax(x, axis=1)) / x.shape[0],
    domain=Domain(-8.0, 8.0),
    doc="cross-entropy of softmax(x) with one-hot labels, mean over the batch",
))

register(LayerSpec(
    name="mean_squared_error",
    make=lambda p: R.MeanSquaredError(),
    inputs=(Float("y", ("n", "m")), Float("t", ("n", "m"))),
    torch_fn=lambda y, t: 0.5 * F.mse_loss(y, t, reduction="sum") / y.shape[0],
    jax_fn=lambda y, t: 0.5 * jnp.sum(jnp.square(y - t)) / y.shape[0],
    doc="0.5 * sum((y - t)**2) / N",
))

# --- Elementwise with broadcasting ----------------------------------------------------------------------
# x and y each take a full shape, a row, a column, or a scalar, so every broadcasting direction is drawn.
_BROADCAST = (("n", "m"), ("m",), (1, "m"), ("n", 1), ())

register(LayerSpec(
    name="add",
    make=lambda p: R.AddLayer(),
    inputs=(Float("x", alternatives=_BROADCAST), Float("y", alternatives=_BROADCAST)),
    torch_fn=lambda x, y: x + y,
    jax_fn=lambda x, y: jnp.add(x, y),
    layouts=10,  # 25 pairs of broadcast shapes: draw from more layouts than usual
    doc="x + y with NumPy broadcasting (scalars included); gradients summed back to each shape",
))

register(LayerSpec(
    name="mul",
    make=lambda p: R.MulLayer(),
    inputs=(Float("x", alternatives=_BROADCAST), Float("y", alternatives=_BROADCAST)),
    torch_fn=lambda x, y: x * y,
    jax_fn=lambda x, y: jnp.multiply(x, y),
    layouts=10,
    doc="x * y with NumPy broadcasting (scalars included)",
))
