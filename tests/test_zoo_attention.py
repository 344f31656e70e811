"""Attention family: the causal mask is exact (future keys and values get exactly zero gradient and do not
move the output), saturated softmaxes stay finite and correct, and the layers refuse shapes they cannot
handle."""
from dataclasses import replace

import numpy as np
import pytest

import reference as R
from broken_zoo.attention import SdpaCausalMaskForgottenInBackward
from catching import assert_caught
from oracles import REGISTRY, run_check
from oracles.spec import Domain


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_causal_mask_is_exact(dtype):
    rng = np.random.default_rng(0)
    b, t, d, dv = 2, 4, 3, 2
    q, k, v = (rng.uniform(-2, 2, s).astype(dtype) for s in ((b, t, d), (b, t, d), (b, t, dv)))
    layer = R.ScaledDotProductAttention(causal=True)
    out = layer.forward(q, k, v)
    assert np.isfinite(out).all() and out.dtype == dtype
    assert (layer.p[:, np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0).all()
    for i in range(t):
        # the future (keys and values after i) does not move output row i at all
        k2, v2 = k.copy(), v.copy()
        k2[:, i + 1:] += 1
        v2[:, i + 1:] -= 1
        out2 = R.ScaledDotProductAttention(causal=True).forward(q, k2, v2)
        assert np.array_equal(out2[:, : i + 1], out[:, : i + 1])
        # and a gradient from row i reaches no key or value after i: exactly zero, not merely small
        dout = np.zeros_like(out)
        dout[:, i] = 1
        layer.forward(q, k, v)
        dq, dk, dv_ = layer.backward(dout)
        assert not dk[:, i + 1:].any() and not dv_[:, i + 1:].any()
        assert all(np.isfinite(g).all() and g.dtype == dtype for g in (dq, dk, dv_))


def test_causal_with_one_step_is_plain_attention():
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=s) for s in ((2, 1, 3), (2, 1, 3), (2, 1, 2)))
    a, c = R.ScaledDotProductAttention(), R.ScaledDotProductAttention(causal=True)
    assert np.array_equal(a.forward(q, k, v), c.forward(q, k, v))
    dout = rng.normal(size=(2, 1, 2))
    for ga, gc in zip(a.backward(dout), c.backward(dout)):
        assert np.array_equal(ga, gc)


def test_shapes_that_cannot_work_are_refused():
    x = np.zeros((1, 2, 3))
    with pytest.raises(ValueError, match="as many queries as keys"):
        R.ScaledDotProductAttention(causal=True).forward(x, np.zeros((1, 3, 3)), np.zeros((1, 3, 2)))
    W, bias = np.zeros((3, 3)), np.zeros(3)
    with pytest.raises(ValueError, match="multiple of heads"):
        R.MultiHeadAttention(W, W, W, W, bias, bias, bias, bias, heads=2).forward(x)


def test_mha_with_one_head_is_attention_on_the_projections():
    rng = np.random.default_rng(2)
    e = 4
    Wq, Wk, Wv, Wo = (rng.normal(size=(e, e)) for _ in range(4))
    bq, bk, bv, bo = (rng.normal(size=e) for _ in range(4))
    x = rng.normal(size=(2, 3, e))
    out = R.MultiHeadAttention(Wq, Wk, Wv, Wo, bq, bk, bv, bo, heads=1, causal=True).forward(x)
    a = R.ScaledDotProductAttention(causal=True).forward(x @ Wq + bq, x @ Wk + bk, x @ Wv + bv)
    np.testing.assert_allclose(out, a @ Wo + bo, rtol=1e-13, atol=1e-13)


def test_saturated_softmax_stays_finite_and_correct():
    """Scores up to ~|30 * 30 * 4| / 2: the softmax is one-hot to the last bit and its gradient tiny."""
    spec = replace(REGISTRY["sdpa_causal"], name="sdpa_causal_saturated", domain=Domain(-30.0, 30.0))
    result = run_check(spec, "float64", max_examples=15, record=False)
    result.assert_passed()


def test_mask_leak_needs_two_steps():
    """The leaking backward is invisible with one step (nothing is masked) and caught with more."""
    make = lambda p, causal: SdpaCausalMaskForgottenInBackward(causal=causal)  # noqa: E731
    spec = replace(REGISTRY["sdpa_causal"], name="sdpa_causal_leak", make=make)
    one = run_check(replace(spec, sizes={**spec.sizes, "t": (1,)}), "float64", ("numerical",),
                    max_examples=10, record=False)
    assert one.passed
    assert_caught(spec, "float64", by=["grad_v"], oracles=("numerical",), max_examples=10, sizes={**spec.sizes, "t": (2, 3)})
