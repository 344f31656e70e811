"""Deliberately broken layers: each is a correct reference layer with one classic gradient bug.

`BROKEN` maps a name to Broken(spec, dtype, by), made by `broken(...)`, one entry a case: `by` says which
oracles must catch it at which stages, as tests/catching.py reads it (a list of stages: every oracle, at
each; a dict: per oracle; any_of: at least one of those stages), and tests/test_checker_catches_bugs.py
runs `assert_caught(*BROKEN[name])` on each. Every spec reuses the correct layer's oracle math, so only
the reference side is wrong.
"""
from dataclasses import replace

import numpy as np

import reference as R
from catching import Broken, any_of
from oracles import REGISTRY
from oracles.names import FRAMEWORKS


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


def broken_spec(base: str, name: str, make, **spec_changes):
    """The correct `base` layer's spec with the broken `make` (and any other field changed)."""
    return replace(REGISTRY[base], name=name, make=make, **spec_changes)


def broken(base: str, name: str, make, by, dtype: str = "float64", **spec_changes) -> Broken:
    """A corpus entry: broken_spec(...) checked in `dtype`, caught where `by` says (tests/catching.py)."""
    return Broken(broken_spec(base, name, make, **spec_changes), dtype, by)


BROKEN = {
    "affine_dW_missing_transpose": broken("affine", "affine_dW_missing_transpose", lambda p: AffineNoTransposeDW(p["W"], p["b"]), by=["grad_W"]),
    "affine_db_wrong_axis": broken("affine", "affine_db_wrong_axis", lambda p: AffineBiasWrongAxis(p["W"], p["b"]), by=["grad_b"]),
    "affine_dx_off_by_1.001": broken("affine", "affine_dx_off_by_1.001", lambda p: AffineOffByTiny(p["W"], p["b"]), by=["grad_x"]),
    "sigmoid_deriv_from_input": broken("sigmoid", "sigmoid_deriv_from_input", lambda p: SigmoidDerivFromInput(), by=["grad_x"]),
    "softmax_with_loss_no_batch_divide": broken("softmax_with_loss", "softmax_with_loss_no_batch_divide",
                                                lambda p: SoftmaxWithLossNoBatchDivide(), by=["grad_x"]),
    "mul_gradients_swapped": broken("mul", "mul_gradients_swapped", lambda p: MulLayerSwapped(), by=["grad_x", "grad_y"]),
    # which of x and y is broadcast in the first failing example is Hypothesis's choice: either stage
    "add_no_unbroadcast": broken("add", "add_no_unbroadcast", lambda p: AddLayerNoUnbroadcast(), by=[any_of("grad_x", "grad_y")]),
    # gradients correct for 2-d input only: the (n, t, d) layouts of layernorm give dgamma of the wrong shape
    "layernorm_dgamma_only_right_for_2d": broken("layernorm", "layernorm_dgamma_only_right_for_2d",
                                                 lambda p, eps: LayerNormGammaFor2dOnly(p["gamma"], p["beta"], eps=eps),
                                                 by=["grad_gamma", "grad_beta"]),
    # float32 arithmetic inside a float64 layer: relative error ~6e-8, far above the exact oracles'
    # rtol 1e-9 but below the numerical oracle's resolution (rtol 1e-6: a central difference cannot see
    # float32 rounding), so only PyTorch and JAX are required to catch it
    "tanh_grad_in_float32": broken("tanh", "tanh_grad_in_float32", lambda p: TanhGradInFloat32(), by={FRAMEWORKS: ["grad_x"]}),
    # the same 0.1% bug must also be caught in float32 (rtol 1e-5 there)
    "affine_dx_off_by_1.001_float32": broken("affine", "affine_dx_off_by_1.001_f32", lambda p: AffineOffByTiny(p["W"], p["b"]),
                                             by=["grad_x"], dtype="float32"),
}
