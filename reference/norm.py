"""Reference layers: norm (BatchNorm, LayerNorm, RMSNorm).

Each normalizes x to zero mean / unit variance (RMSNorm: unit root-mean-square) over some axes, then
scales by gamma (and shifts by beta). In training mode the statistics depend on x, so backward carries the
gradient through the mean and the variance, not only through the division.
"""
from __future__ import annotations

import numpy as np

from .layers import Layer

__all__: list[str] = ["BatchNorm", "LayerNorm", "RMSNorm"]


def _mean(x, axis, keepdims=False):
    """Mean accumulated in (at least) float64, returned in x's dtype.

    A float32 sum of equal values is not exact, so a constant channel would be centred to ~1e-7 instead
    of 0 and then divided by sqrt(eps): x_hat ~ 1e-5 where PyTorch and JAX give exactly 0 (found by the
    soak, seed 1: dgamma 1.3e-5 against 0.0). Accumulating in float64 makes the mean of equal float32
    values exact.
    """
    return x.mean(axis=axis, dtype=np.float64, keepdims=keepdims).astype(x.dtype)


class BatchNorm(Layer):
    """Batch normalization, as in "Deep Learning from Scratch" (BatchNormalization), with eps explicit.

    x of shape (N, D) is normalized per feature over the batch; x of shape (N, C, H, W) per channel over
    (N, H, W) (like PyTorch's BatchNorm2d; the book instead flattens to (N, C*H*W)). gamma, beta: (D,) or (C,).

    forward(x, train_flg=True):
      training:   xn = (x - mean) / sqrt(var + eps) with the batch mean and the biased batch variance;
      evaluation: xn = (x - running_mean) / sqrt(running_var + eps).
      out = gamma * xn + beta.

    Running statistics (updated by each training forward), the book's momentum convention:
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var  = momentum * running_var  + (1 - momentum) * var * m / (m - 1)
    `momentum` weighs the OLD value (default 0.9); PyTorch's `momentum` weighs the NEW one, so this layer
    with momentum=m matches PyTorch with momentum=1-m. Like PyTorch (and unlike the book) running_var takes
    the UNBIASED batch variance (m = number of values per feature: N, or N*H*W), and the running statistics
    start at mean 0, variance 1 (the book starts both at 0). tests/test_zoo_norm.py checks this against
    torch.nn.functional.batch_norm.
    """

    param_names = ("gamma", "beta")

    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None, eps=1e-5):
        self.gamma = gamma
        self.beta = beta
        self.momentum = momentum
        self.running_mean = running_mean
        self.running_var = running_var
        self.eps = eps
        self.input_shape = None
        self.train_flg = None
        self.batch_size = None
        self.xc = None
        self.xn = None
        self.std = None
        self.dgamma = None
        self.dbeta = None

    def forward(self, x, train_flg=True):
        self.input_shape = x.shape
        if x.ndim == 4:  # (N, C, H, W) -> (N*H*W, C): one column per channel
            N, C, H, W = x.shape
            x = x.transpose(0, 2, 3, 1).reshape(-1, C)
        out = self._forward(x, train_flg)
        if len(self.input_shape) == 4:
            out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
        return out

    def _forward(self, x, train_flg):
        D = x.shape[1]
        if self.running_mean is None:
            self.running_mean = np.zeros(D, dtype=x.dtype)
            self.running_var = np.ones(D, dtype=x.dtype)
        self.train_flg = train_flg
        if train_flg:
            m = x.shape[0]
            if m < 2:
                raise ValueError("BatchNorm in training mode needs more than one value per feature")
            mu = _mean(x, axis=0)
            xc = x - mu
            var = np.mean(xc**2, axis=0)  # biased: this is what normalizes
            std = np.sqrt(var + self.eps)
            xn = xc / std
            self.batch_size = m
            self.xc = xc
            self.xn = xn
            self.std = std
            # the running variance estimates the population's: unbiased, as in PyTorch
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var * (m / (m - 1))
        else:
            xc = x - self.running_mean
            self.std = np.sqrt(self.running_var + self.eps)
            xn = xc / self.std
            self.xn = xn
        return self.gamma * xn + self.beta

    def backward(self, dout):
        if dout.ndim == 4:
            N, C, H, W = dout.shape
            dout = dout.transpose(0, 2, 3, 1).reshape(-1, C)
        dx = self._backward(dout)
        if len(self.input_shape) == 4:
            dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
        return dx

    def _backward(self, dout):
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        if not self.train_flg:  # the running statistics are constants
            return dxn / self.std
        # the book's computational graph, node by node: through xc / std, std, var, and the mean
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc = dxc + (2.0 / self.batch_size) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        return dxc - dmu / self.batch_size


class LayerNorm(Layer):
    """Layer normalization over the last k axes, k = gamma.ndim (gamma, beta have the shape of those axes).

    xn = (x - mean) / sqrt(var + eps), mean and biased variance over the last k axes of each example;
    out = gamma * xn + beta. Backward goes through the mean and the variance:
        dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / sqrt(var + eps),  dxn = dout * gamma.
    """

    param_names = ("gamma", "beta")

    def __init__(self, gamma, beta, eps=1e-5):
        self.gamma = gamma
        self.beta = beta
        self.eps = eps
        self.axes = tuple(range(-np.ndim(gamma), 0))
        self.xn = None
        self.std = None
        self.dgamma = None
        self.dbeta = None

    def forward(self, x):
        mu = _mean(x, axis=self.axes, keepdims=True)
        xc = x - mu
        var = np.mean(xc**2, axis=self.axes, keepdims=True)
        self.std = np.sqrt(var + self.eps)
        self.xn = xc / self.std
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        lead = tuple(range(dout.ndim - len(self.axes)))  # the axes gamma was broadcast over
        self.dgamma = np.sum(dout * self.xn, axis=lead)
        self.dbeta = np.sum(dout, axis=lead)
        dxn = dout * self.gamma
        mean_dxn = dxn.mean(axis=self.axes, keepdims=True)
        mean_dxn_xn = (dxn * self.xn).mean(axis=self.axes, keepdims=True)
        return (dxn - mean_dxn - self.xn * mean_dxn_xn) / self.std


class RMSNorm(Layer):
    """Root-mean-square normalization over the last axis: out = x / sqrt(mean(x**2) + eps) * gamma.

    No mean is subtracted and there is no beta. With r = 1 / sqrt(mean(x**2) + eps) and xn = x * r,
    backward includes the term through r:  dx = r * (dxn - xn * mean(dxn * xn)),  dxn = dout * gamma.
    """

    param_names = ("gamma",)

    def __init__(self, gamma, eps=1e-6):
        self.gamma = gamma
        self.eps = eps
        self.r = None
        self.xn = None
        self.dgamma = None

    def forward(self, x):
        self.r = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps)
        self.xn = x * self.r
        return self.xn * self.gamma

    def backward(self, dout):
        self.dgamma = np.sum(dout * self.xn, axis=tuple(range(dout.ndim - 1)))
        dxn = dout * self.gamma
        return self.r * (dxn - self.xn * np.mean(dxn * self.xn, axis=-1, keepdims=True))
