"""Global test configuration of this repository's suite (equinox habit): which Hypothesis profile loads,
x64 and matmul precision. The profiles themselves are defined once, in oracles/profiles.py (the pytest
plugin registers them too, for other repositories). Warnings are errors (pyproject's filterwarnings)."""
import os

from hypothesis import settings

from oracles import configure, profiles

profiles.register()  # dev, ci, thorough (the plugin registers them too, but only at pytest_configure)
# `--hypothesis-profile` on the command line wins; otherwise ci on CI and dev on a laptop.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
configure()  # float64 in JAX, full-precision float32 matmuls (no TF32) in PyTorch and JAX
