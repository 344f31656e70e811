"""Registry entries for the activations family (see oracles/registry.py for the conventions of an entry).

Oracle math uses each framework's own activation (torch.tanh, F.gelu, jax.nn.elu, ...), never the
reference's formula. Conventions at kinks were measured on this machine (torch 2.13.0, jax 0.10.2) by
differentiating sum(f(x)) at x = [0.0, -0.0] in float64 and float32:
  leaky_relu(slope=0.1)'(0): PyTorch 0.1, JAX 1.0;   elu(alpha=0.5)'(0): PyTorch 0.5, JAX 0.5;
  elu(alpha=1)'(0): 1 in both (no kink).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Convention, Domain, Float, Index, LayerSpec
from ..tolerances import Tol
from .seeds import SIGMOID, SOFTMAX_WITH_LOSS

# 3-d inputs: small pools (JAX compiles per shape; the numerical oracle costs 2 forwards per element).
_SIZES_3D = {"n": (1, 2, 3), "t": (1, 2, 3), "c": (1, 2, 3, 5)}
# Two shape layouts per entry (strategies.layouts: distinct sizes > 1, then every size at its smallest)
# instead of the default 4: the math here is elementwise or one reduction along a named axis, which the
# distinct-sizes layout already tells apart from every other axis, and each extra layout is one more JAX
# compile (~0.3-1 s here, most of this family's gate time).
_LAYOUTS = 2

# --- Elementwise ------------------------------------------------------------------------------------------
register(LayerSpec(
    name="tanh",
    layouts=_LAYOUTS,
    make=lambda p: R.Tanh(),
    inputs=(Float("x", ("n", "m")),),
    torch_fn=torch.tanh,
    jax_fn=jnp.tanh,
    doc="tanh(x); backward from the cached output, 1 - y**2",
))

register(LayerSpec(
    name="leaky_relu",
    layouts=_LAYOUTS,
    make=lambda p, slope: R.LeakyRelu(slope),
    inputs=(Float("x", ("n", "m")),),
    config={"slope": 0.1},
    torch_fn=lambda x, slope: F.leaky_relu(x, negative_slope=slope),
    jax_fn=lambda x, slope: jax.nn.leaky_relu(x, negative_slope=slope),
    conventions=(Convention("x = 0", reference="slope (the x <= 0 side, as relu'(0) = 0 takes it)", torch="slope",
                            jax="1", agree=("torch",)),),
    doc="x if x > 0 else 0.1 * x",
))

register(LayerSpec(
    name="elu",
    layouts=_LAYOUTS,
    make=lambda p, alpha: R.Elu(alpha),
    inputs=(Float("x", ("n", "m")),),
    config={"alpha": 1.0},
    torch_fn=lambda x, alpha: F.elu(x, alpha=alpha),
    jax_fn=lambda x, alpha: jax.nn.elu(x, alpha=alpha),
    # no convention, no margin: with alpha = 1 both sides have slope 1 at 0 (PyTorch and JAX give 1), so
    # the first derivative has no kink and 0 is drawn freely
    doc="x if x > 0 else exp(x) - 1",
))

register(LayerSpec(
    name="elu_alpha0.5",
    layouts=_LAYOUTS,
    make=lambda p, alpha: R.Elu(alpha),
    inputs=(Float("x", ("n", "m")),),
    config={"alpha": 0.5},
    torch_fn=lambda x, alpha: F.elu(x, alpha=alpha),
    jax_fn=lambda x, alpha: jax.nn.elu(x, alpha=alpha),
    conventions=(Convention("x = 0", reference="alpha (the x <= 0 side)", torch="alpha", jax="alpha"),),
    doc="x if x > 0 else 0.5 * (exp(x) - 1): slope 1 on the right of 0, 0.5 on the left",
))

register(LayerSpec(
    name="gelu",
    layouts=_LAYOUTS,
    make=lambda p, approximate: R.Gelu(approximate),
    inputs=(Float("x", ("n", "m")),),
    config={"approximate": "none"},
    torch_fn=lambda x, approximate: F.gelu(x, approximate=approximate),
    jax_fn=lambda x, approximate: jax.nn.gelu(x, approximate=False),
    doc="exact GELU x * Phi(x) (erf form)",
))

register(LayerSpec(
    name="gelu_tanh",
    layouts=_LAYOUTS,
    make=lambda p, approximate: R.Gelu(approximate),
    inputs=(Float("x", ("n", "m")),),
    config={"approximate": "tanh"},
    torch_fn=lambda x, approximate: F.gelu(x, approximate=approximate),
    jax_fn=lambda x, approximate: jax.nn.gelu(x, approximate=True),
    doc="GELU, tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))",
))

register(LayerSpec(
    name="softplus",
    layouts=_LAYOUTS,
    make=lambda p: R.Softplus(),
    inputs=(Float("x", ("n", "m")),),
    # PyTorch's default threshold=20 returns x (gradient exactly 1) for x > 20, where the exact gradient is
    # 1 - ~exp(-x): relative 2e-9 at x = 20.0 (> float64 rtol 1e-9) until x ~ 20.7. Up to 20 its default
    # is exact, so this entry checks the default there; softplus_extreme covers the wide range.
    domain=Domain(-20.0, 20.0),
    torch_fn=lambda x: F.softplus(x),
    jax_fn=jax.nn.softplus,
    doc="log(1 + exp(x)), beta = 1, PyTorch's default threshold (not reached: |x| <= 20)",
))

register(LayerSpec(
    name="softplus_extreme",
    layouts=_LAYOUTS,
    make=lambda p: R.Softplus(),
    inputs=(Float("x", ("n", "m")),),
    sizes={"n": (1, 2, 3), "m": (1, 2, 3)},
    domain=Domain(-1e3, 1e3),
    # threshold=40: above it exp(-x) < 4e-18 < eps/2, so PyTorch's linearization (x, gradient 1) equals the
    # exact softplus to float64 rounding; with the default 20 it differs by up to 2e-9 relative in (20, 20.7).
    torch_fn=lambda x: F.softplus(x, beta=1.0, threshold=40.0),
    jax_fn=jax.nn.softplus,
    doc="softplus on [-1e3, 1e3]: no overflow, exact in both tails (PyTorch with threshold 40)",
))

# --- Softmax and log-softmax along an axis ----------------------------------------------------------------
register(LayerSpec(
    name="softmax",
    layouts=_LAYOUTS,
    make=lambda p, axis: R.Softmax(axis),
    inputs=(Float("x", ("n", "t", "c")),),
    config={"axis": -1},
    sizes=_SIZES_3D,
    torch_fn=lambda x, axis: torch.softmax(x, dim=axis),
    jax_fn=lambda x, axis: jax.nn.softmax(x, axis=axis),
    doc="softmax over the last axis of a 3-d input",
))

register(LayerSpec(
    name="softmax_axis1",
    layouts=_LAYOUTS,
    make=lambda p, axis: R.Softmax(axis),
    inputs=(Float("x", ("n", "c", "t")),),
    config={"axis": 1},
    sizes=_SIZES_3D,
    torch_fn=lambda x, axis: torch.softmax(x, dim=axis),
    jax_fn=lambda x, axis: jax.nn.softmax(x, axis=axis),
    doc="softmax over axis 1 (not the last) of a 3-d input",
))

register(LayerSpec(
    name="log_softmax",
    layouts=_LAYOUTS,
    make=lambda p, axis: R.LogSoftmax(axis),
    inputs=(Float("x", ("n", "t", "c")),),
    config={"axis": -1},
    sizes=_SIZES_3D,
    torch_fn=lambda x, axis: F.log_softmax(x, dim=axis),
    jax_fn=lambda x, axis: jax.nn.log_softmax(x, axis=axis),
    doc="log-softmax over the last axis of a 3-d input",
))

register(LayerSpec(
    name="log_softmax_axis1",
    layouts=_LAYOUTS,
    make=lambda p, axis: R.LogSoftmax(axis),
    inputs=(Float("x", ("n", "c", "t")),),
    config={"axis": 1},
    sizes=_SIZES_3D,
    torch_fn=lambda x, axis: F.log_softmax(x, dim=axis),
    jax_fn=lambda x, axis: jax.nn.log_softmax(x, axis=axis),
    doc="log-softmax over axis 1 (not the last) of a 3-d input",
))

# --- Numerical range: extreme but valid inputs ------------------------------------------------------------
# Layers that are written to be stable must stay finite and correct far out. On most entries of these
# draws the true gradient is tiny or exactly 0 (saturation); the allclose metric holds those to atol,
# while the entries that are not saturated (Hypothesis draws 0, +-1, small values often) are held to rtol:
# tests/test_zoo_activations.py shows a 0.1% error is still caught here.
register(LayerSpec(
    name="sigmoid_extreme",
    layouts=_LAYOUTS,
    make=SIGMOID.make,
    inputs=(Float("x", ("n", "m")),),
    torch_fn=torch.sigmoid,
    jax_fn=jax.nn.sigmoid,
    domain=Domain(-1e3, 1e3),
    doc="the seeds' Sigmoid on [-1e3, 1e3]: exp(-|x|) never overflows; y(1-y) underflows to exactly 0",
))

register(LayerSpec(
    name="tanh_extreme",
    layouts=_LAYOUTS,
    make=lambda p: R.Tanh(),
    inputs=(Float("x", ("n", "m")),),
    torch_fn=torch.tanh,
    jax_fn=jnp.tanh,
    domain=Domain(-1e3, 1e3),
    doc="Tanh on [-1e3, 1e3]: saturates to +-1 with gradient exactly 0",
))

register(LayerSpec(
    name="log_softmax_dominant",
    layouts=_LAYOUTS,
    make=lambda p, axis: R.LogSoftmax(axis),
    inputs=(Float("x", ("n", "c")),),
    config={"axis": -1},
    sizes={"n": (1, 2, 3), "c": (2, 3, 5)},
    domain=Domain(-1e3, 1e3),
    torch_fn=lambda x, axis: F.log_softmax(x, dim=axis),
    jax_fn=lambda x, axis: jax.nn.log_softmax(x, axis=axis),
    doc=(
        "log-softmax of logits in [-1e3, 1e3]: rows usually have one logit hundreds above the rest, where "
        "softmax underflows to a one-hot and a naive log(softmax) would be -inf"
    ),
))

register(LayerSpec(
    name="softmax_with_loss_extreme",
    layouts=_LAYOUTS,
    make=SOFTMAX_WITH_LOSS.make,
    inputs=(Float("x", ("n", "c")), Index("t", ("n",), classes="c")),
    sizes={"c": (2, 3, 5)},
    torch_fn=SOFTMAX_WITH_LOSS.torch_fn,
    jax_fn=SOFTMAX_WITH_LOSS.jax_fn,
    # float32: exp overflows above ~88.7, so a naive softmax would already fail below 1e3; +-80 keeps the
    # float32 run about stability and not about losing every digit of a loss of size ~1e3 (ulp 6e-5).
    dtype_domains={"float64": Domain(-1e3, 1e3), "float32": Domain(-80.0, 80.0)},
    # L = cotangent * (mean over rows of lse - z_t), |L| <= 1.5 * (2e3 + log 5) = 3e3 -> eps * |L| / h = 7e-7
    doc="the seeds' SoftmaxWithLoss on logits up to +-1e3 (float64) and +-80 (float32)",
))
