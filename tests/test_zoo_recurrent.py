"""Recurrent family: the gate order is PyTorch's (i, f, g, o), a truncated backward through time is only
visible with more than one step (why T is drawn from (1, 2, 3)), and the cached states are the layer's own."""
from dataclasses import replace

import numpy as np

import reference as R
from broken_zoo.recurrent import RnnBpttTruncated
from catching import assert_caught
from oracles import REGISTRY, run_check


def test_lstm_gate_order_is_i_f_g_o():
    """With no weights, the gates are the bias blocks: i = 1, f = 0, g = tanh(b_g), o = 1 (to the last bit
    in float64, sigmoid(+-40) rounding to exactly 1 and ~4e-18), so h_1 = tanh(tanh(b_g)) whatever c0 is."""
    h = 3
    b_g = np.array([-0.5, 0.25, 1.0])
    b = np.concatenate([np.full(h, 40.0), np.full(h, -40.0), b_g, np.full(h, 40.0)])
    layer = R.LSTM(np.zeros((2, 4 * h)), np.zeros((h, 4 * h)), b)
    hs = layer.forward(np.ones((1, 1, 2)), np.ones((1, h)), np.full((1, h), 7.0))
    np.testing.assert_allclose(hs[0, 0], np.tanh(np.tanh(b_g)), rtol=1e-15, atol=1e-15)


def test_rnn_one_step_is_one_tanh_cell():
    rng = np.random.default_rng(0)
    Wx, Wh, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    x, h0 = rng.normal(size=(4, 1, 2)), rng.normal(size=(4, 3))
    hs = R.RNN(Wx, Wh, b).forward(x, h0)
    np.testing.assert_allclose(hs[:, 0], np.tanh(x[:, 0] @ Wx + h0 @ Wh + b), rtol=1e-15, atol=1e-15)


def test_rnn_output_is_not_the_cache():
    rng = np.random.default_rng(1)
    Wx, Wh, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    x, h0, dhs = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 3))
    layer = R.RNN(Wx, Wh, b)
    layer.forward(x, h0)
    expected = layer.backward(dhs)
    out = layer.forward(x, h0)
    out[...] = 0  # a caller writing into the output must not change what backward uses
    for g, e in zip(layer.backward(dhs), expected):
        assert np.array_equal(g, e)


def test_truncated_bptt_needs_two_steps():
    spec = replace(REGISTRY["rnn"], name="rnn_truncated", make=lambda p: RnnBpttTruncated(p["Wx"], p["Wh"], p["b"]))
    one = run_check(replace(spec, sizes={**spec.sizes, "T": (1,)}), "float64", ("numerical",),
                    max_examples=10, record=False)
    assert one.passed
    assert_caught(spec, "float64", by=["grad_h0", "grad_b"], oracles=("numerical",), max_examples=10, sizes={**spec.sizes, "T": (2, 3)})
