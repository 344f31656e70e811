"""Each reference layer built with its DEFAULT arguments against PyTorch's defaults (or the documented value).

The gate always passes configuration explicitly, so a wrong default (BatchNorm's eps, LeakyRelu's slope,
a pooling stride that is not the kernel) is invisible to it; mutation testing showed these as survivors.
A researcher who writes `LeakyRelu()` expects `torch.nn.LeakyReLU()`. Forward and backward are compared
with a random cotangent, in float64. Also: every argument check raises a ValueError that says what is wrong.
"""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import reference as R

RTOL, ATOL = 1e-12, 1e-12


def _t(a, grad=True):
    return torch.tensor(a, requires_grad=grad)


def _close(ours, theirs, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def _unary_case(layer, torch_fn, x):
    """forward, then backward with a random cotangent, against torch_fn under autograd."""
    rng = np.random.default_rng(1)
    xt = _t(x)
    ref_out = layer.forward(x.copy())
    out = torch_fn(xt)
    _close(ref_out, out, "forward")
    g = rng.standard_normal(out.shape)
    out.backward(torch.tensor(g))
    _close(layer.backward(g), xt.grad, "backward")


X = np.random.default_rng(0).uniform(-3, 3, (4, 3, 6, 5))
UNARY = {
    "LeakyRelu() slope 0.01": (lambda: R.LeakyRelu(), torch.nn.LeakyReLU()),
    "Elu() alpha 1": (lambda: R.Elu(), torch.nn.ELU()),
    "Gelu() exact erf": (lambda: R.Gelu(), torch.nn.GELU()),
    "Softmax() last axis": (lambda: R.Softmax(), lambda t: torch.softmax(t, -1)),
    "LogSoftmax() last axis": (lambda: R.LogSoftmax(), lambda t: torch.log_softmax(t, -1)),
    "MaxPool2d(2) stride = kernel, pad 0": (lambda: R.MaxPool2d(2), lambda t: F.max_pool2d(t, 2)),
    "AvgPool2d(3) stride = kernel, pad 0": (lambda: R.AvgPool2d(3), lambda t: F.avg_pool2d(t, 3)),
    # small inputs (x 1e-3): eps must be a visible part of mean(x**2) + eps
    "RMSNorm(gamma) eps 1e-6": (lambda: R.RMSNorm(np.linspace(0.5, 1.5, 5)),
                                lambda t: F.rms_norm(t, (5,), torch.tensor(np.linspace(0.5, 1.5, 5)), eps=1e-6),
                                1e-3),
    "LayerNorm(gamma, beta) eps 1e-5": (lambda: R.LayerNorm(np.linspace(0.5, 1.5, 5), np.linspace(-1, 1, 5)),
                                        lambda t: F.layer_norm(t, (5,), torch.tensor(np.linspace(0.5, 1.5, 5)),
                                                               torch.tensor(np.linspace(-1, 1, 5)))),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_layer_defaults_match_pytorch(name):
    make, torch_fn, *scale = UNARY[name]
    _unary_case(make(), torch_fn, X * (scale[0] if scale else 1.0))


def test_conv2d_defaults_match_pytorch():
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((4, 3, 2, 3)), rng.standard_normal(4)
    _unary_case(R.Conv2d(W, b), lambda t: F.conv2d(t, torch.tensor(W), torch.tensor(b)), X)


def test_batchnorm_defaults_match_pytorch():
    """Defaults: eps 1e-5, book momentum 0.9 (= PyTorch's 0.1), running statistics start at 0 and 1."""
    rng = np.random.default_rng(3)
    x, gamma, beta = rng.uniform(-2, 2, (6, 3)) * 1e-2, rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3)
    layer = R.BatchNorm(gamma.copy(), beta.copy())
    bn = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    for step in range(2):  # two training steps move the running statistics from their initial values
        xt = _t(x + step)
        out = bn(xt)
        _close(layer.forward(x + step), out, f"train forward step {step}")
        g = rng.standard_normal(out.shape)
        out.backward(torch.tensor(g))
        _close(layer.backward(g), xt.grad, f"train backward step {step}")
    _close(layer.running_mean, bn.running_mean, "running_mean")
    _close(layer.running_var, bn.running_var, "running_var")
    bn.eval()
    _close(layer.forward(x, train_flg=False), bn(_t(x)), "eval forward")


def test_fresh_batchnorm_in_evaluation_uses_mean_0_variance_1():
    x = np.random.default_rng(4).uniform(-2, 2, (3, 2))
    out = R.BatchNorm(np.ones(2), np.zeros(2)).forward(x, train_flg=False)
    _close(out, x / np.sqrt(1 + 1e-5), "eval before any training step")


@pytest.mark.parametrize("name, make, torch_loss", [
    ("MSELoss() mean", lambda: R.MSELoss(), torch.nn.MSELoss()),
    ("HuberLoss() delta 1", lambda: R.HuberLoss(), torch.nn.HuberLoss()),
    ("SmoothL1Loss() beta 1", lambda: R.SmoothL1Loss(), torch.nn.SmoothL1Loss()),
    ("BCEWithLogitsLoss() mean", lambda: R.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()),
])
def test_loss_defaults_match_pytorch(name, make, torch_loss):
    rng = np.random.default_rng(5)
    y = rng.uniform(-3, 3, (4, 3))
    t = rng.uniform(0, 1, (4, 3)) if "BCE" in name else rng.uniform(-3, 3, (4, 3))
    layer, yt = make(), _t(y)
    loss = torch_loss(yt, torch.tensor(t))
    _close(layer.forward(y, t), loss, "forward")
    loss.backward()
    dx = layer.backward()  # the default upstream gradient is 1: the loss is the end of the graph
    _close(dx[0] if isinstance(dx, tuple) else dx, yt.grad, "backward")


def test_nll_loss_defaults_match_pytorch():
    rng = np.random.default_rng(6)
    x, t = torch.log_softmax(torch.tensor(rng.standard_normal((5, 4))), -1).numpy(), rng.integers(0, 4, 5)
    layer, xt = R.NLLLoss(), _t(x)
    loss = F.nll_loss(xt, torch.tensor(t))
    _close(layer.forward(x, t), loss, "forward")
    loss.backward()
    _close(layer.backward(), xt.grad, "backward")


def test_softmax_with_loss_and_mse_default_upstream_gradient_is_one():
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((3, 4)), rng.integers(0, 4, 3)
    a, b = R.SoftmaxWithLoss(), R.SoftmaxWithLoss()
    a.forward(x, t), b.forward(x, t)
    _close(a.backward(), b.backward(1.0), "SoftmaxWithLoss.backward()")
    m1, m2 = R.MeanSquaredError(), R.MeanSquaredError()
    y = rng.standard_normal((3, 4))
    m1.forward(y, x), m2.forward(y, x)
    _close(m1.backward()[0], m2.backward(1.0)[0], "MeanSquaredError.backward()")


def test_dropout_defaults_drop_half_and_scale_by_two():
    x = np.ones((200, 100))
    layer = R.Dropout()
    out = layer.forward(x)
    assert set(np.unique(out)) == {0.0, 2.0}  # p = 0.5: kept units scaled by 1 / (1 - p)
    assert 0.47 < (out > 0).mean() < 0.53
    np.testing.assert_array_equal(layer.backward(x), out)
    # seed=None draws fresh masks; a seed replays them
    assert not np.array_equal(R.Dropout().forward(x), R.Dropout().forward(x))
    np.testing.assert_array_equal(R.Dropout(seed=3).forward(x), R.Dropout(seed=3).forward(x))


def test_attention_defaults_are_not_causal():
    rng = np.random.default_rng(8)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    out = R.ScaledDotProductAttention().forward(q, k, v)
    _close(out, F.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v)), "sdpa")


def test_concat_default_axis_is_last():
    a, b = np.zeros((2, 3)), np.ones((2, 4))
    assert R.Concat().forward(a, b).shape == (2, 7)


def test_multi_head_attention_default_is_not_causal():
    """Not causal by default: the first position's output depends on the last token."""
    rng = np.random.default_rng(9)
    D = 4
    Ws = [rng.standard_normal((D, D)) for _ in range(4)]
    bs = [rng.standard_normal(D) for _ in range(4)]
    x = rng.standard_normal((1, 3, D))
    y = x.copy()
    y[0, -1] += 1.0
    first = [R.MultiHeadAttention(*Ws, *bs, heads=2).forward(a)[0, 0] for a in (x, y)]
    assert not np.allclose(*first)


@pytest.mark.parametrize("make, match", [
    (lambda: R.Gelu("sigmoid"), "approximate must be 'none' or 'tanh', not 'sigmoid'"),
    (lambda: R.MSELoss("max"), "reduction must be 'mean' or 'sum', not 'max'"),
    (lambda: R.SmoothL1Loss(beta=0.0), r"beta must be positive \(beta = 0 is the L1 loss, not handled here\)"),
    (lambda: R.Dropout(p=1.0), r"dropout probability must be in \[0, 1\), got 1.0"),
    (lambda: R.Dropout(p=-0.1), r"dropout probability must be in \[0, 1\), got -0.1"),
    (lambda: R.ScaledDotProductAttention(causal=True).forward(*(np.zeros((1, t, 2)) for t in (2, 3, 3))),
     "causal attention needs as many queries as keys, got 2 and 3"),
    (lambda: R.MultiHeadAttention(*[np.eye(4)] * 4, *[np.zeros(4)] * 4, heads=3).forward(np.zeros((1, 2, 4))),
     "embedding size 4 is not a multiple of heads=3"),
    (lambda: R.BatchNorm(np.ones(2), np.zeros(2)).forward(np.zeros((1, 2))),
     "BatchNorm in training mode needs more than one value per feature"),
    (lambda: R.Conv2d(np.zeros((4, 2, 1, 1)), groups=2).forward(np.zeros((1, 3, 2, 2))),
     "channels must split evenly into groups: input has 3 channels and W 4 filters of 2 channels each, groups=2"),
    (lambda: R.Conv2d(np.zeros((3, 1, 1, 1)), groups=2).forward(np.zeros((1, 2, 2, 2))),
     "channels must split evenly into groups: input has 2 channels and W 3 filters of 1 channels each, groups=2"),
], ids=["gelu", "mse_reduction", "smooth_l1_beta", "dropout_p_1", "dropout_p_negative", "causal_lengths",
        "mha_heads", "batchnorm_one_value", "conv_groups_channels", "conv_groups_filters"])
def test_bad_arguments_raise_a_clear_error(make, match):
    with pytest.raises(ValueError) as e:
        make()
    assert re.fullmatch(match, str(e.value)), str(e.value)  # the whole message, not a fragment of it
