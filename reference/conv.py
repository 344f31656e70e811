"""Reference layers: convolution and pooling on NCHW arrays, through im2col / col2im as in
"Deep Learning from Scratch" (chapter 7), extended for dilation and groups.

im2col turns every receptive field into one row, so a convolution is one matrix product and a pooling
is a reduction along each row; col2im is its adjoint (it scatters rows back and *adds* where receptive
fields overlap), which is exactly what backward needs.
"""
from __future__ import annotations

import numpy as np

from .layers import Layer

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "im2col", "col2im", "conv_output_size"]


def conv_output_size(size: int, k: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: the dilated kernel spans dilation*(k-1)+1 input positions."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def im2col(x, kh, kw, stride=1, pad=0, dilation=1, fill=0.0):
    """(N, C, H, W) -> (N*out_h*out_w, C*kh*kw): one row per output position, columns ordered (C, kh, kw).

    `fill` is the value of the padding (0 for convolution and average pooling, -inf for max pooling).
    """
    N, C, H, W = x.shape
    out_h = conv_output_size(H, kh, stride, pad, dilation)
    out_w = conv_output_size(W, kw, stride, pad, dilation)
    img = np.full((N, C, H + 2 * pad, W + 2 * pad), fill, dtype=x.dtype)  # (np.pad does the same, 10x slower)
    img[:, :, pad:pad + H, pad:pad + W] = x
    col = np.zeros((N, C, kh, kw, out_h, out_w), dtype=x.dtype)
    for y in range(kh):
        y0 = y * dilation  # kernel row y reads input rows y0, y0+stride, ...
        y_end = y0 + stride * (out_h - 1) + 1
        for x_ in range(kw):
            x0 = x_ * dilation
            x_end = x0 + stride * (out_w - 1) + 1
            col[:, :, y, x_, :, :] = img[:, :, y0:y_end:stride, x0:x_end:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def col2im(col, input_shape, kh, kw, stride=1, pad=0, dilation=1):
    """The adjoint of im2col: (N*out_h*out_w, C*kh*kw) -> (N, C, H, W), adding where fields overlap."""
    N, C, H, W = input_shape
    out_h = conv_output_size(H, kh, stride, pad, dilation)
    out_w = conv_output_size(W, kw, stride, pad, dilation)
    col = col.reshape(N, out_h, out_w, C, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=col.dtype)
    for y in range(kh):
        y0 = y * dilation
        y_end = y0 + stride * (out_h - 1) + 1
        for x_ in range(kw):
            x0 = x_ * dilation
            x_end = x0 + stride * (out_w - 1) + 1
            # +=, not =: an input position read by several kernel taps gets all their gradients
            img[:, :, y0:y_end:stride, x0:x_end:stride] += col[:, :, y, x_, :, :]
    return img[:, :, pad:H + pad, pad:W + pad]  # the padding has no gradient: cut it off


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in every framework): x (N, C, H, W), W (O, C/groups, kh, kw),
    optional b (O,) -> (N, O, out_h, out_w).

    groups splits the C input channels and the O filters into `groups` blocks; block g of the output
    sees only block g of the input. Each block is the book's convolution: im2col, then one matrix product.
    """

    def __init__(self, W, b=None, stride=1, pad=0, dilation=1, groups=1):
        self.W = W
        self.b = b
        self.stride, self.pad, self.dilation, self.groups = stride, pad, dilation, groups
        self.param_names = ("W",) if b is None else ("W", "b")
        self.x_shape = None
        self.col = None
        self.dW = None
        self.db = None

    def forward(self, x):
        O, Cg, kh, kw = self.W.shape
        N, C, H, W = x.shape
        G = self.groups
        if C != Cg * G or O % G:
            raise ValueError(f"channels must split evenly into groups: input has {C} channels and W {O} filters "
                             f"of {Cg} channels each, groups={G}")
        Og = O // G
        out_h = conv_output_size(H, kh, self.stride, self.pad, self.dilation)
        out_w = conv_output_size(W, kw, self.stride, self.pad, self.dilation)

        # Columns are ordered (C, kh, kw), so group g's input channels are one contiguous block of columns.
        self.col = im2col(x, kh, kw, self.stride, self.pad, self.dilation)
        K = Cg * kh * kw
        out = np.concatenate(
            [
                np.dot(self.col[:, g * K:(g + 1) * K], self.W[g * Og:(g + 1) * Og].reshape(Og, K).T)
                for g in range(G)
            ],
            axis=1,
        )  # (N*out_h*out_w, O)
        if self.b is not None:
            out = out + self.b
        self.x_shape = x.shape
        return out.reshape(N, out_h, out_w, O).transpose(0, 3, 1, 2)

    def backward(self, dout):
        O, Cg, kh, kw = self.W.shape
        G = self.groups
        Og, K = O // G, Cg * kh * kw
        dout_col = dout.transpose(0, 2, 3, 1).reshape(-1, O)  # rows match im2col's rows

        if self.b is not None:
            self.db = np.sum(dout, axis=(0, 2, 3))  # the bias is added at every (n, y, x)
        dW, dcol = [], []
        for g in range(G):
            d = dout_col[:, g * Og:(g + 1) * Og]
            Wg = self.W[g * Og:(g + 1) * Og].reshape(Og, K)
            # forward was col @ Wg.T, so dWg = (col.T @ d).T, back in the (Og, Cg, kh, kw) layout
            dW.append(np.dot(self.col[:, g * K:(g + 1) * K].T, d).T.reshape(Og, Cg, kh, kw))
            dcol.append(np.dot(d, Wg))
        self.dW = np.concatenate(dW, axis=0)
        return col2im(np.concatenate(dcol, axis=1), self.x_shape, kh, kw, self.stride, self.pad, self.dilation)


class _Pool2d(Layer):
    """Pooling over kernel x kernel windows of each channel, via im2col with one channel per row."""

    fill = 0.0

    def __init__(self, kernel, stride=None, pad=0):
        self.kernel = kernel
        self.stride = kernel if stride is None else stride
        self.pad = pad
        self.x_shape = None

    def _windows(self, x):
        """(N, C, H, W) -> (N*out_h*out_w*C, k*k): one window per row, taps in row-major order."""
        k = self.kernel
        col = im2col(x, k, k, self.stride, self.pad, fill=self.fill)
        return col.reshape(-1, k * k)

    def _unwindows(self, dwin, dout_shape):
        """Adjoint of _windows: (N*out_h*out_w*C, k*k) window gradients -> (N, C, H, W)."""
        N, C, out_h, out_w = dout_shape
        k = self.kernel
        return col2im(dwin.reshape(N * out_h * out_w, -1), self.x_shape, k, k, self.stride, self.pad)

    def _to_nchw(self, rows, x_shape):
        N, C, H, W = x_shape
        out_h = conv_output_size(H, self.kernel, self.stride, self.pad)
        out_w = conv_output_size(W, self.kernel, self.stride, self.pad)
        return rows.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)


class MaxPool2d(_Pool2d):
    """Max over each window; the padding is -inf (it never wins), as in PyTorch.

    Ties: the whole gradient of a window goes to its *first* maximum in row-major order (np.argmax),
    which is what PyTorch's max_pool2d and JAX's reduce_window max (select_and_scatter_add) do. Windows
    that overlap pick their maxima independently and their gradients add up.
    """

    fill = -np.inf

    def __init__(self, kernel, stride=None, pad=0):
        super().__init__(kernel, stride, pad)
        self.arg_max = None

    def forward(self, x):
        self.x_shape = x.shape
        win = self._windows(x)
        self.arg_max = np.argmax(win, axis=1)  # first maximum on ties
        return self._to_nchw(np.max(win, axis=1), x.shape)

    def backward(self, dout):
        k2 = self.kernel * self.kernel
        d = dout.transpose(0, 2, 3, 1).reshape(-1)  # same row order as the windows
        dwin = np.zeros((d.size, k2), dtype=dout.dtype)
        dwin[np.arange(d.size), self.arg_max] = d
        return self._unwindows(dwin, dout.shape)


class AvgPool2d(_Pool2d):
    """Mean over each window; zero padding counts in the mean (PyTorch's count_include_pad=True)."""

    def forward(self, x):
        self.x_shape = x.shape
        return self._to_nchw(np.mean(self._windows(x), axis=1), x.shape)

    def backward(self, dout):
        k2 = self.kernel * self.kernel
        d = dout.transpose(0, 2, 3, 1).reshape(-1, 1)
        dwin = np.repeat(d / k2, k2, axis=1)  # every tap of a window gets 1/(k*k) of its gradient
        return self._unwindows(dwin, dout.shape)


class GlobalAvgPool(Layer):
    """Mean over H and W: (N, C, H, W) -> (N, C)."""

    def __init__(self):
        self.x_shape = None

    def forward(self, x):
        self.x_shape = x.shape
        return np.mean(x, axis=(2, 3))

    def backward(self, dout):
        N, C, H, W = self.x_shape
        return np.broadcast_to(dout[:, :, None, None] / (H * W), self.x_shape).copy()
