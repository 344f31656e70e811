"""Reference layers: structure (layers that move values around without computing anything new).

Their backward passes route the upstream gradient back to where each value came from: a reshape
is undone, a concatenation is split at the same offsets along the same axis. Elementwise addition and
multiplication with broadcasting (a bias of shape (C, 1, 1) on NCHW data, a residual connection) are
`AddLayer` and `MulLayer` in layers.py, whose backward sums the gradient over the broadcast axes.
"""
from __future__ import annotations

import numpy as np

from .layers import Layer

__all__: list[str] = ["Flatten", "Reshape", "Concat"]


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...): keeps the batch axis, flattens the rest (C order, like
    torch.flatten(x, 1)). Backward reshapes the gradient back to the input's shape."""

    def __init__(self):
        self.x_shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.x_shape)


class Reshape(Layer):
    """x.reshape(shape) in C order (one entry of `shape` may be -1). Backward reshapes back."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)
        self.x_shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.x_shape)


class Concat(Layer):
    """Concatenation of several arrays along `axis` (their other axes must agree).

    Backward splits the upstream gradient along the same axis at the same offsets: input k receives
    the slice [offset_k, offset_k + size_k), where offset_k is the sum of the sizes before it.
    """

    def __init__(self, axis: int = -1):
        self.axis = axis
        self.sizes = None

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self.sizes = [x.shape[self.axis] for x in xs]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, ...]:
        offsets = np.cumsum(self.sizes)[:-1]  # where each input after the first begins
        return tuple(np.split(dout, offsets, axis=self.axis))
