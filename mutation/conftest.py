"""Configuration for the mutation-testing view of the gate (see mutation/README.md).

The Hypothesis profile comes from the command line (`--hypothesis-profile=ci` in [tool.mutmut]), which
pytest applies after every conftest is imported, so tests/conftest.py cannot switch it back to dev.
"""
from oracles import configure

configure()  # imports torch and JAX here, so mutmut's fork server holds them and mutants do not re-import
