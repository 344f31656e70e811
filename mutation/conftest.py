"""Configuration for the mutation-testing view of the gate (see mutation/README.md).

The Hypothesis profile comes from the command line (`--hypothesis-profile=ci` in [tool.mutmut]), which
pytest applies after every conftest is imported, so tests/conftest.py cannot switch it back to dev.
"""
from oracles import REGISTRY, configure, run_check

configure()
# mutmut forks every mutant's test run from a server that has only collected the tests. Warm up here,
# once, what would otherwise be paid per mutant: torch.autograd.grad imports torch.fx's symbolic shapes
# on first use (1.6 s), Hypothesis and the oracles' own lazy imports (measured 2.0 -> 0.3 s a mutant).
run_check(REGISTRY["affine"], "float64", ("torch", "numerical"), max_examples=1, record=False)
