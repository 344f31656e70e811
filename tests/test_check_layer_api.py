"""The public API: a researcher's layer, its math written once for an array namespace, checked by the
same path as the built-in layers; a broken variant is caught with a precise message."""
import doctest
import importlib.util
from pathlib import Path

import oracles.api
from oracles import check_layer

spec = importlib.util.spec_from_file_location("custom_layer", Path(__file__).parents[1] / "examples" / "custom_layer.py")
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


def test_custom_layer_passes():
    report = example.check(example.RMSNorm, "my_rmsnorm", max_examples=10)
    assert report.passed, str(report)
    assert set(report.results) == {"float64", "float32"}
    assert all(r.counts.get(("jax", "grad_g"), 0) > 0 for r in report.results.values())


def test_broken_custom_layer_is_caught_at_grad_x_only():
    report = example.check(example.RMSNormNormConstant, "rmsnorm_broken", max_examples=10, record=False)
    assert not report.passed
    for r in report.results.values():
        failing = set(r.failing())
        assert {("torch", "grad_x"), ("jax", "grad_x"), ("numerical", "grad_x")} <= failing
        assert all(stage == "grad_x" for _, stage in failing), failing
        msg = r.message("torch", "grad_x")
        assert "rmsnorm_broken" in msg and "grad_x vs torch" in msg and "shapes: x=" in msg


def test_docstring_examples_run():
    import reference.functions
    import reference.layers
    import reference.network

    import oracles.records
    import oracles.work

    for module in (oracles.api, oracles.work, oracles.records, reference.functions, reference.layers, reference.network):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_separate_framework_functions():
    import jax.numpy as jnp
    import torch

    class Square:
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dout):
            return 2 * self.x * dout

    report = check_layer(lambda p: Square(), inputs={"x": ("n",)}, torch_fn=lambda x: torch.square(x),
                         jax_fn=lambda x: jnp.square(x), name="square", max_examples=5)
    assert report.passed, str(report)


def test_float32_asks_the_numerical_checker_only_where_float64_did_not_settle_it():
    """Its central differences run the forward in float64 in either dtype: passed in float64, the float32
    check leaves it out and says so (NOT-RUN with the reason, never a pass); named, it is asked."""
    kw = dict(inputs={"x": ("n", "d")}, params={"g": ("d",)}, fn=example.rmsnorm_math, sizes={"d": (2, 3, 5)},
              max_examples=4, record=False)
    report = check_layer(lambda p: example.RMSNorm(p["g"]), name="rmsnorm_float64_settles", **kw)
    assert report.passed, str(report)
    assert "numerical" in report.results["float64"].oracles
    assert "numerical" not in report.results["float32"].oracles
    assert "NOT-RUN rmsnorm_float64_settles [float32] grad_x vs numerical: not asked by default" in str(report)
    named = check_layer(lambda p: example.RMSNorm(p["g"]), name="rmsnorm_named", oracles=("torch", "numerical"), **kw)
    assert "numerical" in named.results["float32"].oracles and not named.not_asked


def test_examples_are_ten_under_hypothesis_own_profile_and_follow_a_chosen_one():
    """Hypothesis's own default profile (nobody loaded one: a researcher's script) asks 100 examples, sized
    for property tests that cost microseconds; check_layer takes options.DEFAULT_EXAMPLES there, and a
    profile someone chose (dev, ci, thorough), the pytest option or max_examples= otherwise."""
    from hypothesis import settings

    from oracles.api import _with_options
    from oracles.options import DEFAULT_EXAMPLES, RunOptions

    def examples(options=RunOptions(), given=None):
        return _with_options(options, None, None, given, None, None)[2]["max_examples"]

    before = settings._current_profile
    try:
        settings.load_profile("default")
        assert settings.default.max_examples == 100 and examples() == DEFAULT_EXAMPLES == 10
        assert examples(given=3) == 3 and examples(RunOptions(max_examples=7)) == 7
        report = check_layer(lambda p: example.RMSNorm(p["g"]), inputs={"x": ("n", "d")}, params={"g": ("d",)},
                             fn=example.rmsnorm_math, name="rmsnorm_default_examples", dtypes=("float64",),
                             oracles=("torch",), record=False)
        assert report.passed and report.results["float64"].examples == DEFAULT_EXAMPLES
        settings.load_profile("thorough")
        assert examples() == 300 and examples(given=3) == 3
    finally:
        settings.load_profile(before)
