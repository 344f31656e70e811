"""Configuration for the mutation-testing view of the gate (see mutation/README.md).

The Hypothesis profile comes from the command line (`--hypothesis-profile=ci` in [tool.mutmut]), which
pytest applies after every conftest is imported, so tests/conftest.py cannot switch it back to dev.
"""
import sys

from oracles import configure

configure()


def pytest_collection_finish(session):
    """mutmut forks every mutant's test run from a server that has only collected the tests. Warm up
    there, once, what each mutant would otherwise pay: torch.autograd.grad imports torch.fx's symbolic
    shapes on first use (1.6 s), plus Hypothesis's and the oracles' lazy imports (2.0 -> 0.3 s a mutant).
    After collection, not at import: Hypothesis forbids drawing examples while plugins initialize. The
    flag lives on the `oracles` module because pytest imports this conftest afresh in every session."""
    import oracles

    if not getattr(oracles, "_mutation_warm", False):
        from oracles import REGISTRY, run_check

        run_check(REGISTRY["affine"], "float64", ("torch", "numerical"), max_examples=1, record=False)
        oracles._mutation_warm = True
