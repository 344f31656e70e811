"""Reference layers: attention.

Scaled dot-product attention and multi-head self-attention, with explicit forward and backward.
Weights follow the book's convention `x @ W + b` (W has shape (in, out)).
"""
from __future__ import annotations

import numpy as np

from .functions import softmax
from .layers import Layer

__all__: list[str] = ["MultiHeadAttention", "ScaledDotProductAttention"]


def causal_mask(tq: int, tk: int) -> np.ndarray:
    """True where query i must not see key j (j > i): the strict upper triangle."""
    return np.triu(np.ones((tq, tk), dtype=bool), k=1)


class ScaledDotProductAttention(Layer):
    """out = softmax(q k^T / sqrt(d)) v, over the last two axes (any leading batch axes).

    q: (..., tq, d), k: (..., tk, d), v: (..., tk, dv) -> out: (..., tq, dv).
    causal=True hides the future (key j > query i); it needs tq == tk. The masked scores are set to -inf
    before the softmax: exp(-inf) is exactly 0 and every row keeps its diagonal, so nothing overflows,
    nothing is NaN, and the masked probabilities (and their gradients) are exactly zero.
    backward returns (dq, dk, dv).
    """

    def __init__(self, causal: bool = False):
        self.causal = causal
        self.q = self.k = self.v = None
        self.p = None
        self.scale = None

    def forward(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        tq, tk = q.shape[-2], k.shape[-2]
        if self.causal and tq != tk:
            raise ValueError(f"causal attention needs as many queries as keys, got {tq} and {tk}")
        # the scale in the input's dtype, so that float32 stays float32
        self.scale = q.dtype.type(1.0 / np.sqrt(q.shape[-1]))
        scores = np.matmul(q, np.swapaxes(k, -1, -2)) * self.scale
        if self.causal:
            scores = np.where(causal_mask(tq, tk), -np.inf, scores)
        self.q, self.k, self.v = q, k, v
        self.p = softmax(scores, axis=-1)
        return np.matmul(self.p, v)

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dv = np.matmul(np.swapaxes(self.p, -1, -2), dout)
        dp = np.matmul(dout, np.swapaxes(self.v, -1, -2))
        # softmax backward, row by row: ds = p * (dp - sum_j p_j dp_j). Zero wherever p is (the masked keys).
        ds = self.p * (dp - np.sum(self.p * dp, axis=-1, keepdims=True))
        # scores = q k^T * scale
        dq = np.matmul(ds, self.k) * self.scale
        dk = np.matmul(np.swapaxes(ds, -1, -2), self.q) * self.scale
        return dq, dk, dv


class MultiHeadAttention(Layer):
    """Multi-head self-attention on x of shape (N, T, E), E = heads * head_dim.

    q = x Wq + bq, k = x Wk + bk, v = x Wv + bv (each (N, T, E)), split into `heads` heads of head_dim
    features each, scaled dot-product attention per head (optionally causal), heads concatenated back to
    (N, T, E), and out = concat Wo + bo. Every W is (E, E), every b is (E,).
    x feeds q, k and v, so its gradient is the sum of the three paths.
    """

    param_names = ("Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo")

    def __init__(self, Wq, Wk, Wv, Wo, bq, bk, bv, bo, heads: int, causal: bool = False):
        self.Wq, self.Wk, self.Wv, self.Wo = Wq, Wk, Wv, Wo
        self.bq, self.bk, self.bv, self.bo = bq, bk, bv, bo
        self.heads = heads
        self.attention = ScaledDotProductAttention(causal=causal)
        self.x = None
        self.concat = None
        self.dWq = self.dWk = self.dWv = self.dWo = None
        self.dbq = self.dbk = self.dbv = self.dbo = None

    def _split(self, y: np.ndarray) -> np.ndarray:
        """(N, T, E) -> (N, heads, T, head_dim)."""
        n, t, e = y.shape
        return y.reshape(n, t, self.heads, e // self.heads).transpose(0, 2, 1, 3)

    def _merge(self, y: np.ndarray) -> np.ndarray:
        """(N, heads, T, head_dim) -> (N, T, E): the inverse of _split."""
        n, h, t, d = y.shape
        return y.transpose(0, 2, 1, 3).reshape(n, t, h * d)

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = x.shape[-1]
        if e % self.heads:
            raise ValueError(f"embedding size {e} is not a multiple of heads={self.heads}")
        self.x = x
        q = self._split(np.matmul(x, self.Wq) + self.bq)
        k = self._split(np.matmul(x, self.Wk) + self.bk)
        v = self._split(np.matmul(x, self.Wv) + self.bv)
        self.concat = self._merge(self.attention.forward(q, k, v))
        return np.matmul(self.concat, self.Wo) + self.bo

    def backward(self, dout: np.ndarray) -> np.ndarray:
        e = self.x.shape[-1]
        # output projection: rows of every batch and time step are independent samples
        concat2d, dout2d = self.concat.reshape(-1, e), dout.reshape(-1, e)
        self.dWo = np.dot(concat2d.T, dout2d)
        self.dbo = np.sum(dout2d, axis=0)
        dconcat = np.matmul(dout, self.Wo.T)
        dq, dk, dv = self.attention.backward(self._split(dconcat))
        x2d = self.x.reshape(-1, e)
        dq2d, dk2d, dv2d = (self._merge(g).reshape(-1, e) for g in (dq, dk, dv))
        self.dWq, self.dbq = np.dot(x2d.T, dq2d), np.sum(dq2d, axis=0)
        self.dWk, self.dbk = np.dot(x2d.T, dk2d), np.sum(dk2d, axis=0)
        self.dWv, self.dbv = np.dot(x2d.T, dv2d), np.sum(dv2d, axis=0)
        # x fed all three projections: its gradient is the sum of the three paths
        dx = np.dot(dq2d, self.Wq.T) + np.dot(dk2d, self.Wk.T) + np.dot(dv2d, self.Wv.T)
        return dx.reshape(self.x.shape)
