"""Optimizers in the style of "Deep Learning from Scratch": `update(params, grads)` changes the arrays
in `params` in place (so the layers that hold them see the new values) and keeps their dtype.

`params` and `grads` are dicts keyed alike, e.g. `Sequential.params()` / `Sequential.grads()` ("0.W",
"0.b", ...). State (velocities, accumulators, moments) is created lazily on the first update, one array
per key, with the parameter's shape and dtype. Every hyper-parameter is a Python float, so float32
parameters stay float32 all the way through (NumPy 2 does not promote float32 arrays by Python scalars).

How each one relates to PyTorch (`tests/test_optimizers.py` runs K steps of both and compares):

- `SGD`:      w <- w - lr * g                                  == torch.optim.SGD(lr=lr)
- `Momentum`: v <- momentum * v - lr * g;  w <- w + v         (the book's convention)
              torch.optim.SGD(lr, momentum) keeps b <- momentum * b + g;  w <- w - lr * b.
              With v0 = b0 = 0 and a constant lr, v_t = -lr * b_t at every step (induction:
              v_t = mu * v_{t-1} - lr * g_t = -lr * (mu * b_{t-1} + g_t) = -lr * b_t), so the two give the
              same weights; they part ways as soon as lr changes between steps (the book's velocity keeps
              the old lr inside it, torch's buffer does not).
- `AdaGrad`:  h <- h + g * g;  w <- w - lr * g / (sqrt(h) + eps), eps = 1e-7 as in the book
              == torch.optim.Adagrad(lr, eps=1e-7) (torch also adds eps after the square root, with
              initial_accumulator_value=0 and lr_decay=0 by default; only its default eps, 1e-10, differs).
- `Adam`:     torch.optim.Adam's formula and defaults (lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
              m <- b1 * m + (1 - b1) * g;  v <- b2 * v + (1 - b2) * g * g
              w <- w - (lr / (1 - b1**t)) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)
              i.e. w -= lr * m_hat / (sqrt(v_hat) + eps), eps added to the bias-corrected sqrt(v_hat).
              The book's Adam differs slightly: it folds both corrections into the learning rate,
              lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t), and divides by sqrt(v) + 1e-7, which puts its eps
              on the *uncorrected* sqrt(v) (an effective eps of 1e-7 / sqrt(1 - b2**t), about 3e-6 at t = 1)
              with a different default value. Here torch's version is the one implemented.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["SGD", "Momentum", "AdaGrad", "Adam"]


class SGD:
    """Stochastic gradient descent: w <- w - lr * grad."""

    def __init__(self, lr: float = 0.01):
        self.lr = float(lr)

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for key in params:
            params[key] -= self.lr * grads[key]


class Momentum:
    """The book's momentum: v <- momentum * v - lr * grad; w <- w + v (v starts at 0).

    Equal to torch.optim.SGD(lr, momentum) for a constant lr; see the module docstring.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.v: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self.v is None:
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params:
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class AdaGrad:
    """h <- h + grad * grad; w <- w - lr * grad / (sqrt(h) + eps), eps = 1e-7 (the book's).

    Equal to torch.optim.Adagrad(lr, eps=1e-7); see the module docstring.
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-7):
        self.lr = float(lr)
        self.eps = float(eps)
        self.h: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self.h is None:
            self.h = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params:
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)


class Adam:
    """Adam exactly as torch.optim.Adam computes it (defaults lr=1e-3, betas=(0.9, 0.999), eps=1e-8):

        t += 1
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g * g
        w <- w - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    This is *not* the book's Adam, which uses lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) and divides
    by sqrt(v) + 1e-7 (eps on the uncorrected second moment, and a different eps); the two differ by
    where eps sits, which matters when sqrt(v) is comparable to eps. See the module docstring.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = float(lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.iter = 0
        self.m: dict[str, np.ndarray] | None = None
        self.v: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self.m is None:
            self.m = {key: np.zeros_like(val) for key, val in params.items()}
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        self.iter += 1
        # Python floats (double precision), as torch computes them on the host.
        step_size = self.lr / (1.0 - self.beta1**self.iter)
        bias_correction2_sqrt = math.sqrt(1.0 - self.beta2**self.iter)
        for key in params:
            g = grads[key]
            self.m[key] = self.beta1 * self.m[key] + (1.0 - self.beta1) * g
            self.v[key] = self.beta2 * self.v[key] + (1.0 - self.beta2) * (g * g)
            denom = np.sqrt(self.v[key]) / bias_correction2_sqrt + self.eps
            params[key] -= step_size * self.m[key] / denom
