"""Reference layers: activations.

Elementwise activations (Tanh, LeakyRelu, Elu, Gelu, Softplus) and the normalizing ones (Softmax,
LogSoftmax along any axis). Each caches what its backward needs, never writes into `dout` or its input,
and keeps the input's dtype (float32 in -> float32 out and float32 gradients: constants are Python
floats, which NumPy >= 2 does not let upcast a float32 array).

Conventions at the kinks (what the derivative is exactly on the non-differentiable point), measured on
this machine with torch 2.13.0 and jax 0.10.2 (see the README table):
- LeakyRelu at x = 0: `slope`, the negative side, like Relu (relu'(0) = 0) and like PyTorch; JAX says 1.
- Elu with alpha != 1 at x = 0: `alpha`, the negative side; PyTorch and JAX agree.
"""
from __future__ import annotations

import math

import numpy as np

from .functions import log_softmax, sigmoid, softmax
from .layers import Layer

__all__: list[str] = ["Elu", "Gelu", "LeakyRelu", "LogSoftmax", "Softmax", "Softplus", "Tanh"]

# math.erfc on every element (NumPy has no erf and SciPy is not a dependency). erfc rather than erf:
# Phi(x) = erfc(-x / sqrt 2) / 2 keeps full relative precision in the left tail, where 1 + erf(x / sqrt 2)
# would cancel.
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


class Tanh(Layer):
    """tanh(x); backward uses the cached output: dx = dout * (1 - y**2)."""

    def __init__(self):
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.out**2)


class LeakyRelu(Layer):
    """x for x > 0, slope * x otherwise.

    At x = 0 the derivative is taken as `slope` (the x <= 0 branch), the same side Relu takes (relu'(0) = 0,
    which is this layer with slope 0) and what PyTorch returns; JAX returns 1 there.
    """

    def __init__(self, slope: float = 0.01):
        self.slope = float(slope)
        self.mask = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, self.slope * x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.mask, dout, self.slope * dout)


class Elu(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise.

    dx = dout for x > 0 and dout * alpha * exp(x) = dout * (y + alpha) otherwise. For alpha = 1 both sides
    have slope 1 at 0; for alpha != 1 x = 0 is a kink and the derivative there is alpha (the x <= 0 branch),
    as in PyTorch and JAX.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)
        self.x = None
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        # expm1 is exact near 0; the minimum keeps exp from overflowing on the branch np.where discards
        self.out = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.x > 0, dout, dout * (self.out + self.alpha))


class Gelu(Layer):
    """GELU, x * Phi(x) with Phi the standard normal CDF.

    approximate="none": the exact form, Phi(x) = erfc(-x / sqrt 2) / 2; dx = dout * (Phi(x) + x * phi(x))
      with phi the normal density.
    approximate="tanh": 0.5 * x * (1 + tanh(u)), u = sqrt(2/pi) * (x + 0.044715 x**3);
      dx = dout * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * du/dx), du/dx = sqrt(2/pi) * (1 + 3 * 0.044715 x**2).
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate
        self.x = None
        self.cdf = None
        self.t = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        if self.approximate == "none":
            # erfc is evaluated in float64 (math.erfc) and rounded back to the input's dtype
            self.cdf = (0.5 * _erfc(-x / math.sqrt(2.0))).astype(x.dtype)
            return x * self.cdf
        self.t = np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))
        return 0.5 * x * (1.0 + self.t)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x = self.x
        if self.approximate == "none":
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
            return dout * (self.cdf + x * pdf)
        du = math.sqrt(2.0 / math.pi) * (1.0 + 3.0 * 0.044715 * x * x)
        return dout * (0.5 * (1.0 + self.t) + 0.5 * x * (1.0 - self.t**2) * du)


class Softplus(Layer):
    """log(1 + exp(x)) (beta = 1), exact everywhere; dx = dout * sigmoid(x).

    Written as max(x, 0) + log1p(exp(-|x|)), which never overflows. Unlike PyTorch, no linearization above
    a threshold (PyTorch returns x for x > 20): that would make the forward jump by exp(-20) ~ 2e-9 at 20,
    a step the central differences would read as a gradient spike. The two agree to float64 rounding
    above ~37, where exp(-x) < eps / 2; see the registry entries for where they differ.
    """

    def __init__(self):
        self.x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * sigmoid(self.x)


class Softmax(Layer):
    """softmax along `axis` (shifted by the max, so exp never overflows).

    The Jacobian is diag(y) - y y^T along the axis, so dx = y * (dout - sum(dout * y, axis)).
    """

    def __init__(self, axis: int = -1):
        self.axis = axis
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = softmax(x, axis=self.axis)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = self.out
        return y * (dout - np.sum(dout * y, axis=self.axis, keepdims=True))


class LogSoftmax(Layer):
    """log(softmax(x)) along `axis`, computed as z - log(sum(exp(z))) with z = x - max: finite even where
    softmax underflows to 0 (one logit far above the others).

    d log_softmax_i / d x_j = delta_ij - softmax_j, so dx = dout - softmax(x) * sum(dout, axis).
    """

    def __init__(self, axis: int = -1):
        self.axis = axis
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = log_softmax(x, axis=self.axis)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout - np.exp(self.out) * np.sum(dout, axis=self.axis, keepdims=True)
