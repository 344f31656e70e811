"""What the reference promises besides its gradients: parameter bookkeeping, its public helpers, dtypes.

The gate reads each gradient as `layer.d<name>` for the names in the registry entry; Sequential and a
researcher's optimizer loop read `param_names`, `params()` and `grads()` instead. Mutation testing showed
those could be wrong without the gate noticing (mutation/triage.py).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference as R
from oracles import REGISTRY
from oracles.strategies import cases
from reference.conv import col2im, conv_output_size, im2col


@pytest.mark.parametrize("name", sorted(REGISTRY))
@given(data=st.data())
def test_param_names_match_the_registry_and_grads_follow_backward(name, data):
    spec = REGISTRY[name]
    case = data.draw(cases(spec, "float64"), label="case")
    layer = spec.make({k: v.copy() for k, v in case.params.items()}, **spec.config)
    names = tuple(getattr(layer, "param_names", ()))
    assert set(names) == set(spec.params), f"{name}: param_names {names} != registry {sorted(spec.params)}"
    for p in names:
        assert layer.params()[p] is getattr(layer, p)
    out = layer.forward(*[np.array(case.inputs[a.name]) for a in spec.inputs])
    layer.backward(np.ones_like(out))
    for p, g in layer.grads().items():
        assert g is not None and g.shape == case.params[p].shape, f"{name}: grads()[{p!r}]"


def test_conv2d_without_bias_has_only_W():
    assert R.Conv2d(np.zeros((2, 1, 1, 1))).param_names == ("W",)
    assert R.Conv2d(np.zeros((2, 1, 1, 1)), np.zeros(2)).param_names == ("W", "b")


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6),
       k=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2), dilation=st.integers(1, 2),
       defaults=st.booleans(), seed=st.integers(0, 2**16))
def test_col2im_is_the_adjoint_of_im2col(n, c, h, w, k, stride, pad, dilation, defaults, seed):
    """<im2col(x), C> == <x, col2im(C)> for every x and C: what makes col2im the correct backward of im2col.
    With defaults=True, both are called with their defaults (stride 1, pad 0, dilation 1)."""
    if defaults:
        stride, pad, dilation = 1, 0, 1
    span = dilation * (k - 1) + 1
    if h + 2 * pad < span or w + 2 * pad < span:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    args = () if defaults else (stride, pad, dilation)
    col = im2col(x, k, k, *args)
    oh, ow = (conv_output_size(s, k) if defaults else conv_output_size(s, k, stride, pad, dilation) for s in (h, w))
    assert col.shape == (n * oh * ow, c * k * k)
    C = rng.standard_normal(col.shape)
    back = col2im(C, x.shape, k, k, *args)
    assert back.shape == x.shape
    assert np.isclose(np.sum(col * C), np.sum(x * back), rtol=1e-12, atol=1e-12)


def test_conv_output_size_defaults_and_formula():
    assert conv_output_size(5, 3) == 3  # stride 1, no padding, no dilation
    assert conv_output_size(5, 3, 2, 1) == 3 and conv_output_size(7, 3, 1, 0, 2) == 3


def test_a_fresh_float32_batchnorm_stays_float32():
    """Running statistics start in the input's dtype, so evaluation after training returns float32."""
    x = np.random.default_rng(0).uniform(-2, 2, (5, 3)).astype(np.float32)
    layer = R.BatchNorm(np.ones(3, np.float32), np.zeros(3, np.float32))
    layer.forward(x)
    assert layer.running_mean.dtype == layer.running_var.dtype == np.float32
    assert layer.forward(x, train_flg=False).dtype == np.float32


def test_dropout_with_p_0_is_the_identity():
    x = np.random.default_rng(1).standard_normal((4, 5))
    layer = R.Dropout(p=0.0)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
