"""Hypothesis profiles for oracle checks.

- dev: quick, randomized (a different sample every run), 10 examples per layer and dtype.
- ci: derandomized (the same examples every run, so a red gate is reproducible), no deadline, no
  example database, 25 examples per layer and dtype.
- thorough: 300 examples per layer and dtype, randomized; for soak runs, not for the gate.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = {
    "dev": dict(max_examples=10, deadline=None),
    "ci": dict(max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True),
    "thorough": dict(max_examples=300, deadline=None),
}


def register() -> None:
    for name, kw in PROFILES.items():
        settings.register_profile(
            name, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], **kw
        )

