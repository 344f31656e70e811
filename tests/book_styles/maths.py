"""The plain math of the book-style layers, written once against an array namespace `xp` (run by the
harness under PyTorch and under jax.numpy), or per framework where an op has no array-API form (conv,
pooling). This is what a researcher writes once; the layers in book1.py / book2.py are checked against it.
"""
from __future__ import annotations

import math


def sigmoid(xp, x):
    # the framework's own sigmoid (torch.sigmoid, jax.nn.sigmoid), whose float32 backward is s (1 - s) of the
    # float32 s, as these layers' textbook backward is: the float32 budget measures the math as the spec
    # writes it, and 1 / (1 + exp(-x)) differentiates more accurately than any float32 s (1 - s) can at
    # saturation (u / (1 - s) relative: 1e-4 at s = 0.9995; tests/tricky/after/SOAK.md, sigmoid_mlp_f32)
    if hasattr(xp, "sigmoid"):
        return xp.sigmoid(x)
    import jax

    return jax.nn.sigmoid(x)


def relu(xp, x):
    return xp.where(x > 0, x, xp.zeros_like(x))


def affine_nd(xp, x, W, b):
    return xp.reshape(x, (x.shape[0], -1)) @ W + b


def softmax_loss(xp, x, t):
    """Mean cross-entropy over every position: x (..., C) scores, t (...) ids."""
    z = x - xp.max(x, axis=-1, keepdims=True)
    logp = z - xp.log(xp.sum(xp.exp(z), axis=-1, keepdims=True))
    onehot = xp.astype(t[..., None] == xp.arange(x.shape[-1]), x.dtype)
    return -xp.sum(logp * onehot) / math.prod(t.shape)


def batchnorm_train(xp, x, gamma, beta, eps=1e-5):
    mean = xp.mean(x, axis=0)
    var = xp.mean((x - mean) ** 2, axis=0)
    return (x - mean) / xp.sqrt(var + eps) * gamma + beta


def torch_conv(x, W, b, pad=0):
    import torch.nn.functional as F

    return F.conv2d(x, W, b, padding=pad)


def jax_conv(x, W, b, pad=0):
    import jax

    out = jax.lax.conv_general_dilated(x, W, (1, 1), [(pad, pad)] * 2, dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return out + b[None, :, None, None]


def torch_maxpool2(x):
    import torch.nn.functional as F

    return F.max_pool2d(x, 2, 1)


def jax_maxpool2(x):
    import jax
    import jax.numpy as jnp

    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 1, 1), "VALID")


def rnn_cell(xp, x, h, Wx, Wh, b):
    return xp.tanh(h @ Wh + x @ Wx + b)


def lstm_cell(xp, x, h, c, Wx, Wh, b):
    """Gates packed f, g, i, o; returns (h_next, c_next)."""
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    f, g, i, o = sigmoid(xp, a[:, :H]), xp.tanh(a[:, H:2 * H]), sigmoid(xp, a[:, 2 * H:3 * H]), sigmoid(xp, a[:, 3 * H:])
    c = f * c + g * i
    return o * xp.tanh(c), c


def gru_cell(xp, x, h, Wx, Wh, b):
    H = h.shape[1]
    ax = x @ Wx + b
    z = sigmoid(xp, ax[:, :H] + h @ Wh[:, :H])
    r = sigmoid(xp, ax[:, H:2 * H] + h @ Wh[:, H:2 * H])
    hh = xp.tanh(ax[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:])
    return (1 - z) * h + z * hh


def time_rnn(xp, xs, Wx, Wh, b):
    h = xp.zeros((xs.shape[0], Wh.shape[0]), dtype=xs.dtype)
    hs = []
    for t in range(xs.shape[1]):
        h = rnn_cell(xp, xs[:, t, :], h, Wx, Wh, b)
        hs.append(h)
    return xp.stack(hs, axis=1)


def time_lstm(xp, xs, Wx, Wh, b):
    h = c = xp.zeros((xs.shape[0], Wh.shape[0]), dtype=xs.dtype)
    hs = []
    for t in range(xs.shape[1]):
        h, c = lstm_cell(xp, xs[:, t, :], h, c, Wx, Wh, b)
        hs.append(h)
    return xp.stack(hs, axis=1)
