"""Run-wide choices set by the pytest plugin's command-line options (or by hand): which oracles, which
dtypes, how many examples. `None` means "everything" / "the Hypothesis profile's number"."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunOptions:
    oracles: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] | None = None
    max_examples: int | None = None

    def oracle_selected(self, oracle: str) -> bool:
        return self.oracles is None or oracle in self.oracles

    def dtype_selected(self, dtype: str) -> bool:
        return self.dtypes is None or dtype in self.dtypes


OPTIONS = RunOptions()


def parse_list(text: str | None, allowed: tuple[str, ...], what: str) -> tuple[str, ...] | None:
    """'torch,jax' -> ('torch', 'jax'); None or '' or 'all' -> None. Unknown names are an error."""
    if not text or text == "all":
        return None
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in items if t not in allowed]
    if bad:
        raise ValueError(f"unknown {what} {bad}; choose from {', '.join(allowed)}")
    return items
