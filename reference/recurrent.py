"""Reference layers: recurrent.

A tanh RNN and an LSTM unrolled over the whole sequence ("Time" layers in the book's second volume),
with backpropagation through time. Input x is (N, T, I), the initial state is an input too, and the
output is every hidden state (N, T, H). Weights follow `x @ W + b` (W has shape (in, out)).
"""
from __future__ import annotations

import numpy as np

from .functions import sigmoid
from .layers import Layer

__all__: list[str] = ["LSTM", "RNN"]


class RNN(Layer):
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b) for t = 1..T, from h_0 = h0; returns (h_1, ..., h_T).

    forward(x: (N, T, I), h0: (N, H)) -> hs: (N, T, H); backward(dhs) -> (dx, dh0), and dWx, dWh, db.
    Backward walks the sequence in reverse: the gradient reaching h_t is the upstream gradient at step t
    plus what flows back from step t+1 through Wh.
    """

    param_names = ("Wx", "Wh", "b")

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray):
        self.Wx, self.Wh, self.b = Wx, Wh, b
        self.x = None
        self.h0 = None
        self.hs = None
        self.dWx = self.dWh = self.db = None

    def forward(self, x: np.ndarray, h0: np.ndarray) -> np.ndarray:
        n, T, _ = x.shape
        self.x, self.h0 = x, h0
        self.hs = np.empty((n, T, self.Wh.shape[0]), dtype=x.dtype)
        h = h0
        for t in range(T):
            h = np.tanh(np.dot(x[:, t], self.Wx) + np.dot(h, self.Wh) + self.b)
            self.hs[:, t] = h
        return self.hs.copy()  # the cache stays ours even if the caller writes into the output

    def backward(self, dhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        T = self.x.shape[1]
        dx = np.empty_like(self.x)
        self.dWx, self.dWh, self.db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        dh_next = np.zeros_like(self.h0)  # nothing flows back from beyond the last step
        for t in reversed(range(T)):
            h_prev = self.hs[:, t - 1] if t > 0 else self.h0
            dh = dhs[:, t] + dh_next
            dz = dh * (1 - self.hs[:, t] ** 2)  # tanh' = 1 - tanh^2, from the cached output
            self.dWx += np.dot(self.x[:, t].T, dz)
            self.dWh += np.dot(h_prev.T, dz)
            self.db += np.sum(dz, axis=0)
            dx[:, t] = np.dot(dz, self.Wx.T)
            dh_next = np.dot(dz, self.Wh.T)
        return dx, dh_next  # after step 1, dh_next is the gradient of h0


class LSTM(Layer):
    """An LSTM unrolled over T steps; returns every hidden state (N, T, H).

    Gates from a = x_t Wx + h_{t-1} Wh + b, split in four blocks of H in the order i, f, g, o
    (PyTorch's order): i, f, o = sigmoid(...), g = tanh(...);
    c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t).
    Wx: (I, 4H), Wh: (H, 4H), b: (4H,). forward(x, h0, c0) -> hs; backward(dhs) -> (dx, dh0, dc0).
    """

    param_names = ("Wx", "Wh", "b")

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray):
        self.Wx, self.Wh, self.b = Wx, Wh, b
        self.x = None
        self.h0 = self.c0 = None
        self.cache = None
        self.dWx = self.dWh = self.db = None

    def forward(self, x: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> np.ndarray:
        n, T, _ = x.shape
        H = self.Wh.shape[0]
        self.x, self.h0, self.c0 = x, h0, c0
        self.cache = []
        hs = np.empty((n, T, H), dtype=x.dtype)
        h, c = h0, c0
        for t in range(T):
            a = np.dot(x[:, t], self.Wx) + np.dot(h, self.Wh) + self.b
            i = sigmoid(a[:, :H])
            f = sigmoid(a[:, H:2 * H])
            g = np.tanh(a[:, 2 * H:3 * H])
            o = sigmoid(a[:, 3 * H:])
            c_prev, h_prev = c, h
            c = f * c_prev + i * g
            tanh_c = np.tanh(c)
            h = o * tanh_c
            self.cache.append((h_prev, c_prev, i, f, g, o, c, tanh_c))
            hs[:, t] = h
        return hs

    def backward(self, dhs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        T = self.x.shape[1]
        dx = np.empty_like(self.x)
        self.dWx, self.dWh, self.db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        dh_next, dc_next = np.zeros_like(self.h0), np.zeros_like(self.c0)
        for t in reversed(range(T)):
            h_prev, c_prev, i, f, g, o, c, tanh_c = self.cache[t]
            dh = dhs[:, t] + dh_next
            dc = dc_next + dh * o * (1 - tanh_c ** 2)  # c_t feeds h_t and c_{t+1}
            do = dh * tanh_c
            di = dc * g
            df = dc * c_prev
            dg = dc * i
            # back through the gate nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2
            da = np.hstack((di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)))
            self.dWx += np.dot(self.x[:, t].T, da)
            self.dWh += np.dot(h_prev.T, da)
            self.db += np.sum(da, axis=0)
            dx[:, t] = np.dot(da, self.Wx.T)
            dh_next = np.dot(da, self.Wh.T)
            dc_next = dc * f
        return dx, dh_next, dc_next
