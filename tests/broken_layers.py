"""Deliberately broken layers: each is a correct reference layer with one classic gradient bug.

`BROKEN` maps a name to (spec, dtype, the (oracle, stage) pairs that must fail); an entry that is a
tuple of pairs means "at least one of these". Every spec reuses the
correct layer's oracle math, so only the reference side is wrong.
"""
from dataclasses import replace

import numpy as np

import reference as R
from oracles import REGISTRY


class AffineNoTransposeDW(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = np.dot(dout.T, self.x)  # should be x.T @ dout: shape (o, i) instead of (i, o)
        return dx


class AffineBiasWrongAxis(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = np.sum(dout, axis=1)  # summed over outputs instead of over the batch
        return dx


class AffineOffByTiny(R.Affine):
    def backward(self, dout):
        return super().backward(dout) * 1.001  # 0.1% too large


class SigmoidDerivFromInput(R.Sigmoid):
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * (1.0 - self.x) * self.x  # y(1-y) evaluated at the input x instead of the output y


class SoftmaxWithLossNoBatchDivide(R.SoftmaxWithLoss):
    def backward(self, dout=1):
        return dout * (self.y - self.t_onehot)  # forgot / batch_size


class MulLayerSwapped(R.MulLayer):
    def backward(self, dout):
        return R.unbroadcast(dout * self.x, np.shape(self.x)), R.unbroadcast(dout * self.y, np.shape(self.y))


class AddLayerNoUnbroadcast(R.AddLayer):
    def backward(self, dout):
        return dout, dout  # broadcasting not summed back


class LayerNormGammaFor2dOnly(R.LayerNorm):
    """dgamma/dbeta summed over axis 0 only: right for (N, D) input, wrong for (N, T, D)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.dgamma = np.sum(dout * self.xn, axis=0)
        self.dbeta = np.sum(dout, axis=0)
        return dx


class TanhGradInFloat32(R.Tanh):
    """The derivative computed in float32 inside a float64 layer (a stray .astype(np.float32)), cast back."""

    def backward(self, dout):
        y = self.out.astype(np.float32)
        return (dout.astype(np.float32) * (1 - y * y)).astype(dout.dtype)


def broken_spec(base: str, name: str, make):
    return replace(REGISTRY[base], name=name, make=make)


ALL = ("torch", "jax", "numerical")

BROKEN = {
    "affine_dW_missing_transpose": (
        broken_spec("affine", "affine_dW_missing_transpose", lambda p: AffineNoTransposeDW(p["W"], p["b"])),
        "float64", [(o, "grad_W") for o in ALL],
    ),
    "affine_db_wrong_axis": (
        broken_spec("affine", "affine_db_wrong_axis", lambda p: AffineBiasWrongAxis(p["W"], p["b"])),
        "float64", [(o, "grad_b") for o in ALL],
    ),
    "affine_dx_off_by_1.001": (
        broken_spec("affine", "affine_dx_off_by_1.001", lambda p: AffineOffByTiny(p["W"], p["b"])),
        "float64", [(o, "grad_x") for o in ALL],
    ),
    "sigmoid_deriv_from_input": (
        broken_spec("sigmoid", "sigmoid_deriv_from_input", lambda p: SigmoidDerivFromInput()),
        "float64", [(o, "grad_x") for o in ALL],
    ),
    "softmax_with_loss_no_batch_divide": (
        broken_spec("softmax_with_loss", "softmax_with_loss_no_batch_divide", lambda p: SoftmaxWithLossNoBatchDivide()),
        "float64", [(o, "grad_x") for o in ALL],
    ),
    "mul_gradients_swapped": (
        broken_spec("mul", "mul_gradients_swapped", lambda p: MulLayerSwapped()),
        "float64", [(o, s) for o in ALL for s in ("grad_x", "grad_y")],
    ),
    "add_no_unbroadcast": (
        broken_spec("add", "add_no_unbroadcast", lambda p: AddLayerNoUnbroadcast()),
        # which of x and y is broadcast in the first failing example is Hypothesis's choice: either stage
        "float64", [((o, "grad_x"), (o, "grad_y")) for o in ALL],
    ),
    # gradients correct for 2-d input only: the (n, t, d) layouts of layernorm give dgamma of the wrong shape
    "layernorm_dgamma_only_right_for_2d": (
        broken_spec("layernorm", "layernorm_dgamma_only_right_for_2d", lambda p, eps: LayerNormGammaFor2dOnly(p["gamma"], p["beta"], eps=eps)),
        "float64", [(o, s) for o in ALL for s in ("grad_gamma", "grad_beta")],
    ),
    # float32 arithmetic inside a float64 layer: relative error ~6e-8, far above the exact oracles'
    # rtol 1e-9 but below the numerical oracle's resolution (rtol 1e-6: a central difference cannot see
    # float32 rounding), so only PyTorch and JAX are required to catch it
    "tanh_grad_in_float32": (
        broken_spec("tanh", "tanh_grad_in_float32", lambda p: TanhGradInFloat32()),
        "float64", [(o, "grad_x") for o in ("torch", "jax")],
    ),
    # the same 0.1% bug must also be caught in float32 (rtol 1e-5 there)
    "affine_dx_off_by_1.001_float32": (
        broken_spec("affine", "affine_dx_off_by_1.001_f32", lambda p: AffineOffByTiny(p["W"], p["b"])),
        "float32", [(o, "grad_x") for o in ALL],
    ),
}
