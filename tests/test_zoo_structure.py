"""Structure family: behaviour the randomized gate does not aim at.

- The broadcasting entries list several shapes for their second operand; the gate only draws a fixed
  set of layouts, so check that, with the gate's layout seed, every listed shape is in that set.
- Concat and the reshapes route every upstream entry to exactly one input entry (a permutation).
"""
import numpy as np
import pytest

import reference as R
from oracles import REGISTRY
from oracles.strategies import layouts


@pytest.mark.parametrize("name", ["add_bias_nchw", "mul_nchw"])
def test_every_broadcast_shape_is_drawn(name):
    spec = REGISTRY[name]
    operand = spec.inputs[1]
    drawn = {dict(lay.choice)[operand.name] for lay in layouts(spec, seed=0)}
    missing = [operand.alternatives[i] for i in range(len(operand.alternatives)) if i not in drawn]
    assert not missing, f"{name}: layouts never draw {missing}; raise `layouts` or reorder the alternatives"


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_concat_backward_is_the_inverse_routing(axis):
    rng = np.random.default_rng(0)
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for k, size in enumerate((1, 2, 3)):
        shapes[k][axis] = size
    xs = [rng.normal(size=s) for s in shapes]
    layer = R.Concat(axis)
    out = layer.forward(*xs)
    grads = layer.backward(out)  # the output itself as the cotangent: each input must get itself back
    assert len(grads) == 3
    for x, g in zip(xs, grads):
        np.testing.assert_array_equal(g, x)


def test_reshape_and_flatten_round_trip():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    for layer in (R.Flatten(), R.Reshape((-1, 2, 3))):
        out = layer.forward(x)
        back = layer.backward(out)
        assert back.shape == x.shape and back.dtype == np.float32
        np.testing.assert_array_equal(back, x)
