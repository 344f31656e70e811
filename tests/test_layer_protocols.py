"""The layer protocols beyond the seeds' one (oracles/protocol.py, oracles/relations.py): params/grads lists,
keyword flags for forward, several outputs, inputs by keyword, backward returning a dict, relations between
sizes. Each: a correct layer passes, a broken one is caught at the named stage (tests/catching.py), and a
misuse is a one-line error. The books' layers themselves are in tests/test_book_styles.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from catching import assert_caught
from oracles import check_layer, layer_spec
from oracles.names import FRAMEWORKS, Stage
from oracles.protocol import weighted_sum
from oracles.relations import parse_relation
from oracles.strategies import cotangents, layouts
from book_styles import book1 as b1, book2 as b2, maths as m

FAST = dict(max_examples=4, record=False)
N = 8  # examples for a broken layer: enough for Hypothesis to find it, few enough to stay fast


# --- params / grads lists (book 2) ----------------------------------------------------------------------
class MatMulOff(b2.MatMul):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads[0][...] *= 1.001  # 0.1% off
        return dx


class ZeroesAtForward(b2.Affine):
    """Resets its gradient buffers at every forward (a zero_grad habit): a gradient read after a later call
    would be zeros; read the moment backward returns, it is right."""

    def forward(self, x):
        for g in self.grads:
            g[...] = 0
        return super().forward(x)


def _matmul_spec(cls, name, **kw):
    return layer_spec(lambda p: cls(p["W"]), inputs={"x": ("n", "i")}, params={"W": ("i", "o")},
                      fn=lambda xp, x, W: x @ W, name=name, **kw)


def test_grads_list_is_compared_by_every_checker():
    report = check_layer(lambda p: b2.MatMul(p["W"]), inputs={"x": ("n", "i")}, params={"W": ("i", "o")},
                         fn=lambda xp, x, W: x @ W, name="p_matmul", dtypes=("float64",), **FAST)
    r = report.results["float64"]
    assert r.passed and all(r.counts.get((o, "grad_W"), 0) > 0 for o in ("torch", "jax", "numerical"))


def test_grads_list_off_by_a_thousandth_is_caught():
    assert_caught(_matmul_spec(MatMulOff, "p_matmul_off"), "float64", by=["grad_W"], max_examples=N)


def test_grads_copied_when_backward_returns():
    check_layer(lambda p: ZeroesAtForward(p["W"], p["b"]), inputs={"x": ("n", "i")},
                params={"W": ("i", "o"), "b": ("o",)}, fn=lambda xp, x, W, b: x @ W + b, name="p_zeroes",
                **FAST).assert_passed()


def test_params_in_another_order_than_the_list_is_named():
    r = check_layer(lambda p: b2.Affine(p["W"], p["b"]), inputs={"x": ("n", "i")},
                    params={"b": ("o",), "W": ("i", "o")}, fn=lambda xp, x, b, W: x @ W + b, name="p_order",
                    dtypes=("float64",), **FAST).results["float64"]
    assert not r.passed
    assert "list params in the order of the layer's self.params" in r.message("torch", "grad_b")


@pytest.mark.parametrize("grads, words", [([np.zeros(1)] * 3, "grads list has 3 entries"),
                                          (None, "no gradient attribute dW after backward")])
def test_grads_list_misfit_is_named(grads, words):
    class Odd(b2.MatMul):
        def backward(self, dout):
            dx = super().backward(dout)
            if grads is None:
                del self.grads
            else:
                self.grads = grads
            return dx
    r = check_layer(lambda p: Odd(p["W"]), inputs={"x": ("n", "i")}, params={"W": ("i", "o")},
                    fn=lambda xp, x, W: x @ W, name="p_odd", dtypes=("float64",), **FAST).results["float64"]
    assert not r.passed and words in r.message("torch", "grad_W")


# --- keyword flags --------------------------------------------------------------------------------------
class BatchNormConstStats(b1.BatchNormalization):
    def backward(self, dout):
        super().backward(dout)
        return self.gamma * dout / self.std  # mean and variance treated as constants


def _bn_spec(cls, name, **kw):
    return layer_spec(lambda p: cls(p["gamma"], p["beta"]), inputs={"x": ("n", "d")},
                      params={"gamma": ("d",), "beta": ("d",)}, fn=m.batchnorm_train, name=name,
                      sizes={"n": (2, 3, 5)}, domain=b1_domain(), **kw)


def b1_domain():
    from oracles import Domain
    return Domain(-40, 40, spacing=2.0)


def test_forward_flag_is_given_to_every_call():
    class Strict(b1.BatchNormalization):
        def forward(self, x, *, train_flg):  # no default: a call without the flag raises
            return super().forward(x, train_flg)
    check_layer(lambda p: Strict(p["gamma"], p["beta"]), inputs={"x": ("n", "d")},
                params={"gamma": ("d",), "beta": ("d",)}, fn=m.batchnorm_train, name="p_strict_bn",
                sizes={"n": (2, 3, 5)}, domain=b1_domain(), forward_kwargs={"train_flg": True}, **FAST).assert_passed()
    r = check_layer(lambda p: Strict(p["gamma"], p["beta"]), inputs={"x": ("n", "d")},
                    params={"gamma": ("d",), "beta": ("d",)}, fn=m.batchnorm_train, name="p_strict_bn",
                    sizes={"n": (2, 3, 5)}, domain=b1_domain(), dtypes=("float64",), **FAST).results["float64"]
    assert "forward raised TypeError" in r.message("torch", "forward")


def test_forward_flag_broken_backward_is_caught():
    spec = _bn_spec(BatchNormConstStats, "p_bn_const", forward_kwargs={"train_flg": True})
    assert_caught(spec, "float64", by=["grad_x"], max_examples=N)


def test_eval_flag_is_a_different_layer():
    # train_flg=False: the book's test-time scaling; checked against the train math it fails at the forward
    spec = layer_spec(lambda p: b1.Dropout(0.5, seed=0), inputs={"x": ("n", "d")}, name="p_dropout_flag",
                      fn=lambda xp, x: x * xp.asarray(b1.keep_mask(x.shape, 0.5, 0), dtype=x.dtype),
                      forward_kwargs={"train_flg": False})
    assert_caught(spec, "float64", by={"torch": ["forward"]}, max_examples=N)  # JAX sees the shrunk x = 0


# --- several outputs ------------------------------------------------------------------------------------
LSTM_SHAPES = dict(inputs={"x": ("n", "d"), "h": ("n", "H"), "c": ("n", "H")},
                   params={"Wx": ("d", "4*H"), "Wh": ("H", "4*H"), "b": ("4*H",)})


def _lstm_spec(cls, name, **kw):
    return layer_spec(lambda p: cls(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, fn=m.lstm_cell, name=name,
                      outputs=("h", "c"), **kw)


class LSTMNoForgetInDc(b2.LSTM):
    def backward(self, dh_next, dc_next):
        dx, dh, dc = super().backward(dh_next, dc_next)
        return dx, dh, dc / self.cache[3]  # dc_prev without the forget gate


class LSTMIgnoresDc(b2.LSTM):
    def backward(self, dh_next, dc_next):
        return super().backward(dh_next, np.zeros_like(dc_next))


class LSTMCOff(b2.LSTM):
    def forward(self, x, h_prev, c_prev):
        h, c = super().forward(x, h_prev, c_prev)
        return h, c + 1e-3  # only the returned c is off: h and every gradient are right


class LSTMTupleBackward(b2.LSTM):
    def forward(self, x, h_prev, c_prev):
        h, c = super().forward(x, h_prev, c_prev)
        return {"c": c, "h": h}  # a dict keyed by output name

    def backward(self, douts):  # one argument: the cotangents as a tuple (dh, dc)
        return super().backward(*douts)


def test_two_outputs_each_compared():
    r = check_layer(lambda p: b2.LSTM(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, fn=m.lstm_cell, name="p_lstm",
                    outputs=("h", "c"), dtypes=("float64",), **FAST).results["float64"]
    assert r.passed
    assert r.stages[:2] == ["forward_h", "forward_c"]
    assert all(r.counts.get((o, f), 0) > 0 for o in FRAMEWORKS for f in ("forward_h", "forward_c"))


def test_dict_outputs_and_tuple_cotangents_pass():
    check_layer(lambda p: LSTMTupleBackward(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, fn=m.lstm_cell,
                name="p_lstm_dict", outputs=("h", "c"), **FAST).assert_passed()


def test_dc_without_forget_gate_is_caught():
    assert_caught(_lstm_spec(LSTMNoForgetInDc, "p_lstm_dc"), "float64", by=["grad_c"], max_examples=N)


def test_ignoring_the_second_cotangent_is_caught():
    assert_caught(_lstm_spec(LSTMIgnoresDc, "p_lstm_nodc"), "float64", by=["grad_c"], max_examples=N)


def test_second_output_off_is_caught_at_its_forward():
    res = assert_caught(_lstm_spec(LSTMCOff, "p_lstm_coff"), "float32", by={FRAMEWORKS: ["forward_c"]},
                        max_examples=N)
    assert not any(res.stage_failed(o, s) for o in FRAMEWORKS for s in res.stages if s != "forward_c")
    assert not any(res.stage_failed("numerical", s) for s in res.stages if not Stage(s).is_forward)


def test_each_output_has_its_own_cotangent():
    spec = _lstm_spec(b2.LSTM, "p_lstm_ct")
    dh, dc = cotangents(spec, [(2, 3), (2, 3)], "float64", 7)
    assert dh.shape == dc.shape == (2, 3) and not np.allclose(np.abs(dh), np.abs(dc))
    assert weighted_sum((np.ones(2), np.ones(3)), (dh[0, :2], dc[0])) == pytest.approx(dh[0, :2].sum() + dc[0].sum())


def test_wrong_number_of_outputs_is_named():
    class Three(b2.LSTM):
        def forward(self, x, h, c):
            return (*super().forward(x, h, c), x)
    r = check_layer(lambda p: Three(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, fn=m.lstm_cell, name="p_three",
                    outputs=("h", "c"), dtypes=("float64",), **FAST).results["float64"]
    assert "forward returned 3 outputs but outputs=('h', 'c') names 2" in r.message("torch", "forward_h")


def test_math_with_one_output_for_two_is_an_error():
    with pytest.raises(Exception, match="the math returned one array but outputs=\\('h', 'c'\\)"):
        check_layer(lambda p: b2.LSTM(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, name="p_one_math",
                    fn=lambda xp, x, h, c, Wx, Wh, b: m.lstm_cell(xp, x, h, c, Wx, Wh, b)[0], outputs=("h", "c"),
                    dtypes=("float64",), **FAST)


# --- inputs by keyword, backward returning a dict -------------------------------------------------------
class KeywordRNN(b2.RNN):
    def forward(self, *, h, x):  # keyword-only, in another order than the check lists them
        return super().forward(x, h)

    def backward(self, dh_next):
        dx, dh = super().backward(dh_next)
        return {"h": dh, "x": dx}


class KeywordRNNSwapped(KeywordRNN):
    def backward(self, dh_next):
        g = super().backward(dh_next)
        return {"h": g["x"], "x": g["h"]}  # the two gradients exchanged (same shapes when d == H)


def _kw_spec(cls, name, **kw):
    return layer_spec(lambda p: cls(p["Wx"], p["Wh"], p["b"]), inputs={"x": ("n", "d"), "h": ("n", "H")},
                      params={"Wx": ("d", "H"), "Wh": ("H", "H"), "b": ("H",)}, keyword_inputs=True, name=name,
                      fn=lambda xp, *, x, h, Wx, Wh, b: m.rnn_cell(xp, x, h, Wx, Wh, b), **kw)


def test_keyword_inputs_and_dict_gradients_pass():
    check_layer(lambda p: KeywordRNN(p["Wx"], p["Wh"], p["b"]), inputs={"x": ("n", "d"), "h": ("n", "H")},
                params={"Wx": ("d", "H"), "Wh": ("H", "H"), "b": ("H",)}, keyword_inputs=True, name="p_kw_rnn",
                fn=lambda xp, *, x, h, Wx, Wh, b: m.rnn_cell(xp, x, h, Wx, Wh, b), **FAST).assert_passed()


def test_swapped_dict_gradients_are_caught():
    spec = _kw_spec(KeywordRNNSwapped, "p_kw_swapped", sizes={"d": (3,), "H": (3,)})
    assert_caught(spec, "float64", by=["grad_x", "grad_h"], max_examples=N)


def test_dict_with_an_unknown_key_is_named():
    class Unknown(KeywordRNN):
        def backward(self, dh_next):
            return {**super().backward(dh_next), "y": 0}
    spec = _kw_spec(Unknown, "p_kw_unknown")
    r = check_layer(spec.make, inputs=spec.inputs, params=spec.params, fn=spec.fn, keyword_inputs=True,
                    name="p_kw_unknown", dtypes=("float64",), **FAST).results["float64"]
    assert "backward returned gradients for ['y'], which are not inputs of the layer" in r.message("torch", "grad_x")


# --- relations between sizes ----------------------------------------------------------------------------
def _conv_kw(**kw):
    return dict(inputs={"x": ("n", "c", "h", "w")}, params={"W": ("f", "c", "kh", "kw"), "b": ("f",)},
                torch_fn=m.torch_conv, jax_fn=m.jax_conv, **kw)


def test_every_layout_satisfies_the_relations():
    spec = layer_spec(lambda p: b1.Convolution(p["W"], p["b"]), name="p_conv_rel",
                      **_conv_kw(relations=("kh <= h", "kw <= w", "h + w >= 2*kh")))
    lays = [dict(lay.sizes) for lay in layouts(spec)]
    assert len(lays) == spec.layouts
    assert all(s["kh"] <= s["h"] and s["kw"] <= s["w"] and s["h"] + s["w"] >= 2 * s["kh"] for s in lays)
    assert len({v for v in lays[0].values() if v > 1}) >= 3  # layout 0 still spreads its sizes


def test_without_the_relation_the_kernel_overflows():
    # sizes that make every layout's kernel larger than its image: what the relation would have prevented
    big_kernel = {"n": (1,), "c": (1,), "f": (1,), "h": (2,), "w": (2,), "kh": (3,), "kw": (3,)}
    with pytest.raises(Exception, match="oracle torch failed on shapes"):
        check_layer(lambda p: b1.Convolution(p["W"], p["b"]), name="p_conv_norel", dtypes=("float64",),
                    sizes=big_kernel, **_conv_kw(**FAST))


def test_broken_conv_under_relations_is_caught():
    class ConvNoDb(b1.Convolution):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = self.db * 1.001
            return dx
    spec = layer_spec(lambda p: ConvNoDb(p["W"], p["b"]), name="p_conv_off", **_conv_kw(relations=("kh <= h", "kw <= w")))
    assert_caught(spec, "float64", by=["grad_b"], max_examples=N)


@pytest.mark.parametrize("relations, words", [
    (("kh <<= h",), "expected one comparison"),
    (("kh <= ",), "a side is empty"),
    (("kh + <= h",), "an empty term"),
    (("kh <= h <= 9",), "expected one comparison"),
    (("kh <= h/2",), "expected size names and integers"),
    (("z <= h",), "names ['z'], which no shape uses"),
    (("h > 5",), "cannot all hold for any sizes"),
])
def test_bad_relation_is_one_line(relations, words):
    with pytest.raises(ValueError) as e:
        layer_spec(lambda p: b1.Convolution(p["W"], p["b"]), name="p_conv_bad", **_conv_kw(relations=relations))
    text = str(e.value)
    assert words in text and "\n" not in text and text.startswith("p_conv_bad: ")


def test_relation_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match="p_conv_bad: relation 3"):
        layer_spec(lambda p: b1.Convolution(p["W"], p["b"]), name="p_conv_bad", **_conv_kw(relations=(3,)))


def test_relation_arithmetic():
    r = parse_relation("-k + 2*h*w >= 3")
    assert r.names() == ["k", "h", "w"] and r.holds({"k": 1, "h": 1, "w": 2}) and not r.holds({"k": 2, "h": 1, "w": 2})


# --- misuse of the protocol arguments -------------------------------------------------------------------
@pytest.mark.parametrize("kw, err, words", [
    (dict(outputs=("h",)), ValueError, "names one output"),
    (dict(outputs=("h", "h")), ValueError, "each output name once"),
    (dict(outputs=("h", "2c")), ValueError, "output name '2c'"),
    (dict(forward_kwargs=["train_flg"]), TypeError, "forward_kwargs=['train_flg']"),
    (dict(keyword_inputs="yes"), TypeError, "keyword_inputs='yes'"),
])
def test_protocol_misuse_is_one_line(kw, err, words):
    with pytest.raises(err) as e:
        layer_spec(lambda p: b2.LSTM(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, fn=m.lstm_cell, name="p_misuse", **kw)
    assert words in str(e.value) and "\n" not in str(e.value) and str(e.value).startswith("p_misuse: ")


def test_stage_names():
    assert Stage.forward("c") == "forward_c" and Stage("forward_c").is_forward and Stage("forward_c").kind == "forward"
    with pytest.raises(ValueError, match="forward_<output>"):
        Stage("forward_")


def test_several_outputs_reach_the_report(tmp_path):
    from oracles import records
    from reports.aggregate import summarize
    from reports.records_io import load

    with records.to(tmp_path):
        check_layer(lambda p: b2.LSTM(p["Wx"], p["Wh"], p["b"]), **LSTM_SHAPES, fn=m.lstm_cell, name="p_lstm_rec",
                    outputs=("h", "c"), dtypes=("float64",), oracles=("torch",), max_examples=2)
    summary = summarize(load(tmp_path)[0])
    stages = {s for row in summary["rows"] for s in row["stages"]}
    assert {"forward_h", "forward_c", "grad_c"} <= stages and summary["totals"]["failed"] == 0


def test_free_layouts_satisfy_the_relations(monkeypatch):
    from hypothesis import given, settings
    from oracles.strategies import layout_for

    monkeypatch.setenv("ORACLE_LAYOUTS", "free")
    spec = layer_spec(lambda p: b1.Convolution(p["W"], p["b"]), name="p_conv_free",
                      **_conv_kw(relations=("kh <= h", "kw <= w")))

    @settings(max_examples=30, database=None)
    @given(layout_for(spec))
    def drawn(lay):
        sizes, _, index = lay
        assert index == -1 and sizes["kh"] <= sizes["h"] and sizes["kw"] <= sizes["w"]
    drawn()


def test_assert_layer_names_the_stage_of_a_book2_layer():
    from oracles import OracleMismatch, assert_layer

    with pytest.raises(OracleMismatch, match=r"p_assert_off \[float64\] grad_W vs torch"):
        assert_layer(lambda p: MatMulOff(p["W"]), inputs={"x": ("n", "i")}, params={"W": ("i", "o")},
                     fn=lambda xp, x, W: x @ W, name="p_assert_off", dtypes=("float64",), oracles=("torch",), **FAST)


def test_docstring_examples_run():
    import doctest

    import oracles.names
    import oracles.protocol
    import oracles.relations

    for module in (oracles.names, oracles.protocol, oracles.relations):
        assert doctest.testmod(module).failed == 0, module.__name__
