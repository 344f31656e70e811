"""Hypothesis profiles for oracle checks.

- dev: quick, randomized (a different sample every run), 10 examples per layer and dtype.
- ci: derandomized (the same examples every run, so a red gate is reproducible), no deadline, no
  example database, 25 examples per layer and dtype.
- thorough: 300 examples per layer and dtype, randomized; for soak runs, not for the gate.
- mutation: ci without shrinking, 8 examples: a mutation run needs to know THAT a mutant fails, not
  its minimal example (shrinking made killing one take seconds instead of a fraction of one).
"""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

PROFILES = {
    "dev": dict(max_examples=10, deadline=None),
    "ci": dict(max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True),
    "thorough": dict(max_examples=300, deadline=None),
    "mutation": dict(max_examples=8, deadline=None, derandomize=True, database=None,
                     phases=(Phase.explicit, Phase.reuse, Phase.generate)),
}


def register() -> None:
    for name, kw in PROFILES.items():
        settings.register_profile(
            name, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], **kw
        )

