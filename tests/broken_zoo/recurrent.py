"""Deliberately broken recurrent layers (format: see tests/broken_layers.py)."""
import numpy as np

import reference as R
from broken_layers import broken
from catching import any_of


class RnnBpttTruncated(R.RNN):
    def backward(self, dhs):
        T = self.x.shape[1]
        dx = np.empty_like(self.x)
        self.dWx, self.dWh, self.db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        dh_prev = None
        for t in reversed(range(T)):
            h_prev = self.hs[:, t - 1] if t > 0 else self.h0
            dh = dhs[:, t]  # forgot "+ dh_next": the gradient from h_{t+1} never reaches h_t (invisible when T = 1)
            dz = dh * (1 - self.hs[:, t] ** 2)
            self.dWx += np.dot(self.x[:, t].T, dz)
            self.dWh += np.dot(h_prev.T, dz)
            self.db += np.sum(dz, axis=0)
            dx[:, t] = np.dot(dz, self.Wx.T)
            dh_prev = np.dot(dz, self.Wh.T)
        return dx, dh_prev


class LstmForgetGradFromNewCell(R.LSTM):
    def backward(self, dhs):
        # swap c_{t-1} for c_t in every step's cache, only where backward reads it for df = dc * c_{t-1}
        self.cache = [(h_prev, c, i, f, g, o, c, tanh_c) for (h_prev, _, i, f, g, o, c, tanh_c) in self.cache]
        return super().backward(dhs)


BROKEN = {
    # db and dh0 show it in every example with T > 1 (dx, dWx, dWh can vanish with x = 0 or h = 0)
    "rnn_bptt_truncated": broken("rnn", "rnn_bptt_truncated", lambda p: RnnBpttTruncated(p["Wx"], p["Wh"], p["b"]), by=["grad_h0", "grad_b"]),
    # db shows it whenever c_t != c_{t-1}; dx, dh0 (and dWx, dWh) too unless x, Wx or Wh are zero
    "lstm_forget_grad_uses_c_t": broken("lstm", "lstm_forget_grad_uses_c_t", lambda p: LstmForgetGradFromNewCell(p["Wx"], p["Wh"], p["b"]),
                                        by=["grad_b", any_of("grad_x", "grad_h0")]),
}
