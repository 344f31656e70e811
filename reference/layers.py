"""Layers with explicit forward and backward, in the style of "Deep Learning from Scratch".

Protocol (what the harness relies on, and all a custom layer needs):
- `forward(*inputs)` returns the output and caches what backward needs;
- `backward(dout)` returns the gradient of every input: one array for one input, a tuple for several;
- each trainable parameter is an attribute (`W`) with its gradient beside it (`dW`), filled by backward,
  and `param_names` lists them so nobody has to guess.

Unlike the book, no backward writes into `dout` (the book's `Relu.backward` does `dout[mask] = 0`,
which silently changes the caller's array).
"""
from __future__ import annotations

import numpy as np

from .functions import log_softmax, sigmoid, softmax


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` back down to `shape`: the adjoint of NumPy broadcasting `shape` up to grad.shape."""
    grad = np.asarray(grad)
    # Leading axes that broadcasting added.
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    # Axes that were 1 and got stretched.
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Layer:
    """Optional base class: holds the parameter list and the two helpers the harness uses."""

    param_names: tuple[str, ...] = ()

    def params(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.param_names}

    def grads(self) -> dict[str, np.ndarray | None]:
        return {name: getattr(self, "d" + name, None) for name in self.param_names}


class Affine(Layer):
    """out = x @ W + b, for x of shape (N, ...) flattened to (N, D) as in the book.

    >>> layer = Affine(np.ones((3, 2)), np.zeros(2))
    >>> layer.forward(np.ones((4, 3))).shape
    (4, 2)
    >>> layer.backward(np.ones((4, 2))).shape, layer.dW.shape, layer.db.shape
    ((4, 3), (3, 2), (2,))
    """

    param_names = ("W", "b")

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(self.original_x_shape)


class Relu(Layer):
    """max(0, x). Convention at the kink: relu'(0) = 0 (PyTorch and JAX agree)."""

    def __init__(self):
        self.mask = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.mask, np.zeros_like(dout), dout)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)); backward uses the cached output: dx = dout * y * (1 - y)."""

    def __init__(self):
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.out) * self.out


class SoftmaxWithLoss(Layer):
    """Softmax over the last axis followed by cross-entropy, averaged over the batch.

    `t` is either one-hot rows of shape (N, C) or class indices of shape (N,). The loss is
    -mean_n log softmax(x)[n, t_n], computed through log-softmax so that large logits stay finite;
    backward returns dout * (softmax(x) - onehot(t)) / N, the gradient with respect to x only.
    """

    def __init__(self):
        self.y = None
        self.t_onehot = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        n, c = x.shape
        if t.shape == x.shape:
            self.t_onehot = t.astype(x.dtype)
        else:
            self.t_onehot = np.zeros_like(x)
            self.t_onehot[np.arange(n), t.astype(np.intp)] = 1
        self.y = softmax(x)
        return -np.sum(self.t_onehot * log_softmax(x)) / n

    def backward(self, dout: float = 1) -> np.ndarray:
        batch_size = self.y.shape[0]
        return dout * (self.y - self.t_onehot) / batch_size


class MeanSquaredError(Layer):
    """Squared error averaged over the batch: loss = 0.5 * sum((y - t)**2) / N.

    N is the size of the first axis, the same reduction as `SoftmaxWithLoss`, so that a learning
    rate means the same with either loss. Both inputs get a gradient: dy = dout * (y - t) / N and
    dt = -dy.
    """

    def __init__(self):
        self.diff = None

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        self.diff = y - t
        return 0.5 * np.sum(self.diff**2) / y.shape[0]

    def backward(self, dout: float = 1) -> tuple[np.ndarray, np.ndarray]:
        dy = dout * self.diff / self.diff.shape[0]
        return dy, -dy


class AddLayer(Layer):
    """out = x + y, for scalars or arrays of broadcastable shapes; backward sums over broadcast axes."""

    def __init__(self):
        self.x_shape = None
        self.y_shape = None

    def forward(self, x, y):
        self.x_shape, self.y_shape = np.shape(x), np.shape(y)
        return x + y

    def backward(self, dout):
        return unbroadcast(dout, self.x_shape), unbroadcast(dout, self.y_shape)


class MulLayer(Layer):
    """out = x * y, for scalars or arrays of broadcastable shapes: dx = dout * y, dy = dout * x."""

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        dx = unbroadcast(dout * self.y, np.shape(self.x))
        dy = unbroadcast(dout * self.x, np.shape(self.y))
        return dx, dy
