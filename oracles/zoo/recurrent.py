"""Registry entries for the recurrent family (see oracles/registry.py for the conventions of an entry).

PyTorch oracles loop over time with PyTorch's own cells (torch.rnn_tanh_cell, torch.lstm_cell: the
kernels behind nn.RNN / nn.LSTM, weights laid out (out, in), LSTM gates in the order i, f, g, o);
JAX oracles use jax.lax.scan with jnp ops.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch

import reference as R

from ..registry import register
from ..spec import Domain, Float, LayerSpec

# Small on purpose: the numerical oracle perturbs every weight, and T in (1, 2, 3) is enough for a bug in
# backpropagation through time (it needs T > 1) to show.
_SIZES = {"n": (1, 2), "T": (1, 2, 3), "i": (1, 2, 3, 4), "h": (1, 2, 3, 5)}


def _torch_rnn(x, h0, Wx, Wh, b):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = torch.rnn_tanh_cell(x[:, t], h, Wx.T, Wh.T, b, None)
        hs.append(h)
    return torch.stack(hs, dim=1)


def _jax_rnn(x, h0, Wx, Wh, b):
    def step(h, x_t):
        h = jnp.tanh(x_t @ Wx + h @ Wh + b)
        return h, h

    _, hs = jax.lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


register(LayerSpec(
    name="rnn",
    make=lambda p: R.RNN(p["Wx"], p["Wh"], p["b"]),
    inputs=(Float("x", ("n", "T", "i")), Float("h0", ("n", "h"), domain=Domain(-1.0, 1.0))),
    params={"Wx": ("i", "h"), "Wh": ("h", "h"), "b": ("h",)},
    sizes=_SIZES,
    torch_fn=_torch_rnn,
    jax_fn=_jax_rnn,
    domain=Domain(-2.0, 2.0),
    param_domain=Domain(-1.0, 1.0),
    doc="tanh RNN unrolled over T steps: h_t = tanh(x_t Wx + h_{t-1} Wh + b), returns all h_t; "
        "h0 is a differentiable input",
))


def _torch_lstm(x, h0, c0, Wx, Wh, b):
    h, c, hs = h0, c0, []
    for t in range(x.shape[1]):
        h, c = torch.lstm_cell(x[:, t], (h, c), Wx.T, Wh.T, b, None)
        hs.append(h)
    return torch.stack(hs, dim=1)


def _jax_lstm(x, h0, c0, Wx, Wh, b):
    def step(carry, x_t):
        h, c = carry
        gi, gf, gg, go = jnp.split(x_t @ Wx + h @ Wh + b, 4, axis=-1)
        c = jax.nn.sigmoid(gf) * c + jax.nn.sigmoid(gi) * jnp.tanh(gg)
        h = jax.nn.sigmoid(go) * jnp.tanh(c)
        return (h, c), h

    _, hs = jax.lax.scan(step, (h0, c0), jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


register(LayerSpec(
    name="lstm",
    make=lambda p: R.LSTM(p["Wx"], p["Wh"], p["b"]),
    inputs=(
        Float("x", ("n", "T", "i")),
        Float("h0", ("n", "h"), domain=Domain(-1.0, 1.0)),
        Float("c0", ("n", "h")),
    ),
    # "gates" is always 4 (i, f, g, o): a size name because symbolic shapes multiply names, not numbers
    params={"Wx": ("i", "gates*h"), "Wh": ("h", "gates*h"), "b": ("gates*h",)},
    # four gates make the weights 4x wider than the RNN's: smaller pools keep the numerical oracle cheap
    sizes={**_SIZES, "i": (1, 2, 3), "h": (1, 2, 3), "gates": (4,)},
    torch_fn=_torch_lstm,
    jax_fn=_jax_lstm,
    domain=Domain(-2.0, 2.0),
    param_domain=Domain(-1.0, 1.0),
    doc="LSTM unrolled over T steps, gates i, f, g, o (PyTorch's order), returns all h_t; "
        "h0 and c0 are differentiable inputs",
))
