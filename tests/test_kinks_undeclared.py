"""Kinks and ties nobody declared: a researcher's ReLU at x = 0, a max over a tied pair. The numerical
oracle sees the one-sided slopes jump there and says so (inconclusive: a central difference answers
neither side), the frameworks' disagreements carry a note naming the kink and the fix, and a smooth
broken layer is never excused as a kink."""
import numpy as np

from oracles import evaluate_case, layer_spec
from oracles.strategies import Case


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        return np.where(self.mask, 0.0, dout)


class MaxOfPair:
    """out[n] = max(x[n, 0], x[n, 1]); ties go to the first (np.argmax)."""

    def forward(self, x):
        self.arg = np.argmax(x, axis=1)
        return x.max(axis=1)

    def backward(self, dout):
        dx = np.zeros((dout.shape[0], 2))
        dx[np.arange(dout.shape[0]), self.arg] = dout
        return dx


def _by(comps):
    return {(c.oracle, c.stage): c for c in comps}


def test_a_relu_at_zero_is_named_as_a_kink_with_the_fix():
    spec = layer_spec(lambda p: Relu(), inputs={"x": ("n", "d")}, fn=lambda xp, x: xp.maximum(x, xp.zeros_like(x)),
                      name="researcher_relu")
    x = np.array([[0.0, 1.5, -2.0], [0.7, -0.3, 2.2]])
    comps = _by(evaluate_case(spec, Case("researcher_relu", "float64", {"n": 2, "d": 3}, {"x": x}, {}, seed=5)))
    num = comps[("numerical", "grad_x")]
    assert num.outcome == "inconclusive", num.message()
    assert "not differentiable at (0, 0)" in num.note and "Domain(kinks=" in num.note and "Convention" in num.note
    # torch.maximum and jnp.maximum split a tie 0.5 / 0.5; the reference gives 0: a real disagreement
    # at the kink, still a failure, now with the reason and the fix in its message
    torch = comps[("torch", "grad_x")]
    assert torch.outcome == "fail" and "sits on a kink" in torch.note and "spacing" in torch.note
    assert comps[("torch", "forward")].passed


def test_a_max_over_a_tie_is_named_as_a_kink():
    spec = layer_spec(lambda p: MaxOfPair(), inputs={"x": ("n", 2)}, fn=lambda xp, x: xp.max(x, axis=1),
                      name="max_of_pair")
    x = np.array([[1.25, 1.25], [0.5, -1.0]])
    comps = _by(evaluate_case(spec, Case("max_of_pair", "float64", {"n": 2}, {"x": x}, {}, seed=2)))
    num = comps[("numerical", "grad_x")]
    assert num.outcome == "inconclusive" and "not differentiable at (0, 0)" in num.note, num.message()
    for oracle in ("torch", "jax"):
        c = comps[(oracle, "grad_x")]
        assert c.passed or "sits on a kink" in c.note, c.message()


def test_a_smooth_wrong_gradient_is_never_excused_as_a_kink():
    class TanhOff:
        def forward(self, x):
            self.y = np.tanh(x)
            return self.y

        def backward(self, dout):
            return dout * (1 - self.y ** 2) * 1.001

    spec = layer_spec(lambda p: TanhOff(), inputs={"x": ("n", "d")}, fn=lambda xp, x: xp.tanh(x), name="tanh_off")
    x = np.array([[0.0, 1.5, -2.0], [0.7, -0.3, 2.2]])
    comps = _by(evaluate_case(spec, Case("tanh_off", "float64", {"n": 2, "d": 3}, {"x": x}, {}, seed=5)))
    for oracle in ("torch", "jax", "numerical"):
        c = comps[(oracle, "grad_x")]
        assert c.outcome == "fail" and "kink" not in c.note, c.message()
