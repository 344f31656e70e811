"""Environment for tests that start pytest in a subprocess: without the outer run's pytest-xdist worker
and oracle variables (PYTEST_XDIST_WORKER would make the inner run act as a worker of the outer one)."""
import os


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "ORACLE_")) and k not in ("PYTHONPATH", "HYPOTHESIS_PROFILE")}
    env.update(extra)
    return env
