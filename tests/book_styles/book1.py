"""Layers of this project written in the style of "Deep Learning from Scratch" (book 1): one class per
layer, parameters as attributes, `forward(x, ...)`, `backward(dout)` returning the input gradient, parameter
gradients as attributes `dW`, `db`, ... Written for this project (no code copied from the book); where the
book's own habit would make a correct layer fail a check, the difference is said at the class.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class Affine:
    """out = x W + b, an N-d input flattened to (N, -1) (restored in backward)."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.x_shape = self.dW = self.db = None

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.x_shape)


class Relu:
    """The book zeroes `dout` in place (`dout[mask] = 0`): the harness reports that as a hazard (the
    caller's upstream gradient changes), so this one zeroes a copy."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class SoftmaxWithLoss:
    """Mean cross-entropy of softmax(x) against index labels t. The loss is computed from a log-softmax (the
    book adds 1e-7 inside the log, which moves the loss off the plain math by up to ~1e-7 / p) and backward
    multiplies by dout (the book's one-hot branch ignores it: a random cotangent catches that)."""

    def __init__(self):
        self.y = self.t = None

    def forward(self, x, t):
        self.t = t
        logp = _log_softmax(x)
        self.y = np.exp(logp)
        return -logp[np.arange(x.shape[0]), t].mean()

    def backward(self, dout=1):
        n = self.y.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx * (dout / n)


class BatchNormalization:
    """Training mode: batch mean and (biased) variance, gradient through both; `forward(x, train_flg)`.
    Running statistics are kept (momentum as in the book); eval mode uses them."""

    def __init__(self, gamma, beta, momentum=0.9, eps=1e-5):
        self.gamma, self.beta, self.momentum, self.eps = gamma, beta, momentum, eps
        self.running_mean = self.running_var = None
        self.xc = self.xn = self.std = self.dgamma = self.dbeta = None

    def forward(self, x, train_flg=True):
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1], x.dtype), np.ones(x.shape[1], x.dtype)
        if not train_flg:
            return self.gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + self.beta
        self.xc = x - x.mean(axis=0)
        var = (self.xc ** 2).mean(axis=0)
        self.std = np.sqrt(var + self.eps)
        self.xn = self.xc / self.std
        m = self.momentum
        self.running_mean = m * self.running_mean + (1 - m) * x.mean(axis=0)
        self.running_var = m * self.running_var + (1 - m) * var
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (self.xn * dout).sum(axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -((dxn * self.xc) / (self.std * self.std)).sum(axis=0)
        dvar = 0.5 * dstd / self.std
        dxc = dxc + (2.0 / n) * self.xc * dvar
        return dxc - dxc.sum(axis=0) / n


def im2col(x, fh, fw, stride=1, pad=0):
    """(N, C, H, W) -> (N*OH*OW, C*fh*fw): one row per output position."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    cols = np.empty((n, c, fh, fw, oh, ow), dtype=x.dtype)
    for i in range(fh):
        for j in range(fw):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(cols, shape, fh, fw, stride=1, pad=0):
    """The adjoint of im2col: rows back to (N, C, H, W), overlapping windows summed."""
    n, c, h, w = shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    cols = cols.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(fh):
        for j in range(fw):
            out[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += cols[:, :, i, j]
    return out[:, :, pad:pad + h, pad:pad + w]


class Convolution:
    """NCHW cross-correlation with filters W (FN, C, FH, FW) and bias b (FN,), by im2col."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.x_shape = self.col = self.col_W = self.dW = self.db = None

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = (h + 2 * self.pad - fh) // self.stride + 1, (w + 2 * self.pad - fw) // self.stride + 1
        self.x_shape, self.col = x.shape, im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).T.reshape(fn, c, fh, fw)
        return col2im(dout @ self.col_W.T, self.x_shape, fh, fw, self.stride, self.pad)


class Pooling:
    """Max pooling over pool_h x pool_w windows (the gradient goes to each window's first maximum)."""

    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad
        self.x_shape = self.arg_max = None

    def forward(self, x):
        n, c, h, w = x.shape
        oh = (h + 2 * self.pad - self.pool_h) // self.stride + 1
        ow = (w + 2 * self.pad - self.pool_w) // self.stride + 1
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad).reshape(-1, self.pool_h * self.pool_w)
        self.x_shape, self.arg_max = x.shape, col.argmax(axis=1)
        return col.max(axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        size = self.pool_h * self.pool_w
        dout = dout.transpose(0, 2, 3, 1).reshape(-1)
        dmax = np.zeros((dout.size, size), dtype=dout.dtype)
        dmax[np.arange(dout.size), self.arg_max] = dout
        return col2im(dmax, self.x_shape, self.pool_h, self.pool_w, self.stride, self.pad)


class Dropout:
    """Book-style dropout: in training units are dropped with probability `ratio`; at test time the output
    is scaled by (1 - ratio). `seed`: draw the same mask at every call (np.random otherwise), so a check can
    give the math that mask."""

    def __init__(self, ratio=0.5, seed=None):
        self.ratio, self.seed, self.mask = ratio, seed, None

    def forward(self, x, train_flg=True):
        if not train_flg:
            self.mask = None
            return x * (1.0 - self.ratio)
        self.mask = keep_mask(x.shape, self.ratio, self.seed)
        return x * self.mask

    def backward(self, dout):
        return dout * (1.0 - self.ratio) if self.mask is None else dout * self.mask


def keep_mask(shape, ratio, seed=None):
    """The units kept: random with `seed` (the same mask for the same shape every time), else np.random."""
    u = np.random.rand(*shape) if seed is None else np.random.default_rng(seed).random(tuple(shape))
    return u > ratio
