"""The gate: every registered layer, in both dtypes, against every oracle, stage by stage.

One Hypothesis run per (layer, dtype) checks all oracles and stages at once (the reference runs once per
example); each test below is one (layer, oracle, dtype, stage) view of that run, so a failure names
exactly what disagreed, e.g. `affine-torch-float32-grad_W`.

Each layer's tests live in a class of their own (`TestLayer_affine`, ...), so that pytest-xdist's
`--dist loadscope` keeps one layer's tests, and so its shared run, on one worker.
"""
import re

import pytest

from oracles import DTYPES, ORACLES, REGISTRY


def _cases(name, spec):
    return [
        pytest.param(spec, oracle, dtype, stage, id=f"{name}-{oracle}-{dtype}-{stage}")
        for dtype in DTYPES
        for oracle in ORACLES
        for stage in spec.stages()
        if not (oracle == "numerical" and stage == "forward")
    ]


def _kinks(name, spec):
    # Kinks and ties, on purpose: inputs exactly on each declared non-differentiable point, against each
    # framework; e.g. `leaky_relu-jax-float64-kink_x=0` passes when JAX differs exactly as documented.
    return [
        pytest.param(spec, conv, oracle, dtype, id=f"{name}-{oracle}-{dtype}-kink_{conv.where.replace(' ', '')}")
        for conv in spec.conventions
        for dtype in DTYPES
        for oracle in ("torch", "jax")
    ]


def _layer_class(name, spec):
    @pytest.mark.oracle
    @pytest.mark.parametrize("spec, oracle, dtype, stage", _cases(name, spec))
    def test_oracle(self, spec, oracle, dtype, stage, oracle_check):
        result = oracle_check(spec, dtype, oracle=oracle)
        result.assert_stage(oracle, stage)

    attrs = {"test_oracle": test_oracle}
    if spec.conventions:
        @pytest.mark.oracle
        @pytest.mark.parametrize("spec, conv, oracle, dtype", _kinks(name, spec))
        def test_oracle_at_kink(self, spec, conv, oracle, dtype, oracle_check):
            result = oracle_check(spec, dtype, conv, oracle=oracle)
            result.assert_convention(oracle)

        attrs["test_oracle_at_kink"] = test_oracle_at_kink
    return type(f"TestLayer_{re.sub(r'[^0-9A-Za-z_]', '_', name)}", (), attrs)


for _name, _spec in REGISTRY.items():
    _cls = _layer_class(_name, _spec)
    globals()[_cls.__name__] = _cls
