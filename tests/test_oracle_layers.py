"""The gate: every registered layer, in both dtypes, against every oracle, stage by stage.

One Hypothesis run per (layer, dtype) checks all oracles and stages at once (the reference runs once per
example); each test below is one (layer, oracle, dtype, stage) view of that run, so a failure names
exactly what disagreed, e.g. `affine-torch-float32-grad_W`.
"""
import pytest

from oracles import DTYPES, ORACLES, REGISTRY

CASES = [
    pytest.param(spec, oracle, dtype, stage, id=f"{name}-{oracle}-{dtype}-{stage}")
    for name, spec in REGISTRY.items()
    for dtype in DTYPES
    for oracle in ORACLES
    for stage in spec.stages()
    if not (oracle == "numerical" and stage == "forward")
]


# Kinks and ties, on purpose: inputs exactly on each declared non-differentiable point, against each
# framework; e.g. `leaky_relu-jax-float64-kink_x=0` passes when JAX differs exactly as documented.
KINKS = [
    pytest.param(spec, conv, oracle, dtype, id=f"{name}-{oracle}-{dtype}-kink_{conv.where.replace(' ', '')}")
    for name, spec in REGISTRY.items()
    for conv in spec.conventions
    for dtype in DTYPES
    for oracle in ("torch", "jax")
]


@pytest.mark.oracle
@pytest.mark.parametrize("spec, oracle, dtype, stage", CASES)
def test_oracle(spec, oracle, dtype, stage, oracle_check):
    result = oracle_check(spec, dtype, oracle=oracle)
    result.assert_stage(oracle, stage)


@pytest.mark.oracle
@pytest.mark.parametrize("spec, conv, oracle, dtype", KINKS)
def test_oracle_at_kink(spec, conv, oracle, dtype, oracle_check):
    result = oracle_check(spec, dtype, conv, oracle=oracle)
    result.assert_convention(oracle)
