"""Global test configuration (equinox habit): Hypothesis profiles, x64 and matmul precision, here and
nowhere else. Warnings are errors (pyproject's filterwarnings)."""
import os

from hypothesis import settings

from oracles import configure, profiles

profiles.register()  # dev, ci, thorough (the plugin registers them too, but only at pytest_configure)
# `--hypothesis-profile` on the command line wins; otherwise ci on CI and dev on a laptop.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
configure()  # float64 in JAX, full-precision float32 matmuls (no TF32) in PyTorch and JAX
