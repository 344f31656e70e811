"""Conv family: behaviour the gate does not spell out (im2col/col2im adjointness, max-pool ties by hand),
and the one broken variant that only a tie can catch."""
import numpy as np
import pytest

import reference as R
from oracles import REGISTRY, Domain, run_check
from oracles.names import FRAMEWORKS

from broken_zoo.conv import TIE_ONLY
from catching import assert_caught


@pytest.mark.parametrize(
    "shape, kh, kw, stride, pad, dilation",
    [((2, 3, 5, 4), 3, 3, 1, 0, 1), ((1, 2, 6, 7), 2, 3, 2, 1, 1), ((2, 1, 7, 6), 3, 2, 1, 2, 2), ((1, 2, 5, 5), 3, 3, 3, 1, 1)],
)
def test_col2im_is_the_adjoint_of_im2col(shape, kh, kw, stride, pad, dilation):
    """<im2col(x), c> = <x, col2im(c)> for every x and c: what makes col2im the right backward."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    col = R.im2col(x, kh, kw, stride, pad, dilation)
    c = rng.normal(size=col.shape)
    assert np.isclose(np.sum(col * c), np.sum(x * R.col2im(c, shape, kh, kw, stride, pad, dilation)))


def test_maxpool_tie_sends_the_whole_gradient_to_the_first_maximum():
    x = np.array([[[[0.0, 1.0], [1.0, 1.0]]]])  # three equal maxima; the first in row-major order is (0, 1)
    layer = R.MaxPool2d(2, 2)
    assert layer.forward(x).item() == 1.0
    np.testing.assert_array_equal(layer.backward(np.array([[[[3.0]]]])), [[[[0.0, 3.0], [0.0, 0.0]]]])


def test_maxpool_overlapping_windows_add_up_and_padding_never_wins():
    # 3x3 windows, stride 1, -inf padding 1 on a 2x2 input of negatives: every window sees all four
    # entries (zero padding would win every window instead); the maximum -1 gets all four gradients
    x = np.array([[[[-3.0, -1.0], [-2.0, -4.0]]]])
    layer = R.MaxPool2d(3, 1, 1)
    np.testing.assert_array_equal(layer.forward(x), np.full((1, 1, 2, 2), -1.0))
    dout = np.array([[[[1.0, 2.0], [4.0, 8.0]]]])
    np.testing.assert_array_equal(layer.backward(dout), [[[[0.0, 15.0], [0.0, 0.0]]]])


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 5, 4)).astype(np.float32)
    layers = [
        R.Conv2d(rng.normal(size=(4, 2, 3, 3)).astype(np.float32), np.zeros(4, np.float32), stride=2, pad=1, groups=2),
        R.MaxPool2d(2, 2), R.AvgPool2d(3, 2, 1), R.GlobalAvgPool(),
    ]
    for layer in layers:
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(out))
        assert out.dtype == dx.dtype == np.float32, type(layer).__name__
    assert layers[0].dW.dtype == layers[0].db.dtype == np.float32


@pytest.mark.parametrize("name", list(TIE_ONLY))
def test_last_max_instead_of_first_is_caught_only_at_ties(name):
    spec = TIE_ONLY[name]
    # tie-free draws (the gate's domain): every window has one maximum, first == last, nothing to see
    assert run_check(spec, "float64", max_examples=5, record=False).passed
    # at ties, on purpose: PyTorch and JAX both take the first maximum, so both disagree. (The tie grid
    # replaces x; plain floats underneath spare Hypothesis shrinking an unused array of unique values.)
    tie = REGISTRY[name.removesuffix("_last_max")].conventions[0]
    assert_caught(spec, "float64", by=["grad_x"], oracles=FRAMEWORKS, convention=tie, domain=Domain())
