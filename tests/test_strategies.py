"""The strategies are made once per set of arguments (Hypothesis validates every new strategy object it
draws from) and draw exactly what fresh ones would."""
import gc
import weakref

import numpy as np
from hypothesis import HealthCheck, given, settings

import oracles.strategies as S
from oracles import REGISTRY
from oracles.spec import Domain


def test_a_strategy_is_made_once_per_set_of_arguments():
    d = Domain(-2.0, 2.0)
    assert S.float_arrays("float64", (2, 3), d) is S.float_arrays("float64", (2, 3), d)
    assert S.float_arrays("float64", (2, 3), d) is not S.float_arrays("float32", (2, 3), d)
    assert S.int_arrays((4,), 3) is S.int_arrays((4,), 3) and S.int_arrays((4,), 3) is not S.int_arrays((4,), 5)
    spec = REGISTRY["affine"]
    assert S.cases(spec, "float64") is S.cases(spec, "float64") and S.layout_for(spec) is S.layout_for(spec)
    assert S.cases(spec, "float64") is not S.cases(spec, "float32")
    assert S.cases(spec, dtype="float64") is not S.cases(spec, dtype="float32")


def test_arguments_equal_but_not_the_same_are_not_one_call():
    # -0.0 == 0.0, but only a bound of -0.0 lets Hypothesis draw -0.0; (2.0, 3) == (2, 3), but only one
    # is a shape; np.str_("float64") == "float64", but a Case's repr shows which
    assert S.float_arrays("float64", (3,), Domain(-0.0, 1.0)) is not S.float_arrays("float64", (3,), Domain(0.0, 1.0))
    assert S.float_arrays("float64", (2.0, 3), Domain()) is not S.float_arrays("float64", (2, 3), Domain())
    spec = REGISTRY["affine"]
    assert S.cases(spec, np.str_("float64")) is not S.cases(spec, "float64")

    @settings(max_examples=5, database=None, derandomize=True)
    @given(S.float_arrays("float64", (2, 3), Domain()))
    def shaped(x):
        assert x.shape == (2, 3)
    shaped()


def test_unhashable_arguments_get_a_fresh_strategy_that_draws():
    d = Domain(-1.0, 1.0, kinks=[0.0], margin=0.1)  # a list where a tuple belongs: not hashable
    a, b = S.float_arrays("float64", (5,), d), S.float_arrays("float64", (5,), d)
    assert a is not b
    sizes = {"n": 2, "i": 3, "o": 2}
    spec = REGISTRY["affine"]
    assert S.cases(spec, "float64", sizes) is not S.cases(spec, "float64", sizes)

    @settings(max_examples=5, database=None, derandomize=True)
    @given(a)
    def drawn(x):
        assert x.shape == (5,) and np.all(np.abs(x) >= 0.1)
    drawn()


def _drawn(spec, dtype, n=12, kink=False):
    got = []
    strategy = S.kink_cases(spec, spec.conventions[0], dtype) if kink else S.cases(spec, dtype)

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case):
        got.append(case)
    run()
    return got


def test_reused_strategies_draw_what_fresh_ones_draw(monkeypatch):
    names = ["affine", "conv2d", "embedding", "maxpool2d", "lstm"]
    keys = [(n, d, False) for n in names for d in ("float64", "float32")] + [("relu", "float32", True), ("maxpool2d", "float64", True)]
    reused = {(n, d, k): _drawn(REGISTRY[n], d, kink=k) for n, d, k in keys}
    for name in ("float_arrays", "int_arrays", "layout_for", "cases", "kink_cases"):  # a fresh object at every call
        monkeypatch.setattr(S, name, getattr(S, name).__wrapped__)
    for key, cases in reused.items():
        fresh = _drawn(REGISTRY[key[0]], key[1], kink=key[2])
        assert len(fresh) == len(cases) and all(_same(a, b) for a, b in zip(fresh, cases)), key


def _same(a, b) -> bool:
    arrays = lambda c: [*c.inputs.items(), *c.params.items()]  # noqa: E731
    return (a.sizes, a.seed, a.layout) == (b.sizes, b.seed, b.layout) and all(
        k == q and np.array_equal(x, y) and x.dtype == y.dtype for (k, x), (q, y) in zip(arrays(a), arrays(b)))


def test_a_specs_strategies_do_not_keep_it_alive():
    from dataclasses import replace

    spec = replace(REGISTRY["relu"], name="relu_copy")
    S.cases(spec, "float64")
    ref = weakref.ref(spec)
    del spec
    gc.collect()
    assert ref() is None


def test_a_copy_of_a_spec_draws_from_its_own_strategies():
    import copy
    import pickle

    spec = REGISTRY["affine"]
    mine = S.cases(spec, "float64")
    shallow, deep = copy.copy(spec), copy.deepcopy(spec)
    assert S.cases(shallow, "float64") is not mine and S.cases(deep, "float64") is not mine
    assert S.cases(spec, "float64") is mine
    assert copy.deepcopy(vars(spec)["_strategies"]) == {}  # strategies do not travel with a copy or a pickle
    assert pickle.loads(pickle.dumps(vars(spec)["_strategies"])) == {}
