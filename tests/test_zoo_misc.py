"""Dropout and Embedding behaviour that the gate's per-example comparisons do not show on their own."""
import numpy as np
import pytest
from hypothesis import given, settings

import reference as R
from oracles import REGISTRY
from oracles.spec import resolve
from oracles.strategies import cases, layouts


# --- Embedding: every drawn example repeats an index ------------------------------------------------------
@pytest.mark.parametrize("name", ["embedding", "embedding_2d"])
def test_every_embedding_layout_has_more_indices_than_rows(name):
    spec = REGISTRY[name]
    idx = spec.inputs[0]
    for lay in layouts(spec):
        sizes = dict(lay.sizes)
        assert np.prod(resolve(idx.shape, sizes)) > sizes["v"], f"{name}: layout {sizes} need not repeat an index"


@pytest.mark.parametrize("name", ["embedding", "embedding_2d"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_drawn_embedding_cases_contain_repeated_indices(name, dtype):
    spec = REGISTRY[name]

    @settings(max_examples=50, deadline=None)
    @given(case=cases(spec, dtype))
    def check(case):
        idx = case.inputs["idx"]
        assert len(np.unique(idx)) < idx.size, f"no repeated index in {idx}"

    check()


def test_embedding_accumulates_repeated_rows():
    W = np.arange(6.0).reshape(3, 2)
    layer = R.Embedding(W)
    idx = np.array([[0, 2], [0, 0]])
    np.testing.assert_array_equal(layer.forward(idx), W[idx])
    dout = np.arange(8.0).reshape(2, 2, 2)
    assert layer.backward(dout) is None
    np.testing.assert_array_equal(layer.dW, [dout[0, 0] + dout[1, 0] + dout[1, 1], [0.0, 0.0], dout[0, 1]])


# --- Dropout ------------------------------------------------------------------------------------------------
def test_dropout_own_mask_is_seeded_and_keeps_about_one_minus_p():
    x = np.ones((200, 50), dtype=np.float32)
    a, b = R.Dropout(0.25, seed=7), R.Dropout(0.25, seed=7)
    ya, yb = a.forward(x), b.forward(x)
    np.testing.assert_array_equal(ya, yb)  # the same seed drops the same units
    assert ya.dtype == np.float32
    kept = a.mask.mean()
    assert abs(kept - 0.75) < 0.02
    # inverted dropout: kept units scaled by 1 / (1 - p), so the expectation is unchanged
    np.testing.assert_allclose(np.unique(ya), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs(ya.mean() - 1.0) < 0.03
    np.testing.assert_array_equal(a.backward(np.ones_like(x)), ya)


def test_dropout_given_mask_and_evaluation_mode():
    x = np.array([[1.0, -2.0, 3.0]], dtype=np.float32)
    layer = R.Dropout(0.5)
    y = layer.forward(x, mask=np.array([[1, 0, 1]]))
    np.testing.assert_array_equal(y, [[2.0, 0.0, 6.0]])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), [[2.0, 0.0, 2.0]])
    y = layer.forward(x, train_flg=False)
    np.testing.assert_array_equal(y, x)
    assert y is not x
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 3.0)), np.full_like(x, 3.0))


def test_dropout_rejects_p_one():
    with pytest.raises(ValueError):
        R.Dropout(1.0)
