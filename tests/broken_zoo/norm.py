"""Deliberately broken norm layers (format: see tests/broken_layers.py)."""
import numpy as np

import reference as R
from broken_layers import broken


class BatchNormStatsConstant(R.BatchNorm):
    """Backward treats the batch mean and variance as constants: dx = dout * gamma / std."""

    def _backward(self, dout):
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        return dout * self.gamma / self.std


class BatchNorm2dGammaWrongAxes(R.BatchNorm):
    """dgamma summed after reshaping (N, C, H, W) to (C, -1) instead of moving the channel axis first:
    each row then mixes channels across examples; right only for a batch of one."""

    def backward(self, dout):
        dx = super().backward(dout)
        xn = self.xn.reshape(dout.shape[0], dout.shape[2], dout.shape[3], -1).transpose(0, 3, 1, 2)  # back to NCHW
        self.dgamma = np.sum((dout * xn).reshape(dout.shape[1], -1), axis=1)
        return dx


class LayerNormStatsConstant(R.LayerNorm):
    """Backward treats the row mean and variance as constants: dx = dout * gamma / std."""

    def backward(self, dout):
        super().backward(dout)
        return dout * self.gamma / self.std


class RMSNormNoNormTerm(R.RMSNorm):
    """Backward drops the term through the norm: dx = r * dout * gamma."""

    def backward(self, dout):
        super().backward(dout)
        return self.r * dout * self.gamma


def _bn(cls):
    return lambda p, eps: cls(p["gamma"], p["beta"], eps=eps)


BROKEN = {
    "batchnorm_stats_constant": broken("batchnorm_train", "batchnorm_stats_constant", _bn(BatchNormStatsConstant), by=["grad_x"]),
    # the same bug in float32 (spaced draws there) and on NCHW input
    "batchnorm_stats_constant_float32": broken("batchnorm_train", "batchnorm_stats_constant_f32",
                                               _bn(BatchNormStatsConstant), by=["grad_x"], dtype="float32"),
    "batchnorm2d_stats_constant": broken("batchnorm2d_train", "batchnorm2d_stats_constant", _bn(BatchNormStatsConstant), by=["grad_x"]),
    "batchnorm2d_dgamma_wrong_axes": broken("batchnorm2d_train", "batchnorm2d_dgamma_wrong_axes", _bn(BatchNorm2dGammaWrongAxes), by=["grad_gamma"]),
    "layernorm_stats_constant": broken("layernorm", "layernorm_stats_constant",
                                       lambda p, eps: LayerNormStatsConstant(p["gamma"], p["beta"], eps=eps), by=["grad_x"]),
    "rmsnorm_no_norm_term": broken("rmsnorm", "rmsnorm_no_norm_term", lambda p, eps: RMSNormNoNormTerm(p["gamma"], eps=eps), by=["grad_x"]),
}
