"""BatchNorm's running statistics against PyTorch's, and the mapping between the two momentum conventions.

The reference keeps the book's convention, momentum weighs the OLD value:
    running = momentum * running + (1 - momentum) * batch_stat
PyTorch's momentum weighs the NEW value:
    running = (1 - momentum) * running + momentum * batch_stat
so R.BatchNorm(momentum=m) must match F.batch_norm(..., training=True, momentum=1 - m). Both put the
UNBIASED batch variance into running_var (the normalization itself uses the biased one), and both start
from running_mean = 0, running_var = 1.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import reference as R
from oracles.spec import Domain
from oracles.strategies import float_arrays

EPS = 1e-5
TOL = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-5)}


@st.composite
def training_runs(draw, ndim):
    """A dtype, a momentum (book convention), initial running statistics and 1..4 batches of one shape."""
    dtype = draw(st.sampled_from(["float64", "float32"]))
    if ndim == 2:
        shape = (draw(st.sampled_from([2, 3, 5])), draw(st.sampled_from([1, 2, 3])))
        ch = shape[1]
    else:
        shape = (draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from([1, 2])), 2, draw(st.sampled_from([1, 3])))
        ch = shape[1]
    momentum = draw(st.sampled_from([0.9, 0.99, 0.5, 0.0, 0.75]))
    steps = draw(st.integers(1, 4))
    xs = [draw(float_arrays(dtype, shape, Domain(-4.0, 4.0))) for _ in range(steps)]
    rm0 = draw(float_arrays(dtype, (ch,), Domain(-2.0, 2.0)))
    rv0 = draw(float_arrays(dtype, (ch,), Domain(0.25, 4.0)))
    return dtype, momentum, rm0, rv0, xs


def _run_reference(momentum, rm0, rv0, xs):
    ch = rm0.shape[0]
    layer = R.BatchNorm(np.ones(ch, rm0.dtype), np.zeros(ch, rm0.dtype), momentum=momentum,
                        running_mean=rm0.copy(), running_var=rv0.copy(), eps=EPS)
    history = []
    for x in xs:
        layer.forward(x, train_flg=True)
        history.append((layer.running_mean.copy(), layer.running_var.copy()))
    return layer, history


def _run_torch(momentum, rm0, rv0, xs):
    rm, rv = torch.from_numpy(rm0.copy()), torch.from_numpy(rv0.copy())
    history = []
    for x in xs:
        # PyTorch's momentum is the weight of the NEW statistic: 1 - the book's
        F.batch_norm(torch.from_numpy(x), rm, rv, training=True, momentum=1 - momentum, eps=EPS)
        history.append((rm.numpy().copy(), rv.numpy().copy()))
    return history


@pytest.mark.parametrize("ndim", [2, 4])
@given(data=st.data())
def test_running_stats_match_pytorch_after_each_forward(ndim, data):
    dtype, momentum, rm0, rv0, xs = data.draw(training_runs(ndim))
    if ndim == 4 and xs[0].shape[0] * xs[0].shape[2] * xs[0].shape[3] < 2:
        return  # one value per channel: PyTorch refuses it in training mode, so does the reference
    _, ours = _run_reference(momentum, rm0, rv0, xs)
    theirs = _run_torch(momentum, rm0, rv0, xs)
    for step, ((m, v), (tm, tv)) in enumerate(zip(ours, theirs), 1):
        assert m.dtype == np.dtype(dtype) and v.dtype == np.dtype(dtype), f"running stats upcast at step {step}"
        np.testing.assert_allclose(m, tm, **TOL[dtype], err_msg=f"running_mean after {step} forward(s)")
        np.testing.assert_allclose(v, tv, **TOL[dtype], err_msg=f"running_var after {step} forward(s)")


@given(data=st.data())
def test_one_step_is_the_documented_formula(data):
    """The mapping spelled out: book momentum on the old value, unbiased variance; not the book's biased one."""
    _, momentum, rm0, rv0, xs = data.draw(training_runs(2))
    rm0, rv0, x = rm0.astype(np.float64), rv0.astype(np.float64), xs[0].astype(np.float64)
    _, [(m, v)] = _run_reference(momentum, rm0, rv0, [x])
    np.testing.assert_allclose(m, momentum * rm0 + (1 - momentum) * x.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(v, momentum * rv0 + (1 - momentum) * x.var(axis=0, ddof=1), rtol=1e-12, atol=1e-12)
    biased = momentum * rv0 + (1 - momentum) * x.var(axis=0, ddof=0)
    spread = x.var(axis=0, ddof=0) > 1e-6
    if momentum < 1 and spread.any():  # the book's biased update would be smaller wherever the batch varies
        assert np.all(v[spread] > biased[spread])


def test_default_running_stats_match_torch_module():
    """No running statistics given: the reference starts where nn.BatchNorm1d / 2d start (0 and 1)."""
    rng = np.random.default_rng(0)
    for shape, module in [((4, 3), torch.nn.BatchNorm1d(3, eps=EPS, momentum=0.1)),
                          ((2, 3, 2, 2), torch.nn.BatchNorm2d(3, eps=EPS, momentum=0.1))]:
        module = module.double()
        layer = R.BatchNorm(np.ones(3), np.zeros(3), momentum=0.9, eps=EPS)
        for _ in range(3):
            x = rng.normal(size=shape)
            out = layer.forward(x)
            tout = module(torch.from_numpy(x)).detach().numpy()
            np.testing.assert_allclose(out, tout, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.running_var, module.running_var.numpy(), rtol=1e-12, atol=1e-12)
        # evaluation mode then normalizes with those running statistics, as the module in eval() does
        x = rng.normal(size=shape)
        module.eval()
        np.testing.assert_allclose(layer.forward(x, train_flg=False), module(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_training_with_one_value_per_feature_is_refused():
    layer = R.BatchNorm(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError):
        layer.forward(np.ones((1, 2)))
    with pytest.raises(ValueError):
        torch.nn.functional.batch_norm(torch.ones(1, 2), None, None, training=True)


@pytest.mark.parametrize("kind", ["batchnorm", "layernorm"])
@given(value=st.floats(-4, 4, width=32), n=st.integers(2, 300))
def test_a_constant_float32_group_normalizes_to_exactly_zero(kind, value, n):
    """PyTorch and JAX centre a constant float32 group to exactly 0; a float32 running sum would not."""
    if kind == "batchnorm":  # normalizes each column over the n rows
        x, layer = np.full((n, 3), value, np.float32), R.BatchNorm(np.ones(3, np.float32), np.zeros(3, np.float32))
    else:  # normalizes each row over its n entries
        x, layer = np.full((3, n), value, np.float32), R.LayerNorm(np.ones(n, np.float32), np.zeros(n, np.float32))
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert np.all(out == 0), out
