"""Layers written in the styles of "Deep Learning from Scratch" 1 and 2 (tests/book_styles/), each checked by
`check_layer` as written: no adapter class. Every line a check needs beyond the layer's description (make,
inputs, params, the math, the name) is marked: `# glue` (what the layer's style costs: keyword flags,
several outputs) or `# rule` (a shape or value rule of the layer itself: relations, sizes, domain).
`test_glue_is_at_most_three_lines` counts them; the README's table ("Checking layers written in other
styles") is that count.
"""
from __future__ import annotations

import inspect

import pytest

from oracles import Domain, Float, Index, check_layer
from book_styles import book1 as b1, book2 as b2, maths as m

FAST = dict(max_examples=4, record=False)


def check_affine(**kw):
    return check_layer(lambda p: b1.Affine(p["W"], p["b"]), inputs={"x": ("n", "c", "k")},
                       params={"W": ("c*k", "o"), "b": ("o",)}, fn=m.affine_nd, name="book1_affine", **kw)


def check_relu(**kw):
    return check_layer(lambda p: b1.Relu(), inputs={"x": ("n", "d")}, fn=m.relu, name="book1_relu",
                       domain=Domain(kinks=(0.0,), margin=1e-3), **kw)  # rule
# the book's Relu zeroes dout in place: reported as "backward mutated dout" (tests below)


def check_sigmoid(**kw):
    return check_layer(lambda p: b1.Sigmoid(), inputs={"x": ("n", "d")}, fn=m.sigmoid, name="book1_sigmoid", **kw)


def check_softmax_with_loss(**kw):
    return check_layer(lambda p: b1.SoftmaxWithLoss(), inputs=[Float("x", ("n", "c")), Index("t", ("n",), "c")],
                       fn=m.softmax_loss, name="book1_softmax_with_loss", **kw)


def check_batchnorm(**kw):
    return check_layer(lambda p: b1.BatchNormalization(p["gamma"], p["beta"]), inputs={"x": ("n", "d")},
                       params={"gamma": ("d",), "beta": ("d",)}, fn=m.batchnorm_train, name="book1_batchnorm",
                       forward_kwargs={"train_flg": True},  # glue
                       sizes={"n": (2, 3, 5)},  # rule: a batch of one has no variance
                       domain=Domain(-40, 40, spacing=2.0), **kw)  # rule: no near-equal batch (float32)


def check_convolution(**kw):
    return check_layer(lambda p: b1.Convolution(p["W"], p["b"]), inputs={"x": ("n", "c", "h", "w")},
                       params={"W": ("f", "c", "kh", "kw"), "b": ("f",)}, torch_fn=m.torch_conv, jax_fn=m.jax_conv,
                       name="book1_convolution",
                       relations=("kh <= h", "kw <= w"), **kw)  # rule: the kernel fits in the image


def check_convolution_pad1(**kw):
    return check_layer(lambda p, pad: b1.Convolution(p["W"], p["b"], pad=pad), inputs={"x": ("n", "c", "h", "w")},
                       params={"W": ("f", "c", "kh", "kw"), "b": ("f",)}, torch_fn=m.torch_conv, jax_fn=m.jax_conv,
                       name="book1_convolution_pad1", config={"pad": 1},
                       relations=("kh <= h + 2", "kw <= w + 2"), **kw)  # rule: the kernel fits the padded image


def check_pooling(**kw):
    return check_layer(lambda p: b1.Pooling(2, 2, stride=1), inputs={"x": ("n", "c", "h", "w")},
                       torch_fn=m.torch_maxpool2, jax_fn=m.jax_maxpool2, name="book1_pooling",
                       relations=("h >= 2", "w >= 2"),  # rule: a 2x2 window fits
                       domain=Domain(-8, 8, spacing=1 / 64), **kw)  # rule: no ties in a window


def check_dropout_train(**kw):
    return check_layer(lambda p: b1.Dropout(0.5, seed=0), inputs={"x": ("n", "d")}, name="book1_dropout_train",
                       fn=lambda xp, x: x * xp.asarray(b1.keep_mask(x.shape, 0.5, 0), dtype=x.dtype),
                       forward_kwargs={"train_flg": True}, **kw)  # glue


def check_dropout_eval(**kw):
    return check_layer(lambda p: b1.Dropout(0.5), inputs={"x": ("n", "d")}, fn=lambda xp, x: x * 0.5,
                       name="book1_dropout_eval",
                       forward_kwargs={"train_flg": False}, **kw)  # glue


def check_matmul(**kw):
    return check_layer(lambda p: b2.MatMul(p["W"]), inputs={"x": ("n", "i")}, params={"W": ("i", "o")},
                       fn=lambda xp, x, W: x @ W, name="book2_matmul", **kw)


def check_affine2(**kw):
    return check_layer(lambda p: b2.Affine(p["W"], p["b"]), inputs={"x": ("n", "i")},
                       params={"W": ("i", "o"), "b": ("o",)}, fn=lambda xp, x, W, b: x @ W + b,
                       name="book2_affine", **kw)


def check_embedding(**kw):
    return check_layer(lambda p: b2.Embedding(p["W"]), inputs=[Index("idx", ("n",), "v")],
                       params={"W": ("v", "d")}, fn=lambda xp, idx, W: xp.take(W, idx, axis=0),
                       name="book2_embedding", **kw)


def check_rnn(**kw):
    return check_layer(lambda p: b2.RNN(p["Wx"], p["Wh"], p["b"]), inputs={"x": ("n", "d"), "h": ("n", "H")},
                       params={"Wx": ("d", "H"), "Wh": ("H", "H"), "b": ("H",)}, fn=m.rnn_cell,
                       name="book2_rnn", **kw)


def check_lstm(**kw):
    return check_layer(lambda p: b2.LSTM(p["Wx"], p["Wh"], p["b"]),
                       inputs={"x": ("n", "d"), "h": ("n", "H"), "c": ("n", "H")},
                       params={"Wx": ("d", "4*H"), "Wh": ("H", "4*H"), "b": ("4*H",)}, fn=m.lstm_cell,
                       name="book2_lstm",
                       outputs=("h", "c"), **kw)  # glue


def check_gru(**kw):
    return check_layer(lambda p: b2.GRU(p["Wx"], p["Wh"], p["b"]), inputs={"x": ("n", "d"), "h": ("n", "H")},
                       params={"Wx": ("d", "3*H"), "Wh": ("H", "3*H"), "b": ("3*H",)}, fn=m.gru_cell,
                       name="book2_gru", **kw)


def check_time_rnn(**kw):
    return check_layer(lambda p: b2.TimeRNN(p["Wx"], p["Wh"], p["b"]), inputs={"xs": ("n", "T", "d")},
                       params={"Wx": ("d", "H"), "Wh": ("H", "H"), "b": ("H",)}, fn=m.time_rnn,
                       name="book2_time_rnn", **kw)


def check_time_lstm(**kw):
    return check_layer(lambda p: b2.TimeLSTM(p["Wx"], p["Wh"], p["b"]), inputs={"xs": ("n", "T", "d")},
                       params={"Wx": ("d", "4*H"), "Wh": ("H", "4*H"), "b": ("4*H",)}, fn=m.time_lstm,
                       name="book2_time_lstm",
                       sizes={"T": (1, 2, 3)}, **kw)  # rule: short sequences (JAX unrolls the loop)


def check_time_softmax_with_loss(**kw):
    return check_layer(lambda p: b2.TimeSoftmaxWithLoss(), name="book2_time_softmax_with_loss",
                       inputs=[Float("xs", ("n", "T", "v")), Index("ts", ("n", "T"), "v")], fn=m.softmax_loss, **kw)


CHECKS = {f.__name__[len("check_"):]: f for f in [
    check_affine, check_relu, check_sigmoid, check_softmax_with_loss, check_batchnorm, check_convolution,
    check_convolution_pad1, check_pooling, check_dropout_train, check_dropout_eval, check_matmul, check_affine2, check_embedding,
    check_rnn, check_lstm, check_gru, check_time_rnn, check_time_lstm, check_time_softmax_with_loss]}


def glue_lines(check) -> dict[str, int]:
    """How many lines of `check` are marked glue and rule."""
    src = inspect.getsource(check)
    return {k: sum(f"# {k}" in line for line in src.splitlines()) for k in ("glue", "rule")}


@pytest.mark.parametrize("name", list(CHECKS))
def test_book_layer_passes(name):
    report = CHECKS[name](**FAST)
    assert report.results.keys() == {"float64", "float32"}
    report.assert_passed()


def test_glue_is_at_most_three_lines():
    counts = {name: glue_lines(f) for name, f in CHECKS.items()}
    assert all(c["glue"] + c["rule"] <= 3 for c in counts.values()), counts
    assert counts["lstm"]["glue"] == 1 and counts["matmul"] == {"glue": 0, "rule": 0}
