"""Registry entries for the norm family (see oracles/registry.py for the conventions of an entry).

Oracle math: PyTorch's own F.batch_norm / F.layer_norm / F.rms_norm; JAX with jnp.mean, jnp.var and
jax.lax.rsqrt. Neither is written from the reference's backward: autograd differentiates through the
batch (or row) statistics on its own.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Domain, Float, LayerSpec
from ..tolerances import Tol

EPS = 1e-5

# Float32 draws for the layers that subtract a mean: distinct even integers in [-40, 40] (41 of them). Two
# reasons, both measured:
# - forward: a batch (or row) whose values nearly coincide has a variance near 0; x - mean then keeps few
#   significant bits and 1/sqrt(var + eps) (up to 316) turns the float32 rounding of the mean (~|x| * 6e-8)
#   into an error ~1e-4 in xn that no two implementations share. Distinct even integers keep std >= 1, so
#   |x| / std <= 40 and that error stays <= ~2.4e-6.
# - backward: dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / std, dxn = dout * gamma, cancels terms of
#   size |gamma| |dout| / std down to a small result (for two values per row or batch it is pure
#   cancellation: 1 - xn**2 = eps / (var + eps)), so its float32 error scales with those terms. With
#   |gamma| <= 2, |dout| <= 1.5 and 1/std <= 1 they are <= 3, and the error of the ~10 roundings stays
#   <= ~3 * 10 * 1.2e-7 = 3.6e-6 (measured: PyTorch's float32 LayerNorm dx was 1.7e-5 off the float64 value
#   for integers / 4 in [-4, 4], std >= 1/8, and 4.8e-6 off the reference for integers in [-20, 20]).
#   Normalization is scale-invariant, so large inputs lose no generality.
# float64 is drawn freely in [-4, 4] (ties, even all-equal columns: variance 0, where eps carries the layer).
_F32_SPACED = {"float32": Domain(-40.0, 40.0, spacing=2.0)}

# float64 with a variance of 0 (all-equal values: Hypothesis draws them): xn = (x - mean) / sqrt(eps) is
# rounding noise amplified by 1/sqrt(eps) = 316: the mean of m equal values is off by up to ~log2(m) / 2 ulp
# of |x| <= 4 (<= 2.2e-15 for m <= 18), so each xn is off by <= 7e-13. The forward gamma * xn + beta
# (|gamma| <= 2) is then off by <= 1.4e-12 and dgamma = sum over m <= 18 of dout * xn (|dout| <= 1.5) by
# <= 18 * 1.5 * 7e-13 = 1.9e-11, in the worst case, against the table's atol of 1e-12 (observed: 1.0e-12
# in dgamma vs PyTorch on an all-equal (3, 1, 2, 3) batch, 1.5e-13 in the forward vs JAX). rtol stays 1e-9,
# so a wrong value of ordinary size still fails by orders of magnitude.
_F64_ZERO_VAR = {
    ("float64", "exact", "forward"): Tol(atol=2e-12, rtol=1e-9),
    ("float64", "exact", "grad"): Tol(atol=2e-11, rtol=1e-9),
}
_F64_ZERO_VAR_REASON = (
    "float64, variance 0 (all-equal values): xn is rounding noise of the mean (<= ~log2(m)/2 ulp of |x| <= 4) "
    "times 1/sqrt(eps) = 316, <= 7e-13 per entry; forward gamma * xn: <= 1.4e-12 (atol 2e-12); dgamma sums "
    "m <= 18 of them times |dout| <= 1.5: <= 1.9e-11 worst case (observed 1.0e-12 vs PyTorch), so atol 2e-11; "
    "rtol unchanged"
)


class _BatchNormEval(R.BatchNorm):
    """Harness glue: the gate passes only drawn inputs to forward, so the evaluation entry draws the running
    statistics as (non-differentiable) inputs and runs R.BatchNorm in evaluation mode with them."""

    def forward(self, x, running_mean, running_var):
        self.running_mean, self.running_var = running_mean, running_var
        return super().forward(x, train_flg=False)


def _jax_batchnorm(x, gamma, beta, eps):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)  # gamma, beta along the feature / channel axis
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.var(x, axis=axes, keepdims=True)  # biased (ddof=0)
    return (x - mean) * jax.lax.rsqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


def _jax_batchnorm_eval(x, running_mean, running_var, gamma, beta, eps):
    return (x - running_mean) * jax.lax.rsqrt(running_var + eps) * gamma + beta


# --- BatchNorm --------------------------------------------------------------------------------------------
register(LayerSpec(
    name="batchnorm_train",
    make=lambda p, eps: R.BatchNorm(p["gamma"], p["beta"], eps=eps),
    inputs=(Float("x", ("n", "d")),),
    params={"gamma": ("d",), "beta": ("d",)},
    config={"eps": EPS},
    sizes={"n": (2, 3, 5), "d": (1, 2, 3)},  # n >= 2: a batch of one has variance 0 (PyTorch refuses it)
    torch_fn=lambda x, gamma, beta, eps: F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps),
    jax_fn=_jax_batchnorm,
    dtype_domains=_F32_SPACED,
    tolerances=_F64_ZERO_VAR,
    tolerance_reason=_F64_ZERO_VAR_REASON,
    doc="BatchNorm, training mode, (N, D): batch mean and biased variance, gradients through both",
))

register(LayerSpec(
    name="batchnorm2d_train",
    make=lambda p, eps: R.BatchNorm(p["gamma"], p["beta"], eps=eps),
    inputs=(Float("x", ("n", "c", "h", "w")),),
    params={"gamma": ("c",), "beta": ("c",)},
    config={"eps": EPS},
    sizes={"n": (2, 3), "c": (1, 2), "h": (1, 2), "w": (1, 3)},  # <= 36 entries: distinct float32 draws
    torch_fn=lambda x, gamma, beta, eps: F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps),
    jax_fn=_jax_batchnorm,
    dtype_domains=_F32_SPACED,
    tolerances=_F64_ZERO_VAR,
    tolerance_reason=_F64_ZERO_VAR_REASON,
    doc="BatchNorm, training mode, (N, C, H, W): per channel over (N, H, W), gradients through the statistics",
))

register(LayerSpec(
    name="batchnorm_eval",
    make=lambda p, eps: _BatchNormEval(p["gamma"], p["beta"], eps=eps),
    inputs=(
        Float("x", ("n", "d")),
        Float("running_mean", ("d",), diff=False),
        Float("running_var", ("d",), diff=False, domain=Domain(0.25, 4.0)),
    ),
    params={"gamma": ("d",), "beta": ("d",)},
    config={"eps": EPS},
    sizes={"n": (1, 2, 3), "d": (1, 2, 3)},
    torch_fn=lambda x, running_mean, running_var, gamma, beta, eps: F.batch_norm(
        x, running_mean, running_var, gamma, beta, training=False, eps=eps),
    jax_fn=_jax_batchnorm_eval,
    layouts=3,  # affine in x: 3 shapes suffice (saves a JAX compile per dtype)
    doc="BatchNorm, evaluation mode: drawn running statistics (constants), gradients for x, gamma, beta",
))

# --- LayerNorm --------------------------------------------------------------------------------------------
register(LayerSpec(
    name="layernorm",
    make=lambda p, eps: R.LayerNorm(p["gamma"], p["beta"], eps=eps),
    # one or two leading axes, so dgamma / dbeta must sum over all of them
    inputs=(Float("x", alternatives=(("n", "d"), ("n", "t", "d"))),),
    params={"gamma": ("d",), "beta": ("d",)},
    config={"eps": EPS},
    sizes={"n": (1, 2, 3), "t": (2,), "d": (2, 3, 5)},  # d = 1: x - mean = 0, a constant output
    torch_fn=lambda x, gamma, beta, eps: F.layer_norm(x, tuple(gamma.shape), gamma, beta, eps=eps),
    jax_fn=lambda x, gamma, beta, eps: (
        (x - jnp.mean(x, axis=-1, keepdims=True)) * jax.lax.rsqrt(jnp.var(x, axis=-1, keepdims=True) + eps)
        * gamma + beta
    ),
    dtype_domains=_F32_SPACED,
    tolerances=_F64_ZERO_VAR,
    tolerance_reason=_F64_ZERO_VAR_REASON,
    doc="LayerNorm over the last axis, affine gamma and beta",
))

register(LayerSpec(
    name="layernorm_last2",
    make=lambda p, eps: R.LayerNorm(p["gamma"], p["beta"], eps=eps),
    inputs=(Float("x", ("n", "h", "w")),),
    params={"gamma": ("h", "w"), "beta": ("h", "w")},
    config={"eps": EPS},
    sizes={"n": (1, 2, 3), "h": (1, 2, 3), "w": (2, 3)},
    torch_fn=lambda x, gamma, beta, eps: F.layer_norm(x, tuple(gamma.shape), gamma, beta, eps=eps),
    jax_fn=lambda x, gamma, beta, eps: (
        (x - jnp.mean(x, axis=(-2, -1), keepdims=True))
        * jax.lax.rsqrt(jnp.var(x, axis=(-2, -1), keepdims=True) + eps) * gamma + beta
    ),
    dtype_domains=_F32_SPACED,
    tolerances=_F64_ZERO_VAR,
    tolerance_reason=_F64_ZERO_VAR_REASON,
    doc="LayerNorm over the last two axes (gamma, beta of shape (H, W))",
))

# --- RMSNorm ----------------------------------------------------------------------------------------------
register(LayerSpec(
    name="rmsnorm",
    make=lambda p, eps: R.RMSNorm(p["gamma"], eps=eps),
    inputs=(Float("x", alternatives=(("n", "d"), ("n", "t", "d"))),),
    params={"gamma": ("d",)},
    config={"eps": EPS},
    sizes={"n": (1, 2, 3), "t": (2, 3), "d": (1, 2, 3, 5)},
    torch_fn=lambda x, gamma, eps: F.rms_norm(x, (gamma.shape[-1],), gamma, eps=eps),
    jax_fn=lambda x, gamma, eps: x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps) * gamma,
    doc="RMSNorm over the last axis: x / sqrt(mean(x**2) + eps) * gamma (no mean subtracted, no beta)",
))
