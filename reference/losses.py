"""Reference layers: losses.

Every loss here returns a scalar (a 0-d value of the input's dtype) and its backward takes the scalar
upstream gradient `dout` (1 at the end of a network, anything when the loss is used inside one) and
returns the gradient of each differentiable input, scaled by `dout`.

Reductions follow PyTorch's: "mean" divides by the number of elements that were summed (the batch size
for NLLLoss, every element for the elementwise losses), "sum" does not divide.
"""
from __future__ import annotations

import numpy as np

from .functions import sigmoid
from .layers import Layer

__all__: list[str] = ["NLLLoss", "BCEWithLogitsLoss", "MSELoss", "HuberLoss", "SmoothL1Loss"]


class NLLLoss(Layer):
    """Negative log-likelihood of class-index labels, given log-probabilities: -mean_n x[n, t_n].

    x: (N, C) log-probabilities (e.g. the output of a log-softmax; any float works for the gradient),
    t: (N,) integer labels. Only the entry of the true class of each row gets a gradient, -dout / N.
    """

    def __init__(self):
        self.x_shape = None
        self.x_dtype = None
        self.t = None

    def forward(self, x: np.ndarray, t: np.ndarray):
        n = x.shape[0]
        self.x_shape, self.x_dtype = x.shape, x.dtype
        self.t = t.astype(np.intp)
        picked = x[np.arange(n), self.t]  # log-probability of the true class, one per row
        return -np.sum(picked) / n

    def backward(self, dout=1):
        n = self.x_shape[0]
        dx = np.zeros(self.x_shape, dtype=self.x_dtype)
        dx[np.arange(n), self.t] = -dout / n
        return dx


class BCEWithLogitsLoss(Layer):
    """Binary cross-entropy of sigmoid(x) against targets t in [0, 1], from the logits x; mean over
    every element.

    Written as max(x, 0) - x*t + log1p(exp(-|x|)), which equals -[t log s(x) + (1-t) log(1 - s(x))]
    but never overflows (exp of a non-positive number) nor takes log(0). The gradient with respect to
    the logits is the familiar (sigmoid(x) - t) / numel; t gets none (it is a label).
    """

    def __init__(self):
        self.x = None
        self.t = None

    def forward(self, x: np.ndarray, t: np.ndarray):
        self.x, self.t = x, t
        loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        return np.sum(loss) / x.size

    def backward(self, dout=1):
        return dout * (sigmoid(self.x) - self.t) / self.x.size


class MSELoss(Layer):
    """Squared error (y - t)**2, reduced by "mean" (over every element) or "sum", like torch's MSELoss.

    Not the book's MeanSquaredError (0.5 * sum / batch size): no 0.5, so the derivative carries a 2.
    dy = dout * 2 (y - t) / numel (mean) or dout * 2 (y - t) (sum); dt = -dy.
    """

    def __init__(self, reduction: str = "mean"):
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
        self.reduction = reduction
        self.diff = None

    def forward(self, y: np.ndarray, t: np.ndarray):
        self.diff = y - t
        total = np.sum(self.diff**2)
        return total / self.diff.size if self.reduction == "mean" else total

    def backward(self, dout=1):
        dy = dout * 2 * self.diff
        if self.reduction == "mean":
            dy = dy / self.diff.size
        return dy, -dy


class HuberLoss(Layer):
    """Huber loss of d = y - t, mean over every element (torch's HuberLoss):

        0.5 * d**2                   where |d| <= delta
        delta * (|d| - 0.5 * delta)  elsewhere

    Quadratic near zero, linear in the tails. Derivative with respect to d: d inside, delta * sign(d)
    outside; both equal +-delta at |d| = delta, so the loss is C1 there (only the second derivative
    jumps) and the gradient at the seam is unambiguous: no convention to choose.
    """

    def __init__(self, delta: float = 1.0):
        self.delta = float(delta)
        self.diff = None

    def forward(self, y: np.ndarray, t: np.ndarray):
        self.diff = y - t
        a = np.abs(self.diff)
        loss = np.where(a <= self.delta, 0.5 * self.diff**2, self.delta * (a - 0.5 * self.delta))
        return np.sum(loss) / self.diff.size

    def backward(self, dout=1):
        d = self.diff
        # slope d on the quadratic part, +-delta on the linear tails
        dd = np.where(np.abs(d) <= self.delta, d, self.delta * np.sign(d))
        dy = dout * dd / d.size
        return dy, -dy


class SmoothL1Loss(Layer):
    """Smooth L1 loss of d = y - t, mean over every element (torch's SmoothL1Loss):

        0.5 * d**2 / beta   where |d| < beta
        |d| - 0.5 * beta    elsewhere

    It is the Huber loss with delta = beta divided by beta. Derivative: d / beta inside, sign(d)
    outside, both +-1 at |d| = beta (C1, as for Huber). beta must be positive here (PyTorch's beta = 0
    is plain L1, which has a kink at d = 0).
    """

    def __init__(self, beta: float = 1.0):
        if beta <= 0:
            raise ValueError("beta must be positive (beta = 0 is the L1 loss, not handled here)")
        self.beta = float(beta)
        self.diff = None

    def forward(self, y: np.ndarray, t: np.ndarray):
        self.diff = y - t
        a = np.abs(self.diff)
        loss = np.where(a < self.beta, 0.5 * self.diff**2 / self.beta, a - 0.5 * self.beta)
        return np.sum(loss) / self.diff.size

    def backward(self, dout=1):
        d = self.diff
        dd = np.where(np.abs(d) < self.beta, d / self.beta, np.sign(d))
        dy = dout * dd / d.size
        return dy, -dy
