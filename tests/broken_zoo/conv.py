"""Deliberately broken conv layers (format: see tests/broken_layers.py).

Each is the correct reference with one classic convolution / pooling gradient bug. Not here, because no
random tie-free draw can see it: max-pool backward sending the gradient to the *last* maximum of a window
instead of the first (`MaxPoolLastMax`); tests/test_zoo_conv.py catches it at ties, on purpose.
"""
import numpy as np

import reference as R
from oracles.spec import Domain
from broken_layers import broken, broken_spec


#: Each broken variant is checked on one small layout. A failing example is shrunk by Hypothesis
#: (hundreds of examples); on the gate's layouts that took 10-50 s per variant on this machine, on these
#: a few seconds. The bugs do not depend on the shape: any layout with in_c != out_c, H != W and more
#: than one window shows them.
def _one_layout(**sizes):
    return dict(sizes={k: (v,) for k, v in sizes.items()}, layouts=1)


_CONV = _one_layout(n=2, c=2, o=3, h=5, w=4)
_POOL = _one_layout(n=1, c=2, h=4, w=5)
#: The max-pool variants whose bug shows without ties draw plain floats instead of the gate's unique
#: multiples of 1/64: shrinking arrays of unique values took 40 s per variant even on this small layout.
#: Hypothesis may then draw ties; the bugs still differ from every oracle there (each oracle is asked to
#: fail, and the correct layer's ties are the gate's business).
_POOL_FLOATS = Domain(-4.0, 4.0)


def _conv(cls):
    return lambda p, **cfg: cls(p["W"], p.get("b"), **cfg)


class ConvDxKernelNotFlipped(R.Conv2d):
    """dx as the 'full' correlation of dout with the kernel, forgetting to rotate the kernel by 180 degrees
    (stride 1, pad 0, square kernel, groups 1: the base spec `conv2d`)."""

    def backward(self, dout):
        super().backward(dout)  # dW, db stay correct
        O, C, k, _ = self.W.shape
        N, _, H, W = self.x_shape
        col = R.im2col(dout, k, k, pad=k - 1)  # (N*H*W, O*k*k)
        Wt = self.W.transpose(1, 0, 2, 3)  # (C, O, k, k); should be self.W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
        dx = np.dot(col, Wt.reshape(C, -1).T)
        return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def _col2im_kernel_axes_swapped(col, input_shape, kh, kw, stride=1, pad=0, dilation=1):
    """col2im reading the (kh, kw) block of each column transposed (square kernels only)."""
    N, C, H, W = input_shape
    out_h = R.conv_output_size(H, kh, stride, pad, dilation)
    out_w = R.conv_output_size(W, kw, stride, pad, dilation)
    col = col.reshape(N, out_h, out_w, C, kh, kw).transpose(0, 3, 5, 4, 1, 2)  # should be (0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=col.dtype)
    for y in range(kh):
        for x in range(kw):
            img[:, :, y * dilation:y * dilation + stride * out_h:stride, x * dilation:x * dilation + stride * out_w:stride] += col[:, :, y, x]
    return img[:, :, pad:H + pad, pad:W + pad]


class ConvCol2imTransposed(R.Conv2d):
    def backward(self, dout):
        super().backward(dout)
        O, C, kh, kw = self.W.shape
        dcol = np.dot(dout.transpose(0, 2, 3, 1).reshape(-1, O), self.W.reshape(O, -1))
        return _col2im_kernel_axes_swapped(dcol, self.x_shape, kh, kw, self.stride, self.pad, self.dilation)


class ConvDWMissingTranspose(R.Conv2d):
    def backward(self, dout):
        dx = super().backward(dout)
        O, C, kh, kw = self.W.shape
        dout_col = dout.transpose(0, 2, 3, 1).reshape(-1, O)
        self.dW = np.dot(self.col.T, dout_col).reshape(O, C, kh, kw)  # (C*kh*kw, O) needs .T before the reshape
        return dx


class ConvDxPaddingWrong(R.Conv2d):
    """col2im crops the padded gradient image at the wrong offset: [:H, :W] instead of [pad:H+pad, pad:W+pad]."""

    def backward(self, dout):
        super().backward(dout)
        O, C, kh, kw = self.W.shape
        N, _, H, W = self.x_shape
        p = self.pad
        dcol = np.dot(dout.transpose(0, 2, 3, 1).reshape(-1, O), self.W.reshape(O, -1))
        padded = R.col2im(dcol, (N, C, H + 2 * p, W + 2 * p), kh, kw, self.stride, 0, self.dilation)
        return padded[:, :, :H, :W]


class ConvDbWrongAxes(R.Conv2d):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = np.sum(dout.reshape(-1, dout.shape[1]), axis=0)  # channels not moved last before flattening
        return dx


class MaxPoolWholeWindow(R.MaxPool2d):
    def backward(self, dout):
        k2 = self.kernel * self.kernel
        d = dout.transpose(0, 2, 3, 1).reshape(-1, 1)
        dwin = np.repeat(d, k2, axis=1)  # every element of the window, not only the max
        return self._unwindows(dwin, dout.shape)


class MaxPoolLastMax(R.MaxPool2d):
    """Ties go to the last maximum of the window instead of the first. Identical to the reference when
    no window holds two equal maxima: only catchable at ties."""

    def forward(self, x):
        out = super().forward(x)
        win = self._windows(x)
        k2 = win.shape[1]
        self.arg_max = k2 - 1 - np.argmax(win[:, ::-1], axis=1)
        return out


class MaxPoolOverlapAssign(R.MaxPool2d):
    """col2im that assigns instead of adding: an input that is the max of several overlapping windows keeps
    only the last window's gradient."""

    def _unwindows(self, dwin, dout_shape):
        N, C, H, W = self.x_shape
        k, s, p = self.kernel, self.stride, self.pad
        out_h, out_w = dout_shape[2:]
        col = dwin.reshape(N, out_h, out_w, C, k, k).transpose(0, 3, 4, 5, 1, 2)
        img = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dwin.dtype)
        for y in range(k):
            for x in range(k):
                img[:, :, y:y + s * out_h:s, x:x + s * out_w:s] = col[:, :, y, x]  # should be +=
        return img[:, :, p:H + p, p:W + p]


class AvgPoolNotDivided(R.AvgPool2d):
    def backward(self, dout):
        k2 = self.kernel * self.kernel
        d = dout.transpose(0, 2, 3, 1).reshape(-1, 1)
        return self._unwindows(np.repeat(d, k2, axis=1), dout.shape)  # forgot / (k*k)


def _pool(cls):
    return lambda p, **cfg: cls(**cfg)


BROKEN = {
    "conv2d_dx_kernel_not_flipped": broken("conv2d", "conv2d_dx_kernel_not_flipped", _conv(ConvDxKernelNotFlipped), by=["grad_x"], **_CONV),
    "conv2d_col2im_kernel_axes_swapped": broken("conv2d", "conv2d_col2im_kernel_axes_swapped", _conv(ConvCol2imTransposed), by=["grad_x"], **_CONV),
    "conv2d_dW_missing_transpose": broken("conv2d", "conv2d_dW_missing_transpose", _conv(ConvDWMissingTranspose), by=["grad_W"], **_CONV),
    "conv2d_dx_padding_wrong": broken("conv2d_stride2_pad1", "conv2d_dx_padding_wrong", _conv(ConvDxPaddingWrong), by=["grad_x"], **_CONV),
    "conv2d_db_wrong_axes": broken("conv2d", "conv2d_db_wrong_axes", _conv(ConvDbWrongAxes), by=["grad_b"], **_CONV),
    "maxpool2d_grad_to_whole_window": broken("maxpool2d", "maxpool2d_grad_to_whole_window", _pool(MaxPoolWholeWindow), by=["grad_x"],
                                             domain=_POOL_FLOATS, **_POOL),
    "maxpool2d_overlap_assign": broken("maxpool2d_k3_stride1_pad1", "maxpool2d_overlap_assign", _pool(MaxPoolOverlapAssign), by=["grad_x"],
                                       domain=_POOL_FLOATS, **_POOL),
    "avgpool2d_not_divided": broken("avgpool2d", "avgpool2d_not_divided", _pool(AvgPoolNotDivided), by=["grad_x"], **_POOL),
    # the same conv bug in float32 (rtol 1e-5 there)
    "conv2d_dW_missing_transpose_float32": broken("conv2d", "conv2d_dW_missing_transpose_f32", _conv(ConvDWMissingTranspose), by=["grad_W"],
                                                  dtype="float32", **_CONV),
}

#: caught only at a tie in a pooling window (see tests/test_zoo_conv.py)
TIE_ONLY = {
    "maxpool2d_last_max": broken_spec("maxpool2d", "maxpool2d_last_max", _pool(MaxPoolLastMax), **_POOL),
    "maxpool2d_k3_stride1_pad1_last_max": broken_spec("maxpool2d_k3_stride1_pad1", "maxpool2d_k3_stride1_pad1_last_max",
                                                      _pool(MaxPoolLastMax), **_POOL),
}
