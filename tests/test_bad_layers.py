"""Malformed layers get a clear failure that says what is wrong: never a crash inside torch or JAX,
never a pass."""
from dataclasses import replace

import numpy as np
import pytest

import reference as R
from catching import assert_caught
from oracles import REGISTRY, OracleError, run_check
from oracles.names import FRAMEWORKS


class WrongShapeAffine(R.Affine):
    def forward(self, x):
        return super().forward(x)[:, :1] if self.W.shape[1] > 1 else np.concatenate([super().forward(x)] * 2, axis=1)


class NoGradientAttrAffine(R.Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grad_W = self.dW  # stored under the wrong name
        del self.dW
        return dx


class NaNSigmoid(R.Sigmoid):
    def forward(self, x):
        out = super().forward(x).copy()
        out.flat[0] = np.nan
        self.out = out
        return out


class RaisingRelu(R.Relu):
    def backward(self, dout):
        raise ValueError("operands could not be broadcast together")


class BookRelu(R.Relu):
    """The book's own Relu.backward: writes into the caller's dout."""

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class InputMutatingRelu(R.Relu):
    def forward(self, x):
        self.mask = x <= 0
        x[self.mask] = 0  # in place on the caller's array
        return x


class TooManyGradsMul(R.MulLayer):
    def backward(self, dout):
        dx, dy = super().backward(dout)
        return dx, dy, dx


class CachesOnceAffine(R.Affine):
    """Keeps the first input it ever saw: the second call's dW is computed from stale x."""

    def forward(self, x):
        if getattr(self, "x_first", None) is None:
            self.x_first = x
        out = super().forward(x)
        self.x = self.x_first
        return out


class AccumulatingAffine(R.Affine):
    """dW += instead of dW =: right on the first backward only."""

    def backward(self, dout):
        prev = getattr(self, "dW", None)
        dx = super().backward(dout)
        if prev is not None:
            self.dW = self.dW + prev
        return dx


class NoisySigmoid(R.Sigmoid):
    """Backward with a little randomness (an unseeded dropout-like effect): calls do not repeat."""

    def backward(self, dout):
        return super().backward(dout) * (1 + 1e-3 * np.random.default_rng().random())


def _spec(base, name, make):
    return replace(REGISTRY[base], name=name, make=make)


BAD = {
    "wrong_output_shape": (_spec("affine", "bad_shape", lambda p: WrongShapeAffine(p["W"], p["b"])), "forward", "shape"),
    "no_gradient_attribute": (_spec("affine", "bad_grad_attr", lambda p: NoGradientAttrAffine(p["W"], p["b"])), "grad_W", "no gradient attribute dW"),
    "nan_output": (_spec("sigmoid", "bad_nan", lambda p: NaNSigmoid()), "forward", "non-finite"),
    "raises_in_backward": (_spec("relu", "bad_raise", lambda p: RaisingRelu()), "grad_x", "backward raised ValueError: operands could not be broadcast"),
    "mutates_dout": (_spec("relu", "bad_book_relu", lambda p: BookRelu()), "grad_x", "backward mutated dout in place"),
    "mutates_input": (_spec("relu", "bad_mutates_input", lambda p: InputMutatingRelu()), "forward", "forward mutated its input(s) ['x'] in place"),
    "stale_cached_input": (_spec("affine", "bad_stale", lambda p: CachesOnceAffine(p["W"], p["b"])), "grad_W", "stale state: the same instance used again"),
    "accumulates_dW": (_spec("affine", "bad_accumulate", lambda p: AccumulatingAffine(p["W"], p["b"])), "grad_W", "stale state"),
    "nondeterministic_backward": (_spec("sigmoid", "bad_noisy", lambda p: NoisySigmoid()), "grad_x", "nondeterministic: a second identical call"),
    "too_many_gradients": (_spec("mul", "bad_grad_count", lambda p: TooManyGradsMul()), "grad_x", "backward returned 3 gradient(s) but the layer has 2"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_layer_gets_a_clear_failure(name):
    spec, stage, expected_text = BAD[name]
    result = assert_caught(spec, "float64", by={FRAMEWORKS: [stage]}, max_examples=10)
    for oracle in FRAMEWORKS:
        msg = result.message(oracle, stage)
        assert expected_text in msg, msg
        assert spec.name in msg and stage in msg and "shapes:" in msg


def test_raising_backward_shows_the_layers_own_traceback():
    spec, stage, _ = BAD["raises_in_backward"]
    msg = run_check(spec, "float64", max_examples=3, record=False).message("torch", stage)
    assert "in backward" in msg and "test_bad_layers.py" in msg, msg


def test_broken_spec_math_is_an_error_not_a_mismatch():
    def bad_torch(x):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    spec = replace(REGISTRY["relu"], name="bad_oracle", torch_fn=bad_torch)
    with pytest.raises(OracleError, match=r"bad_oracle \[float64\] oracle torch failed on shapes"):
        run_check(spec, "float64", max_examples=3, record=False)


def test_a_check_that_cannot_run_is_recorded_as_failed(tmp_path):
    from oracles import records
    from reports import load

    spec = replace(REGISTRY["relu"], name="bad_oracle_recorded", torch_fn=lambda x: x[:, :0])
    with records.to(tmp_path, "r"), pytest.raises(OracleError):
        run_check(spec, "float64", max_examples=3)
    rows = load(tmp_path)[0]
    assert {r["layer"] for r in rows} == {"bad_oracle_recorded"}
    assert (rows[-1]["stage"], rows[-1]["passed"]) == ("check", False) and "OracleError" in rows[-1]["note"]
