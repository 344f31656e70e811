"""Reference layers: misc (Dropout, Embedding)."""
from __future__ import annotations

import numpy as np

from .layers import Layer

__all__: list[str] = ["Dropout", "Embedding"]


class Dropout(Layer):
    """Inverted dropout: in training, each unit is kept with probability 1 - p and scaled by 1 / (1 - p),
    so evaluation is the identity (the book's Dropout scales at evaluation time instead).

    forward(x, mask=None, train_flg=True): `mask` (same shape as x, 0/1 or bool: 1 = kept) may be given,
    so a test can replay the exact units dropped; without it the mask is drawn from the layer's own
    generator, seeded by `seed`. backward applies the same mask and the same scale.
    """

    def __init__(self, p=0.5, seed=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.mask = None
        self.train_flg = None

    def forward(self, x, mask=None, train_flg=True):
        self.train_flg = train_flg
        if not train_flg:
            return x.copy()
        if mask is None:
            mask = self.rng.random(x.shape) >= self.p
        self.mask = np.asarray(mask).astype(bool)  # bool: x * mask keeps x's dtype
        return x * self.mask / (1.0 - self.p)

    def backward(self, dout):
        if not self.train_flg:
            return dout.copy()
        return dout * self.mask / (1.0 - self.p)


class Embedding(Layer):
    """Row lookup out = W[idx], as in the book's Embedding (idx: integers of any shape, W: (V, D)).

    An index may repeat; each occurrence adds its upstream gradient to its row, so backward accumulates
    with np.add.at (dW[idx] = dout would keep only the last occurrence). idx has no gradient.
    """

    param_names = ("W",)

    def __init__(self, W):
        self.W = W
        self.idx = None
        self.dW = None

    def forward(self, idx):
        self.idx = idx
        return self.W[idx]

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        np.add.at(self.dW, self.idx, dout)
        return None
