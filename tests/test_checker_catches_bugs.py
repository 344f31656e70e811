"""The checker must be able to fail: every deliberately broken layer is caught, by the right stage,
by every oracle, and the message says what, where and how much."""
import pytest

from oracles import run_check

from broken_layers import BROKEN as _BASE
from broken_zoo import BROKEN as _ZOO
from catching import assert_caught

BROKEN = {**_BASE, **_ZOO}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_layer_is_caught(name):
    assert_caught(*BROKEN[name])


def test_correct_layers_pass_the_same_check():
    """Control: the unbroken originals of the broken layers pass with the same settings."""
    from oracles import REGISTRY

    for base in ("affine", "sigmoid", "softmax_with_loss", "mul", "add"):
        result = run_check(REGISTRY[base], "float64", max_examples=25, record=False)
        assert result.passed, "\n".join(result.message(o, s) for o, s in result.failing())


def test_repro_snippet_replays_the_failure():
    spec = BROKEN["affine_db_wrong_axis"].spec
    result = assert_caught(*BROKEN["affine_db_wrong_axis"])
    comp, case = result.failures[("torch", "grad_b")]
    ns = {}
    exec(case.repro().split("print(replay")[0], ns)  # the snippet's case must round-trip
    replayed = ns["case"]
    assert replayed.sizes == case.sizes and replayed.seed == case.seed
    for k in case.inputs:
        assert (replayed.inputs[k] == case.inputs[k]).all() and replayed.inputs[k].dtype == case.inputs[k].dtype
    from oracles import replay

    text = replay(replayed, spec=spec)
    assert "FAIL" in text and "grad_b" in text
