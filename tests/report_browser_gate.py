"""A broken layer checked the way the gate checks a layer, for the report's browser test
(tests/test_report_browser.py runs it with `pytest -m oracle` next to a few of the gate's own layers, so
the report it renders is a failing run's). Not collected by the normal suite: its name does not start
with `test_`; it is collected only when named on the command line."""
import pytest

from oracles import DTYPES

from broken_layers import BROKEN

SPEC = BROKEN["sigmoid_deriv_from_input"][0]  # y(1-y) at the input x instead of the output y: grad_x wrong


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("oracle", ["torch", "jax", "numerical"])
def test_oracle_broken_sigmoid(oracle, dtype, oracle_check):
    oracle_check(SPEC, dtype).assert_stage(oracle, "grad_x")
