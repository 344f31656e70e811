"""A BLAS kernel's spurious invalid-operation flag (NumPy's "invalid value encountered in dot") is not taken
as the layer's inside a check (protocol.spurious_blas_flags); every other warning still is, and a product
that really made a NaN still fails."""
import warnings

import numpy as np
import pytest

from oracles import OracleMismatch, check_layer, records

AFFINE = dict(inputs={"x": ("n", "i")}, params={"W": ("i", "o"), "b": ("o",)},
              fn=lambda xp, x, W, b: x @ W + b, dtypes=("float64",), oracles=("torch", "numerical"), max_examples=3)


@pytest.fixture(autouse=True)
def _own_records(tmp_path):
    with records.to(tmp_path):  # these layers fail on purpose: not in the suite's records and report
        yield


class Affine:
    """Textbook affine layer that warns as a BLAS kernel's stray flag makes NumPy warn (`say`), and whose
    output can be spoiled (`spoil`)."""

    def __init__(self, W, b, say="invalid value encountered in dot", spoil=False):
        self.W, self.b, self.say, self.spoil = W, b, say, spoil

    def forward(self, x):
        self.x = x
        warnings.warn(self.say, RuntimeWarning)
        out = np.dot(x, self.W) + self.b
        return out * np.nan if self.spoil else out

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T


def test_a_stray_blas_flag_is_not_the_layers():
    check_layer(lambda p: Affine(p["W"], p["b"]), name="blas_flag_ok", **AFFINE).assert_passed()


def test_the_layers_own_warnings_still_fail():
    with pytest.raises(OracleMismatch, match="forward raised RuntimeWarning: overflow encountered in exp"):
        check_layer(lambda p: Affine(p["W"], p["b"], say="overflow encountered in exp"), name="blas_flag_other",
                    **AFFINE).assert_passed()


def test_a_product_that_made_a_nan_still_fails():
    with pytest.raises(OracleMismatch):
        check_layer(lambda p: Affine(p["W"], p["b"], spoil=True), name="blas_flag_nan", **AFFINE).assert_passed()


def test_outside_a_check_the_warning_is_what_the_filters_say():
    with pytest.raises(RuntimeWarning):  # pytest's filterwarnings = error, untouched by the harness
        Affine(np.ones((2, 1)), np.zeros(1)).forward(np.ones((1, 2)))
