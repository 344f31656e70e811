"""Layers of this project written in the style of "Deep Learning from Scratch 2" (book 2): parameters in a
list `self.params`, their gradients in a list `self.grads` of the same order, written in place by backward
(`self.grads[0][...] = dW`); recurrent cells take and return states; time layers loop a cell over T.
Written for this project (no code copied from the book). Buffers take the input's dtype (the book's
`np.empty(..., dtype='f')` would compute a float64 check in float32).
"""
from __future__ import annotations

import numpy as np

from .book1 import _log_softmax, _sigmoid


class MatMul:
    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        self.x = x
        return x @ self.params[0]

    def backward(self, dout):
        W, = self.params
        self.grads[0][...] = self.x.T @ dout
        return dout @ W.T


class Affine:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        self.x = x
        return x @ W + b

    def backward(self, dout):
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W.T


class Embedding:
    """Rows of W picked by integer ids; backward scatters dout back (np.add.at: repeated ids accumulate)."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        self.idx = idx
        return self.params[0][idx]

    def backward(self, dout):
        dW, = self.grads
        dW[...] = 0
        np.add.at(dW, self.idx, dout)
        return None


class RNN:
    """One tanh step: h_next = tanh(h_prev Wh + x Wx + b); forward(x, h_prev), backward -> (dx, dh_prev)."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        h_next = np.tanh(h_prev @ Wh + x @ Wx + b)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, _ = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1.0 - h_next ** 2)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class LSTM:
    """One LSTM step, gates packed f, g, i, o along the 4H axis: forward(x, h_prev, c_prev) -> (h_next,
    c_next); backward(dh_next, dc_next) -> (dx, dh_prev, dc_prev)."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        H = h_prev.shape[1]
        a = x @ Wx + h_prev @ Wh + b
        f, g, i, o = _sigmoid(a[:, :H]), np.tanh(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, f, g, i, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, _ = self.params
        x, h_prev, c_prev, f, g, i, o, c_next = self.cache
        tc = np.tanh(c_next)
        ds = dc_next + dh_next * o * (1.0 - tc ** 2)
        da = np.hstack((ds * c_prev * f * (1 - f), ds * i * (1 - g ** 2), ds * g * i * (1 - i), dh_next * tc * o * (1 - o)))
        self.grads[0][...] = x.T @ da
        self.grads[1][...] = h_prev.T @ da
        self.grads[2][...] = da.sum(axis=0)
        return da @ Wx.T, da @ Wh.T, ds * f


class GRU:
    """One GRU step, blocks z, r, h~ along the 3H axis: z = s(x Wxz + h Whz + bz), r likewise,
    h~ = tanh(x Wxh + (r*h) Whh + bh), h_next = (1 - z) h + z h~. backward -> (dx, dh_prev)."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        H = h_prev.shape[1]
        ax, ah = x @ Wx + b, h_prev @ Wh[:, :2 * H]
        z, r = _sigmoid(ax[:, :H] + ah[:, :H]), _sigmoid(ax[:, H:2 * H] + ah[:, H:])
        hh = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:])
        self.cache = (x, h_prev, z, r, hh)
        return (1 - z) * h_prev + z * hh

    def backward(self, dh_next):
        Wx, Wh, _ = self.params
        x, h_prev, z, r, hh = self.cache
        H = h_prev.shape[1]
        dth = dh_next * z * (1 - hh ** 2)              # pre-activation of h~
        drh = dth @ Wh[:, 2 * H:].T                   # gradient of r * h_prev
        dtz = dh_next * (hh - h_prev) * z * (1 - z)
        dtr = drh * h_prev * r * (1 - r)
        dtx = np.hstack((dtz, dtr, dth))
        self.grads[0][...] = x.T @ dtx
        self.grads[1][...] = np.hstack((h_prev.T @ dtz, h_prev.T @ dtr, (r * h_prev).T @ dth))
        self.grads[2][...] = dtx.sum(axis=0)
        dh_prev = dh_next * (1 - z) + drh * r + np.hstack((dtz, dtr)) @ Wh[:, :2 * H].T
        return dtx @ Wx.T, dh_prev


class TimeRNN:
    """RNN over all T steps of xs (N, T, D) from h = 0 (stateful=False): hs (N, T, H). Gradients summed over
    time; the last dh is kept as self.dh."""

    cell = RNN

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful, self.layers, self.h, self.dh = stateful, [], None, None

    def _start(self, n):
        if not self.stateful or self.h is None:
            self.h = np.zeros((n, self.params[1].shape[0]), dtype=self.params[1].dtype)

    def forward(self, xs):
        n, T, _ = xs.shape
        self._start(n)
        hs = np.empty((n, T, self.params[1].shape[0]), dtype=xs.dtype)
        self.layers = []
        for t in range(T):
            layer = self.cell(*self.params)
            self.h = layer.forward(xs[:, t, :], self.h)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        dxs = np.empty(dhs.shape[:2] + (self.params[0].shape[0],), dtype=dhs.dtype)
        dh, sums = 0, [np.zeros_like(g) for g in self.grads]
        for t in reversed(range(len(self.layers))):
            dxs[:, t, :], dh = self.layers[t].backward(dhs[:, t, :] + dh)
            for s, g in zip(sums, self.layers[t].grads):
                s += g
        for mine, s in zip(self.grads, sums):
            mine[...] = s
        self.dh = dh
        return dxs


class TimeLSTM(TimeRNN):
    """LSTM over all T steps from h = c = 0: hs (N, T, H)."""

    cell = LSTM

    def _start(self, n):
        if not self.stateful or self.h is None:
            H = self.params[1].shape[0]
            self.h, self.c = np.zeros((n, H), self.params[1].dtype), np.zeros((n, H), self.params[1].dtype)

    def forward(self, xs):
        n, T, _ = xs.shape
        self._start(n)
        hs = np.empty((n, T, self.params[1].shape[0]), dtype=xs.dtype)
        self.layers = []
        for t in range(T):
            layer = LSTM(*self.params)
            self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        dxs = np.empty(dhs.shape[:2] + (self.params[0].shape[0],), dtype=dhs.dtype)
        dh, dc, sums = 0, 0, [np.zeros_like(g) for g in self.grads]
        for t in reversed(range(len(self.layers))):
            dxs[:, t, :], dh, dc = self.layers[t].backward(dhs[:, t, :] + dh, dc)
            for s, g in zip(sums, self.layers[t].grads):
                s += g
        for mine, s in zip(self.grads, sums):
            mine[...] = s
        self.dh = dh
        return dxs


class TimeSoftmaxWithLoss:
    """Mean cross-entropy over all N*T positions of scores xs (N, T, V) against ids ts (N, T); ids equal to
    ignore_label (-1) count for nothing."""

    def __init__(self, ignore_label=-1):
        self.params, self.grads, self.ignore_label, self.cache = [], [], ignore_label, None

    def forward(self, xs, ts):
        n, T, V = xs.shape
        x, t = xs.reshape(n * T, V), ts.reshape(n * T)
        mask = t != self.ignore_label
        logp = _log_softmax(x)
        picked = logp[np.arange(n * T), np.where(mask, t, 0)] * mask
        self.cache = (np.exp(logp), np.where(mask, t, 0), mask, xs.shape)
        return -picked.sum() / max(int(mask.sum()), 1)

    def backward(self, dout=1):
        y, t, mask, shape = self.cache
        dx = y.copy()
        dx[np.arange(t.size), t] -= 1
        dx *= dout / max(int(mask.sum()), 1)
        return (dx * mask[:, None]).reshape(shape)
