"""The gate, viewed for mutation testing: one test per (layer, dtype) that asserts every stage.

The gate proper (tests/test_oracle_layers.py) shares one Hypothesis run per (layer, dtype) among many
small tests through a session cache; a mutation tool that maps tests to the functions they call would
credit only the first of them. Here every test runs its own check and asserts all of it: PyTorch and the
numerical oracle (JAX's per-shape compiles would make each mutant cost seconds more and it answers the
same question), 8 derandomized examples, plus each declared kink on purpose.
"""
import pytest

from oracles import DTYPES, REGISTRY, run_check

EXAMPLES = 8  # per (layer, dtype); the kinks come on top
CASES = [pytest.param(name, dtype, id=f"{name}-{dtype}") for name in REGISTRY for dtype in DTYPES]


@pytest.mark.parametrize("name, dtype", CASES)
def test_layer(name, dtype):
    spec = REGISTRY[name]
    run_check(spec, dtype, ("torch", "numerical"), max_examples=EXAMPLES, record=False).assert_passed()
    for conv in spec.conventions:
        at = run_check(spec, dtype, ("torch",), max_examples=EXAMPLES, record=False, convention=conv)
        if "torch" in conv.agree:
            at.assert_convention("torch")
