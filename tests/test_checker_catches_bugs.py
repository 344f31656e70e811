"""The checker must be able to fail: every deliberately broken layer is caught, by the right stage,
by every oracle, and the message says what, where and how much."""
import pytest

from oracles import run_check

from broken_layers import BROKEN as _BASE
from broken_zoo import BROKEN as _ZOO

BROKEN = {**_BASE, **_ZOO}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_layer_is_caught(name):
    spec, dtype, must_fail = BROKEN[name]
    result = run_check(spec, dtype, max_examples=25, record=False)
    assert not result.passed, f"{name}: the gate passed a broken layer"
    failing = set(result.failing())
    missing = [p for p in must_fail if not (failing & (set(p) if isinstance(p[0], tuple) else {p}))]
    assert not missing, f"{name}: not caught by {missing}; caught by {sorted(failing)}"
    # unless the bug is in forward, the forward stage must still pass, so the verdict points at the gradient
    flat = [q for p in must_fail for q in (p if isinstance(p[0], tuple) else (p,))]
    if not any(stage == "forward" for _, stage in flat):
        for oracle in ("torch", "jax"):
            assert not result.stage_failed(oracle, "forward"), result.message(oracle, "forward")
    oracle, stage = sorted(failing)[0]
    msg = result.message(oracle, stage)
    for part in (spec.name, f"[{dtype}]", stage, oracle, "shapes:", "atol=", "rtol=", "reproduce with"):
        assert part in msg, f"message lacks {part!r}:\n{msg}"


def test_correct_layers_pass_the_same_check():
    """Control: the unbroken originals of the broken layers pass with the same settings."""
    from oracles import REGISTRY

    for base in ("affine", "sigmoid", "softmax_with_loss", "mul", "add"):
        result = run_check(REGISTRY[base], "float64", max_examples=25, record=False)
        assert result.passed, "\n".join(result.message(o, s) for o, s in result.failing())


def test_repro_snippet_replays_the_failure():
    spec, dtype, must_fail = BROKEN["affine_db_wrong_axis"]
    result = run_check(spec, dtype, max_examples=25, record=False)
    comp, case = result.failures[must_fail[0]]
    ns = {}
    exec(case.repro().split("print(replay")[0], ns)  # the snippet's case must round-trip
    replayed = ns["case"]
    assert replayed.sizes == case.sizes and replayed.seed == case.seed
    for k in case.inputs:
        assert (replayed.inputs[k] == case.inputs[k]).all() and replayed.inputs[k].dtype == case.inputs[k].dtype
    from oracles import replay

    text = replay(replayed, spec=spec)
    assert "FAIL" in text and "grad_b" in text
