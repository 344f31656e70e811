"""The judge (oracles/judge.py): one place decides, verdicts are frozen, and each outcome maps to pytest
as documented: FAIL and INCONCLUSIVE are failed tests whose message starts with the outcome, NOT-RUN
(stopped at another stage's failure) is a visible skip with its reason."""
import dataclasses
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from oracles import REGISTRY, Outcome, Tol, compare, run_check
from oracles.names import JOINT, Stage, oracle_stages
from oracles.strategies import cases
from subproc import clean_env

from broken_layers import BROKEN


def test_comparisons_and_verdicts_are_frozen():
    c = compare(np.ones(3), np.ones(3), Tol(1e-12, 1e-9), layer="l", dtype="float64", stage="forward",
                oracle="torch", shapes={})
    assert c.passed and c.outcome == "pass"
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.passed = False
    result = run_check(REGISTRY["relu"], "float64", ("torch",), max_examples=2, record=False)
    v = result.verdicts[("torch", "forward")]
    assert v.outcome is Outcome.PASS and v.examples == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.outcome = Outcome.FAIL


def test_a_failure_stops_the_run_and_the_rest_is_not_run_not_passed():
    spec, dtype, _ = BROKEN["affine_db_wrong_axis"]
    result = run_check(spec, dtype, ("torch",), max_examples=25, record=False)
    assert result.outcome("torch", "grad_b") is Outcome.FAIL
    assert result.message("torch", "grad_b").startswith("FAIL: ")
    others = [s for s in spec.stages() if s != "grad_b"]
    assert all(result.outcome("torch", s) is Outcome.NOT_RUN for s in others)
    assert all(result.not_run("torch", s) and not result.stage_passed("torch", s) for s in others)
    msg = result.message("torch", "forward")
    assert msg.startswith("NOT-RUN: ") and "of 25 examples" in msg and "grad_b vs torch" in msg
    assert not result.passed


def test_a_pair_nothing_compared_is_inconclusive_never_a_pass():
    # every example on a layout JAX is not asked on (and a spec of its own, so no earlier test has warmed
    # JAX's compile cache for it): JAX compares nothing, and says so
    spec = replace(REGISTRY["affine"], name="affine_unasked")
    strategy = cases(spec, "float64").map(lambda c: replace(c, layout=99))
    result = run_check(spec, "float64", ("torch", "jax"), max_examples=3, strategy=strategy, record=False)
    assert result.stage_passed("torch", "grad_W")
    assert result.outcome("jax", "grad_W") is Outcome.INCONCLUSIVE and result.inconclusive("jax", "grad_W")
    assert result.message("jax", "grad_W").startswith("INCONCLUSIVE: ") and "no example was compared" in result.message("jax", "grad_W")
    assert ("jax", "grad_W") in result.failing() and not result.passed


def test_stage_type():
    assert Stage.grad("W") == "grad_W" and Stage("grad_W").wrt == "W" and Stage("forward").wrt is None
    assert Stage("grad").kind == "grad" and Stage("grad").wrt is None
    for bad in ("grad_", "backward", "", "Forward"):
        with pytest.raises(ValueError, match="stage"):
            Stage(bad)
    assert oracle_stages("numerical", ["forward", "grad_x"]) == ("grad_x",)
    assert oracle_stages("directional", ["forward", "grad_x"]) == (JOINT,)


def test_outcomes_map_to_pytest_as_documented(tmp_path):
    (tmp_path / "test_mapping.py").write_text(textwrap.dedent('''
        from dataclasses import replace
        from oracles import REGISTRY, run_check
        from oracles.strategies import cases
        import reference as R

        class AffineBiasWrongAxis(R.Affine):
            def backward(self, dout):
                dx = super().backward(dout)
                self.db = dout.sum(axis=1)[: self.b.shape[0]] if dout.shape[1] == dout.shape[0] else dout.sum(axis=0) * 1.5
                return dx

        SPEC = replace(REGISTRY["affine"], name="affine_db_off", make=lambda p: AffineBiasWrongAxis(p["W"], p["b"]))
        BROKEN = run_check(SPEC, "float64", ("torch",), max_examples=25, record=False)

        def test_failed_stage():
            BROKEN.assert_stage("torch", "grad_b")

        def test_stage_not_run():
            BROKEN.assert_stage("torch", "grad_W")

        def test_inconclusive_stage():
            spec = replace(REGISTRY["affine"], name="affine_unasked")
            strategy = cases(spec, "float64").map(lambda c: replace(c, layout=99))
            r = run_check(spec, "float64", ("jax",), max_examples=2, strategy=strategy, record=False)
            r.assert_stage("jax", "grad_W")
    '''))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", "--oracle-no-records",
                          str(tmp_path / "test_mapping.py")], capture_output=True, text=True, env=clean_env(),
                         cwd=tmp_path).stdout
    assert "2 failed" in out and "1 skipped" in out, out
    assert "FAILED test_mapping.py::test_failed_stage" in out and "OracleMismatch: FAIL: affine_db_off" in out, out
    assert "FAILED test_mapping.py::test_inconclusive_stage" in out and "OracleMismatch: INCONCLUSIVE: affine_unasked" in out, out
    assert "SKIPPED [1] test_mapping.py" in out and "NOT-RUN: affine_db_off [float64] grad_W vs torch" in out, out


def test_moved_names_still_import_with_a_deprecation_warning():
    import oracles
    import oracles.directional as directional
    import oracles.networks as networks

    with pytest.warns(DeprecationWarning, match="is now oracles.check_layer_directional"):
        assert directional.check_layer_directional is oracles.check_layer_directional
    with pytest.warns(DeprecationWarning, match="is now net_torch"):
        assert networks.run_torch is networks.net_torch


def test_nothing_finite_is_never_agreement():
    """Empty arrays, or values non-finite in the same places on both sides, compare nothing: the example is
    inconclusive (never a pass), and a check made only of such examples is INCONCLUSIVE, not passed."""
    meta = dict(layer="l", dtype="float64", stage="grad_x", oracle="torch", shapes={})
    empty = compare(np.zeros((0, 3)), np.zeros((0, 3)), Tol(1e-12, 1e-9), **meta)
    assert not empty.passed and empty.outcome == "inconclusive" and "empty" in empty.note
    both_inf = compare(np.array([np.inf, -np.inf]), np.array([np.inf, -np.inf]), Tol(1e-12, 1e-9), **meta)
    assert not both_inf.passed and both_inf.outcome == "inconclusive" and "non-finite" in both_inf.note
    some = compare(np.array([np.inf, 1.0]), np.array([np.inf, 1.0]), Tol(1e-12, 1e-9), **meta)
    assert some.passed  # the finite element was compared

    class DoubledExp:  # exp overflows on [800, 900]: every output and gradient is inf in all three
        def forward(self, x):
            self.y = np.exp(x)
            return self.y

        def backward(self, dout):
            return 2 * dout * self.y  # wrong by a factor 2, invisible where both sides are inf

    from oracles import layer_spec
    from oracles.spec import Domain

    spec = layer_spec(lambda p: DoubledExp(), inputs={"x": ("n", "m")}, fn=lambda xp, x: xp.exp(x),
                      name="doubled_exp_overflowing", domain=Domain(800.0, 900.0))
    with np.errstate(over="ignore"):
        result = run_check(spec, "float64", ("torch", "jax"), max_examples=5, record=False)
    assert not result.passed
    for oracle in ("torch", "jax"):
        for stage in ("forward", "grad_x"):
            assert result.outcome(oracle, stage) is Outcome.INCONCLUSIVE, result.message(oracle, stage)
            assert "conclusive on 0 of" in result.message(oracle, stage)


def _affine_variant(name, cls, **kw):
    return replace(REGISTRY["affine"], name=name, make=lambda p: cls(p["W"], p["b"]), **kw)


def test_misleading_layers_get_a_finding_that_says_what_happened():
    """Layers that used to fail with a confusing message, pass vacuously, or crash inside NumPy: each
    fails with a note naming what is wrong."""
    import reference as R
    from oracles.spec import Float

    class ReturnsList(R.Affine):
        def forward(self, x):
            return list(super().forward(x))

    class ReturnsPair(R.Affine):
        def forward(self, x):
            return super().forward(x), {"cache": x}

    class Float64Out(R.Affine):  # right values, wrong dtype
        def forward(self, x):
            return super().forward(x).astype(np.float64)

    class DeclaresMoreParams(R.Affine):  # the check lists only W: b's gradient would go unchecked
        param_names = ("W", "b")

    class GradForDiffFalse(R.MulLayer):  # y declared diff=False, but backward returns its gradient
        pass

    cases_ = [
        (_affine_variant("returns_list", ReturnsList), "float64", "forward", "returned a list, not an array"),
        (_affine_variant("returns_pair", ReturnsPair), "float64", "forward", "returned a tuple, not an array"),
        (_affine_variant("float64_out", Float64Out), "float32", "forward", "the values agree, the layer returns float64"),
        (replace(REGISTRY["affine"], name="undeclared_b", params={"W": ("i", "o")},
                 make=lambda p: DeclaresMoreParams(p["W"], np.zeros(p["W"].shape[1], p["W"].dtype)),
                 fn=None, torch_fn=lambda x, W: x @ W, jax_fn=lambda x, W: x @ W),
         "float64", "grad_W", "declares param_names ('W', 'b') but the check lists params ('W',)"),
        (replace(REGISTRY["mul"], name="mul_y_not_diff", make=lambda p: GradForDiffFalse(), layouts=1,
                 inputs=(Float("x", ("n", "m")), Float("y", ("n", "m"), diff=False))),
         "float64", "grad_x", "gradient for ['y'], declared diff=False"),
    ]
    for spec, dtype, stage, text in cases_:
        result = run_check(spec, dtype, ("torch",), max_examples=3, record=False)
        assert result.stage_failed("torch", stage), (spec.name, result.message("torch", stage))
        assert text in result.message("torch", stage), result.message("torch", stage)


def test_shrink_steps_are_not_counted_as_examples():
    spec, dtype, _ = BROKEN["affine_db_wrong_axis"]
    result = run_check(spec, dtype, ("torch",), max_examples=5, record=False)
    assert not result.passed and 1 <= result.examples <= 5
    assert f"failed after {result.examples} example(s)" in result.message("torch", "grad_b")
