"""The numerical oracle knows its own error (oracles/numerical.py): its bound covers the truth, it says
inconclusive where the bound is too loose to tell a 0.1% error (never a pass, never a false alarm), and it
names a layer that computes in float32 whatever it is given."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from subproc import clean_env

from oracles import check_layer, layer_spec, run_check
from oracles.backends import run_torch
from oracles.numerical import computes_in, run_numerical
from oracles.strategies import Case
from oracles.tolerances import resolution_needed


class Cubic:
    """out = x^3 * s on values up to 1e3: derivatives to 3e6 (magnitudes no table assumed)."""

    def forward(self, x):
        self.x = x
        return x ** 3 * 0.5

    def backward(self, dout):
        return dout * 1.5 * self.x ** 2


class Standardize:
    """(x - mean) / std along rows, written correctly; on rows 1e3 + 1e-3 * O(1) every evaluation rounds at
    1e-13 / 1e-3 = 1e-10 of the output, and the function varies on the scale 1e-3: no step is both small
    enough for the curvature and large enough for the rounding to resolve 1e-4 of the gradient."""

    def forward(self, x):
        self.xc = x - x.mean(axis=1, keepdims=True)
        self.s = np.sqrt((self.xc ** 2).mean(axis=1, keepdims=True))
        self.y = self.xc / self.s
        return self.y

    def backward(self, dout):
        return (dout - dout.mean(axis=1, keepdims=True) - self.y * (dout * self.y).mean(axis=1, keepdims=True)) / self.s


def _standardize_math(xp, x):
    xc = x - xp.mean(x, axis=1, keepdims=True)
    return xc / xp.sqrt(xp.mean(xc * xc, axis=1, keepdims=True))


OFFSET_ROWS = 1e3 + 1e-3 * np.array([[0.3, -1.2, 2.0, 0.5], [1.1, 0.2, -0.7, -1.9]])


class Float32Inside:
    """A correct sigmoid computed in float32 whatever it is given (a buffer made with dtype='f')."""

    def forward(self, x):
        self.y = (1 / (1 + np.exp(-x.astype("f")))).astype(x.dtype)
        return self.y

    def backward(self, dout):
        return dout * self.y * (1 - self.y)


def _case(name, x, dtype="float64"):
    return Case(name, dtype, {"n": x.shape[0], "d": x.shape[1]}, {"x": x.astype(dtype)}, {}, seed=4)


def test_the_bound_covers_the_true_error_at_large_magnitudes():
    spec = layer_spec(lambda p: Cubic(), inputs={"x": ("n", "d")}, fn=lambda xp, x: x ** 3 * 0.5, name="cubic_1e3")
    x = np.array([[1e3, -750.0, 3.0], [0.25, -1e-3, 512.0]])
    ct = np.random.default_rng(0).uniform(0.5, 1.5, size=x.shape)
    num, truth = run_numerical(spec, _case("cubic_1e3", x), ct), run_torch(spec, _case("cubic_1e3", x), ct)
    err = np.abs(num.grads["x"] - truth.grads["x"])
    bound = num.uncertainty["grad_x"]
    assert np.all(err <= bound) and np.all(bound <= resolution_needed(num.grads["x"])), (err, bound)


def test_a_bound_that_cannot_tell_is_inconclusive_and_the_frameworks_decide():
    from hypothesis import strategies as st

    spec = layer_spec(lambda p: Standardize(), inputs={"x": ("n", "d")}, fn=_standardize_math, name="standardize")
    case = Case("standardize", "float64", {"n": 2, "d": 4}, {"x": OFFSET_ROWS}, {}, seed=1)
    r = run_check(spec, "float64", max_examples=1, record=False, strategy=st.just(case))
    v = r.verdicts[("numerical", "grad_x")]
    assert str(v.outcome) == "inconclusive" and "numerical cannot tell: its own error bound" in v.reason, v.message()
    assert r.stage_passed("torch", "grad_x") and r.stage_passed("jax", "grad_x")
    assert r.passed, "a stage another oracle decided conclusively passes; inconclusive never counts as its pass"
    with pytest.raises(AssertionError, match="INCONCLUSIVE: standardize"):
        r.assert_stage("numerical", "grad_x")
    with pytest.warns(UserWarning, match="INCONCLUSIVE: standardize"):
        r.assert_stage("numerical", "grad_x", inconclusive="warn")


def test_a_layer_computing_in_float32_is_named_in_float64_and_checked_in_float32():
    report = check_layer(lambda p: Float32Inside(), inputs={"x": ("n", "d")}, fn=lambda xp, x: 1 / (1 + xp.exp(-x)),
                         name="sigmoid_f32_inside", max_examples=5, record=False)
    f64 = report.results["float64"]
    assert not f64.passed
    for oracle, stage in f64.failing():
        assert "computes in float32 whatever it is given" in f64.message(oracle, stage)
    assert report.results["float32"].passed, report.results["float32"].message("numerical", "grad_x")


def test_the_precision_probe_does_not_mistake_a_float64_layer_whose_inputs_barely_matter():
    x = np.array([[0.0, 1e-12, 3.5e-151]])
    f = lambda: 1 / (1 + np.exp(-x))  # noqa: E731  float64, but a tiny move of x is below its output's resolution
    assert computes_in(f, f(), [x]) == "float64"
    g = lambda: (1 / (1 + np.exp(-x.astype("f")))).astype("d")  # noqa: E731
    y = np.array([[0.3, 1.2, -2.5]])
    x = y
    assert computes_in(g, g(), [x]) == "float32"


def test_the_precision_probe_sees_a_float32_layer_whose_large_move_cancels():
    """proj_1024_f32 as Hypothesis drew it (check_layer, dev profile, seed 3): x all 3.5151114, W all
    -0.22025937 but two entries. Every entry moved up by 2,500 of its own float32 spacings moves x @ W by
    nothing (x up and the negative W toward 0 by nearly the same relative amount), so the probe once called
    the layer float64, bounded its float32 rounding as float64's and failed the correct layer (numerical
    0 +- 3e-7 for -1.83). A second large move with random signs sees it."""
    x = np.full((1, 1024), np.float32(3.5151114), dtype=np.float64)
    w = np.full((1024, 1), np.float32(-0.22025937), dtype=np.float64)
    w[243], w[300] = np.float32(-1.6093985), np.float32(-1.3928031)
    f = lambda: (x.astype("f") @ w.astype("f")).astype("d")  # noqa: E731
    up = [x + 2500 * np.spacing(np.float32(3.5151114)), w + 2500 * np.spacing(np.abs(w).astype("f"))]
    assert np.array_equal((up[0].astype("f") @ up[1].astype("f")).astype("d"), f())  # the cancelling move
    before = (x.copy(), w.copy())
    assert computes_in(f, f(), [x, w]) == "float32"
    assert np.array_equal(x, before[0]) and np.array_equal(w, before[1])  # restored


def test_inconclusive_can_be_accepted_knowingly_under_pytest(tmp_path):
    (tmp_path / "test_inc.py").write_text(textwrap.dedent('''
        import numpy as np
        from oracles import layer_spec, run_check

        from hypothesis import strategies as st
        from oracles.strategies import Case
        from test_numerical_bound import OFFSET_ROWS, Standardize, _standardize_math

        CASE = Case("standardize_pytest", "float64", {"n": 2, "d": 4}, {"x": OFFSET_ROWS}, {}, seed=1)
        R = run_check(layer_spec(lambda p: Standardize(), inputs={"x": ("n", "d")}, fn=_standardize_math,
                                 name="standardize_pytest"), "float64", max_examples=1, record=False,
                      strategy=st.just(CASE))

        def test_numerical_grad_x():
            R.assert_stage("numerical", "grad_x")
    '''))

    def run(*opts):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfw", "-p", "no:cacheprovider", "--oracle-no-records",
                               *opts, str(tmp_path / "test_inc.py")], capture_output=True, text=True,
                              env=clean_env(PYTHONPATH=str(Path(__file__).parent)),
                              cwd=tmp_path).stdout

    default, warned = run(), run("--oracle-inconclusive=warn")
    assert "1 failed" in default and "INCONCLUSIVE: standardize_pytest" in default, default
    assert "1 passed" in warned and "OracleInconclusiveWarning" in warned, warned


def test_the_precision_probe_does_not_mistake_a_float64_layer_whose_intermediate_swallows_the_move():
    """log(1 + e^-22) at [-22, 0]: a quarter float32 spacing of -22 moves 1 + 2.8e-10 by half an ulp of 1,
    so the output does not move, while a move 1e4 times larger does; but the output, 2.8e-10 computed in
    float64, is no float32 value (found by the tricky corpus's soak: logsumexp_dominant, seeds 3 and 15)."""
    x = np.array([[-22.0, 0.0]])
    f = lambda: np.log(np.exp(x).sum(axis=1, keepdims=True))  # noqa: E731
    assert computes_in(f, f(), [x]) == "float64"


class LayerNormAt999:
    """A correct LayerNorm (eps 1e-5, gain g) written for rows of 999.0: the float64 row mean rounds on the
    grid of 2997, symmetric about it, so its rounding is odd in the step (e(-h) = -e(h)) and hidden from
    the fourth difference; times 1/sqrt(1e-5) = 316 it moves L by ~1e-10."""

    def __init__(self, g):
        self.g = g

    def forward(self, x):
        self.xc = x - x.mean(axis=1, keepdims=True)
        self.r = 1 / np.sqrt((self.xc ** 2).mean(axis=1, keepdims=True) + 1e-5)
        self.xh = self.xc * self.r
        return self.xh * self.g

    def backward(self, dout):
        self.dg = (dout * self.xh).sum(axis=0)
        d = dout * self.g
        return self.r * (d - d.mean(axis=1, keepdims=True) - self.xh * (d * self.xh).mean(axis=1, keepdims=True))


def _layernorm_math(xp, x, g):
    xc = x - xp.mean(x, axis=1, keepdims=True)
    return xc / xp.sqrt(xp.mean(xc * xc, axis=1, keepdims=True) + 1e-5) * g


def test_the_careful_probe_bounds_rounding_that_is_odd_in_the_step():
    """x + 316 * (rounding of x + 2997 at x = 0): the first probe's bound misses its error (the fourth
    difference is blind to it and Richardson sees part), the careful look's sixth node covers it."""
    from oracles import numerical as N

    x = np.zeros(3)
    ct = np.array([0.7, -1.3, 0.4])
    f = lambda: x + 316.0 * (((x + 2997.0) - 2997.0) - x)  # noqa: E731  mathematically x
    grads, first, _, _, careful, _ = N.estimate(f, [("x", x)], ct)
    err, wider = np.abs(grads["x"] - ct), careful()["grad_x"]
    assert np.any(err > first["grad_x"]) and np.all(err <= wider) and np.all(wider >= first["grad_x"])
    assert np.all(wider <= 20 * err) and x.tolist() == [0.0, 0.0, 0.0]  # honest, not useless; restored


def test_the_careful_look_is_asked_only_where_the_numerical_checker_did_not_pass():
    from oracles.check import evaluate_case
    from oracles.numerical import run_numerical as plain

    looked = []

    def spy(spec, case, ct):
        a = plain(spec, case, ct)
        careful = a.careful
        a.careful = lambda *stages: looked.append(case.inputs["x"][0, 0]) or careful(*stages)
        return a

    spec = layer_spec(lambda p: LayerNormAt999(p["g"]), inputs={"x": ("n", "d")}, params={"g": ("d",)},
                      fn=_layernorm_math, name="layernorm_999")
    g = np.array([1.5, -0.75, 1.25])
    at999 = Case("layernorm_999", "float64", {"n": 2, "d": 3}, {"x": np.full((2, 3), 999.0)}, {"g": g}, seed=1)
    assert np.any(np.abs(plain(spec, at999, np.ones((2, 3))).grads["x"]) >= 0)  # runs
    comps = evaluate_case(spec, at999, ("numerical",), runners={"numerical": spy})
    assert looked == [999.0] and all(c.passed for c in comps), [c.message() for c in comps]
    spread = Case("layernorm_999", "float64", {"n": 2, "d": 3}, {"x": np.array([[0.5, -1.0, 2.0], [0.3, 1.1, -0.4]])},
                  {"g": g}, seed=1)
    assert all(c.passed for c in evaluate_case(spec, spread, ("numerical",), runners={"numerical": spy}))
    assert looked == [999.0]  # a passing example is not looked at again


def test_the_careful_look_skips_stages_a_wider_bound_cannot_decide():
    """looks._careful: a stage whose judging without the look is inconclusive with the values within
    tolerance stays so with a wider bound (every loose entry stays loose); a failing one, an inconclusive
    one out of tolerance (a kink) and a passing one are looked at. None left: `asked` itself."""
    from types import SimpleNamespace as C

    from oracles.answer import Answer
    from oracles.looks import _careful

    asked_for = []
    a = Answer(None, {}, 0.0, uncertainty={"grad_x": np.ones(2), "grad_W": np.ones(2)},
               careful=lambda stages: asked_for.append(sorted(stages)) or {s: np.full(2, 3.0) for s in stages})
    asked = {"numerical": a}
    first = [C(oracle="numerical", stage="grad_x", outcome="inconclusive", headroom=2.0)]
    loose = C(oracle="numerical", stage="grad_x", outcome="inconclusive", headroom=2.0)
    assert _careful(asked, first, [loose, C(oracle="torch", stage="grad_W", outcome="fail", headroom=0.1)]) is asked
    assert asked_for == []
    kink = C(oracle="numerical", stage="grad_x", outcome="inconclusive", headroom=0.5)
    passing = C(oracle="numerical", stage="grad_W", outcome="pass", headroom=9.0)
    got = _careful(asked, first, [kink, passing])
    assert asked_for == [["grad_W", "grad_x"]] and got["numerical"].uncertainty["grad_x"].tolist() == [3.0, 3.0]
    failing = C(oracle="numerical", stage="grad_W", outcome="fail", headroom=0.5)
    got = _careful(asked, first, [loose, failing])
    assert asked_for[-1] == ["grad_W"] and got["numerical"].uncertainty["grad_x"].tolist() == [1.0, 1.0]
    # every numerical comparison passed at first: no look at all
    assert _careful(asked, [C(oracle="numerical", stage="grad_x", outcome="pass", headroom=2.0)], [failing]) is asked


def test_refined_steps_stay_within_the_entrys_scale():
    """A float32 sigmoid unit whose share of the output is below float32's resolution at the first step
    (tests/tricky sigmoid_mlp_f32, soak seed 9): refining toward larger steps once went to 20 (4096 x
    5e-3), where D(h) ~ 1/h at both Richardson steps fooled the bound (2.1e-7 for an error of 4e-6).
    With the outer node within its scale (FARTHEST) the estimate is honest (too wide to decide, never wrong)."""
    from tricky import TRICKY

    from oracles.budget import upcast

    kw = {k: v for k, v in TRICKY["sigmoid_mlp_f32"].items() if k not in ("dtypes", "oracles", "max_examples")}
    spec = layer_spec(**kw)
    f32 = lambda *v: np.array(v, dtype=np.float32)  # noqa: E731
    params = {"W": np.zeros((2, 2), np.float32), "b": f32(0.0, -1.321945), "V": f32([1.9804465], [7.4442332e-06])}
    case = Case("sigmoid_mlp_f32", "float32", {"h": 2, "i": 2, "n": 1, "o": 1}, {"x": f32([0.0, 3.0])}, params)
    ct = np.array([[1.1369617]], dtype=np.float32)
    num = run_numerical(spec, case, ct)
    up = Case(case.layer, "float64", case.sizes, {"x": upcast(case.inputs["x"])}, {k: upcast(v) for k, v in params.items()})
    truth = run_torch(spec, up, upcast(ct)).grads
    for name in ("W", "b"):
        err = np.abs(num.grads[name] - truth[name])
        assert np.all(err <= num.uncertainty["grad_" + name]), (name, err, num.uncertainty["grad_" + name])


def test_what_a_float32_output_that_did_not_move_can_hide_is_in_the_bound():
    """A float32 layer whose weight w0 reaches one output through an input of 1e-4 (its move, 1e-4 h,
    is below half a float32 spacing of 3.7) and another through 1e-37 (which moves): the bound once
    counted only the moved output and claimed ~0 +- 1e-11 for a true 9.5e-5 (proj_1024_f32, soak seed 19)."""
    from oracles import numerical as N

    w, p = np.array([9.3e-38, 0.034]), np.array([1e-4, 1e-37, -3.68])

    def f():
        a, tiny, c = p.astype(np.float32)
        w32 = w.astype(np.float32)
        return np.array([a * w32[0] + c + np.float32(0.5) * w32[1], tiny * w32[0] + tiny * w32[1]], dtype=np.float64)

    ct = np.array([0.95, -1.08])
    grads, bound, _, precision, _, _ = N.estimate(f, [("w", w), ("p", p)], ct)
    truth = ct[0] * p[0] + ct[1] * p[1]
    assert precision == "float32" and abs(grads["w"][0] - truth) <= bound["grad_w"][0], (grads["w"], bound["grad_w"], truth)
