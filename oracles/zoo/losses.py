"""Registry entries for the losses family (see oracles/registry.py for the conventions of an entry).

Every loss is a scalar, so the cotangent the harness draws is a random scalar (never 1): a gradient
that forgets to multiply by dout fails as surely as one that forgets to divide by N.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Domain, Float, Index, LayerSpec

register(LayerSpec(
    name="nll_loss",
    make=lambda p: R.NLLLoss(),
    inputs=(Float("x", ("n", "c")), Index("t", ("n",), classes="c")),
    sizes={"c": (2, 3, 5)},
    torch_fn=lambda x, t: F.nll_loss(x, t),
    # one-hot mask rather than indexing, so the oracle does not share the reference's gather
    jax_fn=lambda x, t: -jnp.sum(x * jax.nn.one_hot(t, x.shape[1], dtype=x.dtype)) / x.shape[0],
    domain=Domain(-8.0, 0.0),  # log-probabilities are <= 0 (any float would do for the gradient)
    doc="-mean_n x[n, t_n] for log-probabilities x (N, C) and class indices t; mean over the batch",
))

register(LayerSpec(
    name="bce_with_logits",
    make=lambda p: R.BCEWithLogitsLoss(),
    inputs=(Float("x", ("n", "m")), Float("t", ("n", "m"), diff=False, domain=Domain(0.0, 1.0))),
    torch_fn=lambda x, t: F.binary_cross_entropy_with_logits(x, t),
    jax_fn=lambda x, t: -jnp.mean(t * jax.nn.log_sigmoid(x) + (1 - t) * jax.nn.log_sigmoid(-x)),
    # logits far into both tails (where the naive log(sigmoid) would give log(0)), kept where float32
    # still resolves sigmoid(x) - t
    dtype_domains={"float64": Domain(-40.0, 40.0), "float32": Domain(-15.0, 15.0)},
    doc="binary cross-entropy of sigmoid(x) against soft targets t in [0, 1] (not differentiated), "
        "from the logits, mean over every element",
))

for _reduction in ("mean", "sum"):
    register(LayerSpec(
        name=f"mse_loss_{_reduction}",
        make=lambda p, reduction: R.MSELoss(reduction),
        inputs=(Float("y", ("n", "m")), Float("t", ("n", "m"))),
        config={"reduction": _reduction},
        torch_fn=lambda y, t, reduction: F.mse_loss(y, t, reduction=reduction),
        jax_fn=lambda y, t, reduction: getattr(jnp, reduction)(jnp.square(y - t)),
        doc=f"(y - t)**2 reduced by {_reduction} over every element (torch's MSELoss, no 0.5)",
    ))

# Huber and smooth L1 are C1 at |y - t| = delta (beta): both branches have the same slope there and
# PyTorch, JAX and the reference all return it (measured exactly on the seam, and at d = 0, in
# tests/test_zoo_losses.py), so there is no convention to declare. Central differences that straddle
# the seam see the jump of the second derivative: an error of at most h / (4 delta) relative to the
# gradient (h = 1e-6 * max(1, |v|) <= 4e-6 on [-4, 4]), inside rtol = 1e-6 as long as delta >= 1.
# Hence delta = 1.5 and beta = 2 (not 1: a reference that ignores delta or beta must fail).
register(LayerSpec(
    name="huber_loss",
    make=lambda p, delta: R.HuberLoss(delta),
    inputs=(Float("y", ("n", "m")), Float("t", ("n", "m"))),
    config={"delta": 1.5},
    torch_fn=lambda y, t, delta: F.huber_loss(y, t, delta=delta),
    # written as 0.5 m**2 + delta (|d| - m) with m = min(|d|, delta): no branch, unlike the reference
    jax_fn=lambda y, t, delta: jnp.mean(
        0.5 * jnp.minimum(jnp.abs(y - t), delta) ** 2 + delta * (jnp.abs(y - t) - jnp.minimum(jnp.abs(y - t), delta))
    ),
    # no convention: C1 at |y - t| = delta (same slope on both sides; reference, PyTorch and JAX agree); no kink
    doc="Huber loss of y - t with delta = 1.5, mean over every element; y and t both differentiable",
))

register(LayerSpec(
    name="smooth_l1_loss",
    make=lambda p, beta: R.SmoothL1Loss(beta),
    inputs=(Float("y", ("n", "m")), Float("t", ("n", "m"))),
    config={"beta": 2.0},
    torch_fn=lambda y, t, beta: F.smooth_l1_loss(y, t, beta=beta),
    jax_fn=lambda y, t, beta: jnp.mean(
        0.5 * jnp.minimum(jnp.abs(y - t), beta) ** 2 / beta + (jnp.abs(y - t) - jnp.minimum(jnp.abs(y - t), beta))
    ),
    # no convention: C1 at |y - t| = beta (same slope on both sides; reference, PyTorch and JAX agree); no kink
    doc="smooth L1 loss of y - t with beta = 2, mean over every element; y and t both differentiable",
))
