"""The seeds' functions: activations, losses, their derivatives and the numerical gradient.

Plain NumPy, written the way "Deep Learning from Scratch" writes them, with the few changes that a
reference needs to be exact (noted where they differ from the book).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), evaluated without overflow for large |x|.

    >>> float(sigmoid(np.array(0.0)))
    0.5
    """
    # exp(-|x|) never overflows; the two branches are the same function written two ways.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def d_sigmoid(x: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid with respect to its input: s(x) * (1 - s(x))."""
    s = sigmoid(x)
    return s * (1.0 - s)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x)."""
    return np.maximum(0, x)


def d_relu(x: np.ndarray) -> np.ndarray:
    """Derivative of relu; 0 at x == 0 (the convention PyTorch and JAX both use)."""
    return (x > 0).astype(x.dtype)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along `axis`, shifted by the maximum so that exp never overflows."""
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) computed as z - log(sum(exp(z))): finite even where softmax underflows to 0."""
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _labels_as_indices(t: np.ndarray, num_classes: int) -> np.ndarray:
    """Class indices from either one-hot rows (any dtype, as in the book: t.size == y.size) or labels."""
    if t.ndim == 2 and t.shape[1] == num_classes:
        return t.argmax(axis=1)
    return t.astype(np.intp).reshape(-1)


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """Mean over the batch of -log y[label], for probabilities `y` of shape (N, C) or (C,).

    `t` holds one-hot rows or class indices. The book adds 1e-7 inside the log to avoid log(0);
    that shifts the loss by up to 1e-7 / y, so here the log argument is floored at the smallest
    normal number of the dtype instead, which only matters where y has underflowed to exactly 0.
    """
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.size == y.size else t.reshape(1)
    idx = _labels_as_indices(t, y.shape[1])
    n = y.shape[0]
    tiny = np.finfo(y.dtype).tiny
    return -np.sum(np.log(np.maximum(y[np.arange(n), idx], tiny))) / n


def mean_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """The book's squared error: 0.5 * sum((y - t)**2), summed over every element (no batch mean).

    The `MeanSquaredError` layer divides this by the batch size; see its docstring.
    """
    return 0.5 * np.sum((y - t) ** 2)


def d_mean_squared_error(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Gradient of `mean_squared_error` with respect to y: y - t."""
    return y - t


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central difference (f(x+h) - f(x-h)) / 2h for every element of `x`, as in the book.

    `x` is perturbed in place one element at a time and restored, so `f` may read it through a
    closure (the book's `lambda W: net.loss(x, t)` idiom).

    >>> g = numerical_gradient(lambda v: float(np.sum(v ** 2)), np.array([1.0, -2.0]))
    >>> np.allclose(g, [2.0, -4.0])
    True
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        orig = x[i]
        x[i] = orig + h
        fxh1 = f(x)
        x[i] = orig - h
        fxh2 = f(x)
        grad[i] = (fxh1 - fxh2) / (2 * h)
        x[i] = orig
        it.iternext()
    return grad
