"""Tricky but correct layers, written for this corpus in styles other than reference/'s.

Four styles on purpose, because a researcher's layer will not look like ours:
- "lists": `self.params` / `self.grads` lists (as in many from-scratch codebases), exposed to the harness
  by the three-line adapter `named_grads`;
- "f32": computes in float32 internally (`dtype='f'` buffers) whatever it is given;
- "inplace": reuses its buffers (`out=`, `*=`, `-=`);
- "closure": a pair of closures (forward, backward) turned into a class by `closure_layer`;
- "book": a plain class with forward/backward and `d<name>` attributes.

Every backward here is derived by hand; tests/test_tricky_layers_are_correct.py checks each against
PyTorch float64 autograd of the plain math in tests/tricky/__init__.py.
"""
from __future__ import annotations

import numpy as np


# --- adapters -------------------------------------------------------------------------------------------
def named_grads(cls, *names):
    """A params/grads-list layer under the harness's protocol: `param_names`, and `d<name>` after backward."""
    class Adapted(cls):
        param_names = names

        def backward(self, dout):
            dx = super().backward(dout)
            for n, g in zip(names, self.grads):
                setattr(self, "d" + n, g)
            return dx
    Adapted.__name__ = Adapted.__qualname__ = cls.__name__
    return Adapted


def closure_layer(factory, *names, name="ClosureLayer"):
    """`factory(*params) -> (forward, backward)`, backward returning (input grads, param grads), as a class."""
    def __init__(self, *params):
        self._fwd, self._bwd = factory(*params)

    def forward(self, *xs):
        return self._fwd(*xs)

    def backward(self, dout):
        dxs, dps = self._bwd(dout)
        for n, g in zip(names, dps):
            setattr(self, "d" + n, g)
        return dxs
    return type(name, (), dict(__init__=__init__, forward=forward, backward=backward, param_names=names))


def _sigmoid(x):
    # stable for any sign: exp never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


# --- "lists" style --------------------------------------------------------------------------------------
class _AffineLists:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        self.x = x
        return np.dot(x, W) + b

    def backward(self, dout):
        W, _ = self.params
        self.grads[0][...] = np.dot(self.x.T, dout)
        self.grads[1][...] = np.sum(dout, axis=0)
        return np.dot(dout, W.T)


AffineLists = named_grads(_AffineLists, "W", "b")


class _TimeRNNLists:
    """tanh RNN over all T steps, returning every h_t: (n, T, i), (n, h) -> (n, T, h)."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]

    def forward(self, xs, h0):
        Wx, Wh, b = self.params
        n, T, _ = xs.shape
        self.cache = []
        hs = np.empty((n, T, Wh.shape[0]), dtype=xs.dtype)
        h = h0
        for t in range(T):
            h_prev, h = h, np.tanh(np.dot(xs[:, t, :], Wx) + np.dot(h, Wh) + b)
            self.cache.append((xs[:, t, :], h_prev, h))
            hs[:, t, :] = h
        return hs

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        dWx, dWh, db = (np.zeros_like(p) for p in self.params)
        dxs = np.empty(dhs.shape[:2] + (Wx.shape[0],), dtype=dhs.dtype)
        dh = np.zeros_like(dhs[:, 0, :])
        for t in reversed(range(dhs.shape[1])):
            x, h_prev, h = self.cache[t]
            da = (dhs[:, t, :] + dh) * (1.0 - h * h)
            dWx += np.dot(x.T, da)
            dWh += np.dot(h_prev.T, da)
            db += da.sum(axis=0)
            dxs[:, t, :] = np.dot(da, Wx.T)
            dh = np.dot(da, Wh.T)
        for g, new in zip(self.grads, (dWx, dWh, db)):
            g[...] = new
        return dxs, dh


TimeRNNLists = named_grads(_TimeRNNLists, "Wx", "Wh", "b")


# --- "f32" style: float32 inside, whatever comes in ------------------------------------------------------
class Proj1024F32:
    """out = x @ W in float32 (i = 1024: a long float32 reduction)."""

    param_names = ("W",)

    def __init__(self, W):
        self.W = np.asarray(W, dtype='f')

    def forward(self, x):
        self.x = np.ascontiguousarray(x, dtype='f')
        out = np.empty((self.x.shape[0], self.W.shape[1]), dtype='f')
        np.dot(self.x, self.W, out=out)
        return out

    def backward(self, dout):
        dout = np.asarray(dout, dtype='f')
        self.dW = np.empty_like(self.W)
        np.dot(self.x.T, dout, out=self.dW)
        return np.dot(dout, self.W.T).astype('f')


class SigmoidMLPF32:
    """out = sigmoid(x @ W + b) @ V, every buffer float32."""

    param_names = ("W", "b", "V")

    def __init__(self, W, b, V):
        self.W, self.b, self.V = (np.asarray(p, dtype='f') for p in (W, b, V))

    def forward(self, x):
        self.x = np.asarray(x, dtype='f')
        a = np.dot(self.x, self.W)
        a += self.b
        self.s = _sigmoid(a)
        return np.dot(self.s, self.V)

    def backward(self, dout):
        dout = np.asarray(dout, dtype='f')
        self.dV = np.dot(self.s.T, dout)
        ds = np.dot(dout, self.V.T)
        da = ds * self.s * (np.float32(1) - self.s)
        self.dW = np.dot(self.x.T, da)
        self.db = da.sum(axis=0, dtype='f')
        return np.dot(da, self.W.T)


# --- "inplace" style ------------------------------------------------------------------------------------
class LayerNormInplace:
    """LayerNorm over the last axis (eps 1e-5), centring and scaling in one reused buffer."""

    param_names = ("g", "b")

    def __init__(self, g, b, eps=1e-5):
        self.g, self.b, self.eps = g, b, eps
        self._xh = None

    def forward(self, x):
        if self._xh is None or self._xh.shape != x.shape or self._xh.dtype != x.dtype:
            self._xh = np.empty_like(x)
        xh = self._xh
        np.subtract(x, x.mean(axis=-1, keepdims=True), out=xh)
        self.rstd = 1.0 / np.sqrt(np.mean(xh * xh, axis=-1, keepdims=True) + self.eps)
        xh *= self.rstd
        out = xh * self.g
        out += self.b
        return out

    def backward(self, dout):
        d = dout.shape[-1]
        xh = self._xh
        self.dg = (dout * xh).reshape(-1, d).sum(axis=0)
        self.db = dout.reshape(-1, d).sum(axis=0)
        dxh = dout * self.g
        proj = np.mean(dxh * xh, axis=-1, keepdims=True)
        dx = dxh - dxh.mean(axis=-1, keepdims=True)
        dx -= xh * proj
        dx *= self.rstd
        return dx


class SoftplusInplace:
    """softplus(x) = max(x, 0) + log1p(exp(-|x|)), exact for any x; derivative sigmoid(x)."""

    def forward(self, x):
        self.x = x
        out = np.maximum(x, 0)
        t = np.abs(x)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        out += t
        return out

    def backward(self, dout):
        dx = _sigmoid(self.x)
        dx *= dout
        return dx


# --- "closure" style -----------------------------------------------------------------------------------
def _residual_tanh_factory(W):
    """8 residual steps x <- x + tanh(x @ W[k]), W: (8, d, d)."""
    tape = []

    def forward(x):
        tape.clear()
        for Wk in W:
            t = np.tanh(x @ Wk)
            tape.append((x, t))
            x = x + t
        return x

    def backward(dout):
        dW = np.zeros_like(W)
        g = dout
        for k in reversed(range(len(W))):
            x, t = tape[k]
            da = g * (1.0 - t * t)
            dW[k] = x.T @ da
            g = g + da @ W[k].T
        return g, (dW,)
    return forward, backward


ResidualTanh8 = closure_layer(_residual_tanh_factory, "W", name="ResidualTanh8")


def _poly7_factory(c):
    """Elementwise p(x) = sum_k c[k] x^k, k = 0..7, by Horner."""
    saved = {}

    def forward(x):
        saved["x"] = x
        y = np.full_like(x, c[-1])
        for ck in c[-2::-1]:
            y = y * x + ck
        return y

    def backward(dout):
        x = saved["x"]
        dp = np.full_like(x, 7 * c[7])
        for k in range(6, 0, -1):
            dp = dp * x + k * c[k]
        powers = np.stack([x ** k for k in range(8)])  # (8, ...)
        dc = (powers * dout).reshape(8, -1).sum(axis=1)
        return dout * dp, (dc,)
    return forward, backward


Poly7 = closure_layer(_poly7_factory, "c", name="Poly7")


def _triple_product_factory():
    """a * b * c elementwise (three inputs of very different scales)."""
    saved = []

    def forward(a, b, c):
        saved[:] = [a, b, c]
        return a * b * c

    def backward(dout):
        a, b, c = saved
        return (dout * b * c, dout * a * c, dout * a * b), ()
    return forward, backward


TripleProduct = closure_layer(_triple_product_factory, name="TripleProduct")


def _rowprod_factory():
    """prod(x, axis=-1) with prefix/suffix products: right at zeros too (no division by x)."""
    saved = {}

    def forward(x):
        saved["x"] = x
        return np.prod(x, axis=-1)

    def backward(dout):
        x = saved["x"]
        ones = np.ones_like(x[..., :1])
        pre = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
        suf = np.cumprod(np.concatenate([ones, x[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        return dout[..., None] * pre * suf, ()
    return forward, backward


RowProd = closure_layer(_rowprod_factory, name="RowProd")


# --- "book" style --------------------------------------------------------------------------------------
class BatchNormBook:
    """Training-mode batch normalization over axis 0, eps 1e-6, backward step by step as in the book."""

    param_names = ("gamma", "beta")

    def __init__(self, gamma, beta, eps=1e-6):
        self.gamma, self.beta, self.eps = gamma, beta, eps

    def forward(self, x):
        mu = x.mean(axis=0)
        self.xc = x - mu
        var = np.mean(self.xc ** 2, axis=0)
        self.std = np.sqrt(var + self.eps)
        self.xn = self.xc / self.std
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += (2.0 / n) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        return dxc - dmu / n


class GRUBook:
    """GRU over T steps, all h_t returned. Gates k = 0 (update z), 1 (reset r), 2 (candidate n):
    z = s(x Wx0 + h Wh0 + b0), r = s(x Wx1 + h Wh1 + b1), n = tanh(x Wx2 + b2 + r * (h Wh2)),
    h' = (1 - z) * n + z * h.  Wx: (3, i, h), Wh: (3, h, h), b: (3, h)."""

    param_names = ("Wx", "Wh", "b")

    def __init__(self, Wx, Wh, b):
        self.Wx, self.Wh, self.b = Wx, Wh, b

    def forward(self, xs, h0):
        Wx, Wh, b = self.Wx, self.Wh, self.b
        self.steps = []
        h, out = h0, []
        for t in range(xs.shape[1]):
            x = xs[:, t]
            z = _sigmoid(x @ Wx[0] + h @ Wh[0] + b[0])
            r = _sigmoid(x @ Wx[1] + h @ Wh[1] + b[1])
            hn = h @ Wh[2]
            n = np.tanh(x @ Wx[2] + b[2] + r * hn)
            self.steps.append((x, h, z, r, hn, n))
            h = (1 - z) * n + z * h
            out.append(h)
        return np.stack(out, axis=1)

    def backward(self, dhs):
        Wx, Wh = self.Wx, self.Wh
        self.dWx, self.dWh, self.db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(self.b)
        dxs = np.zeros(dhs.shape[:2] + (Wx.shape[1],), dtype=dhs.dtype)
        dh_next = np.zeros_like(dhs[:, 0])
        for t in reversed(range(dhs.shape[1])):
            x, h, z, r, hn, n = self.steps[t]
            g = dhs[:, t] + dh_next
            dn, dz, dh = g * (1 - z), g * (h - n), g * z
            dan = dn * (1 - n * n)
            dr, dhn = dan * hn, dan * r
            daz, dar = dz * z * (1 - z), dr * r * (1 - r)
            for k, (da, dpre) in enumerate(((daz, daz), (dar, dar), (dan, dhn))):
                self.dWx[k] += x.T @ da
                self.dWh[k] += h.T @ dpre
                self.db[k] += da.sum(axis=0)
                dxs[:, t] += da @ Wx[k].T
                dh = dh + dpre @ Wh[k].T
            dh_next = dh
        return dxs, dh_next


class LogSumExpBook:
    """Row-wise log-sum-exp, shifted by the row max: (n, c) -> (n,)."""

    def forward(self, x):
        m = x.max(axis=-1, keepdims=True)
        e = np.exp(x - m)
        s = e.sum(axis=-1, keepdims=True)
        self.p = e / s
        return (m + np.log(s))[..., 0]

    def backward(self, dout):
        return dout[..., None] * self.p


class SoftmaxWeightedMean:
    """y = sum_j softmax(x)_j x_j over the last axis (an attention-style pooling): (n, i) -> (n,)."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.p = e / e.sum(axis=-1, keepdims=True)
        self.x = x
        self.y = np.sum(self.p * x, axis=-1)
        return self.y

    def backward(self, dout):
        return dout[..., None] * self.p * (1 + self.x - self.y[..., None])


class CosineSimilarity:
    """Row-wise a.b / sqrt((|a|^2 + eps)(|b|^2 + eps)), eps 1e-8 (smooth at a = 0): (n, d), (n, d) -> (n,)."""

    def __init__(self, eps=1e-8):
        self.eps = eps

    def forward(self, a, b):
        self.a, self.b = a, b
        self.s = np.sum(a * b, axis=-1)
        self.p = np.sum(a * a, axis=-1) + self.eps
        self.q = np.sum(b * b, axis=-1) + self.eps
        self.r = 1.0 / np.sqrt(self.p * self.q)
        return self.s * self.r

    def backward(self, dout):
        gr = (dout * self.r)[..., None]
        s = self.s[..., None]
        da = gr * (self.b - s * self.a / self.p[..., None])
        db = gr * (self.a - s * self.b / self.q[..., None])
        return da, db


class L2Normalize:
    """x / sqrt(sum(x^2, last axis) + eps), eps 1e-12."""

    def __init__(self, eps=1e-12):
        self.eps = eps

    def forward(self, x):
        self.x = x
        self.r = 1.0 / np.sqrt(np.sum(x * x, axis=-1, keepdims=True) + self.eps)
        return x * self.r

    def backward(self, dout):
        xg = np.sum(self.x * dout, axis=-1, keepdims=True)
        return self.r * dout - self.x * (self.r ** 3) * xg
