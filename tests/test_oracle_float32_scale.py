"""float32 at scale, with the default tolerances and no special case: matrix products with inner
dimensions up to 4096 (rounding grows with the reduction length; the float32 budget measures it on each
example instead of assuming it), as a single Affine and inside a network whose wide layers are checked
layer by layer against both frameworks. The 10-layer float32 networks are in tests/test_networks.py.
"""
from dataclasses import replace

import pytest

from oracles import REGISTRY, run_check
from oracles.networks import NetDesc, check_network

INNER = (256, 1024, 4096)
EXAMPLES = 5


def _wide_affine(k: int):
    # one layout: the point is the reduction length, not the shape variety
    return replace(REGISTRY["affine"], name=f"affine_inner{k}", sizes={"n": (4,), "i": (k,), "o": (6,)}, layouts=1)


WIDE = {k: _wide_affine(k) for k in INNER}


@pytest.mark.oracle
@pytest.mark.parametrize("k", INNER)
def test_oracle_float32_affine_with_long_reductions(k):
    # Central differences cost two forwards per scalar (41k at k = 4096, ~35 s an example): the numerical
    # oracle is asked up to k = 256, where it already sees a 256-long float32 sum; the frameworks at all k.
    oracles = ("torch", "jax", "numerical") if k <= 256 else ("torch", "jax")
    run_check(WIDE[k], "float32", oracles, max_examples=EXAMPLES).assert_passed()


@pytest.mark.oracle
def test_oracle_float32_network_with_4096_wide_layers():
    """x (4, 4096) -> Affine 4096x64 -> ReLU -> Affine 64x4096 -> Tanh -> Affine 4096x3 -> softmax loss:
    every forward, input gradient and parameter gradient has a 4096-long sum somewhere."""
    from oracles import records

    desc = NetDesc("mlp", "float32", (4, 4096),
                   (("affine", {"o": 64}), ("relu", {}), ("affine", {"o": 4096}), ("tanh", {}), ("affine", {"o": 3})),
                   "softmax_with_loss", seed=4096, name="wide_4096")
    r = check_network(desc)
    records.emit(r.comparisons, "networks")
    r.assert_passed()
