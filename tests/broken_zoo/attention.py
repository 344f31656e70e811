"""Deliberately broken attention layers (format: see tests/broken_layers.py)."""
import numpy as np

import reference as R
from oracles import REGISTRY

from broken_layers import broken
from catching import any_of


class SdpaBackwardMissingScale(R.ScaledDotProductAttention):
    def backward(self, dout):
        dq, dk, dv = super().backward(dout)
        # forgot the chain rule through "* 1/sqrt(d)": dq, dk too large by sqrt(d) (invisible when d = 1)
        return dq / self.scale, dk / self.scale, dv


class SdpaSoftmaxDiagonalJacobian(R.ScaledDotProductAttention):
    def backward(self, dout):
        p = self.p
        dv = np.matmul(np.swapaxes(p, -1, -2), dout)
        dp = np.matmul(dout, np.swapaxes(self.v, -1, -2))
        ds = p * (1 - p) * dp  # only the diagonal of the softmax Jacobian diag(p) - p p^T
        dq = np.matmul(ds, self.k) * self.scale
        dk = np.matmul(np.swapaxes(ds, -1, -2), self.q) * self.scale
        return dq, dk, dv


class SdpaCausalMaskForgottenInBackward(R.ScaledDotProductAttention):
    """Masked in forward, but backward recomputes the probabilities from the unmasked scores: gradient
    leaks from query i into the future keys and values j > i (invisible when t = 1)."""

    def forward(self, q, k, v):
        out = super().forward(q, k, v)
        self.p_unmasked = R.softmax(np.matmul(q, np.swapaxes(k, -1, -2)) * self.scale, axis=-1)
        return out

    def backward(self, dout):
        self.p = self.p_unmasked
        return super().backward(dout)


class MhaDWoMissingTranspose(R.MultiHeadAttention):
    def backward(self, dout):
        dx = super().backward(dout)
        e = self.x.shape[-1]
        # dout^T concat instead of concat^T dout: Wo is square, so the shape is right and only values show it
        self.dWo = np.dot(dout.reshape(-1, e).T, self.concat.reshape(-1, e))
        return dx


def _mha(cls):
    return lambda p, heads, causal: cls(p["Wq"], p["Wk"], p["Wv"], p["Wo"], p["bq"], p["bk"], p["bv"], p["bo"],
                                        heads=heads, causal=causal)


BROKEN = {
    # 1/sqrt(d) is 1 for d = 1: the bug needs d > 1, so this variant draws d from (2, 4) only (with the
    # gate's pool (1, 2, 4) a CI run once drew no d > 1 example that exposed it). q or k may be all zeros
    # in the first failing example (then dk or dq is 0 either way): either stage
    "sdpa_backward_missing_scale": broken("sdpa", "sdpa_backward_missing_scale", lambda p, causal: SdpaBackwardMissingScale(causal=causal),
                                          by=[any_of("grad_q", "grad_k")], sizes={**REGISTRY["sdpa"].sizes, "d": (2, 4)}),
    "sdpa_softmax_diagonal_jacobian": broken("sdpa", "sdpa_softmax_diagonal_jacobian",
                                             lambda p, causal: SdpaSoftmaxDiagonalJacobian(causal=causal), by=[any_of("grad_q", "grad_k")]),
    # dv = p^T dout sees the leaked probabilities whatever q and k are (dq, dk usually fail too)
    "sdpa_causal_mask_leaks_in_backward": broken("sdpa_causal", "sdpa_causal_mask_leaks_in_backward",
                                                 lambda p, causal: SdpaCausalMaskForgottenInBackward(causal=causal), by=["grad_v"]),
    "mha_dWo_missing_transpose": broken("mha", "mha_dWo_missing_transpose", _mha(MhaDWoMissingTranspose), by=["grad_Wo"]),
}
