"""Run-wide choices set by the pytest plugin's command-line options (or by hand): which oracles, which
dtypes, how many examples, the work budget and hang guard of each check. `None` means "everything" /
"the Hypothesis profile's number" / "the default"."""
from __future__ import annotations

from dataclasses import dataclass

from .validate import check_names


@dataclass
class RunOptions:
    oracles: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] | None = None
    max_examples: int | None = None
    inconclusive: str = "fail"  # "warn": an INCONCLUSIVE verdict is a warning, accepted knowingly
    work_budget: int | None = None  # forward calls per check (None: oracles/work.py's default)
    hang_guard: float | None = None  # seconds per check before it is taken to hang (None: the default)
    pytest: bool = False  # set by the pytest plugin: outside pytest no Hypothesis database is written

    def oracle_selected(self, oracle: str) -> bool:
        return self.oracles is None or oracle in self.oracles

    def dtype_selected(self, dtype: str) -> bool:
        return self.dtypes is None or dtype in self.dtypes


OPTIONS = RunOptions()

#: Examples per dtype when neither max_examples, the pytest options nor a chosen Hypothesis profile say:
#: enough to vary shapes and values, few enough that a 1,000-element Function checks in under 3 s on 2
#: cores (benchmarks/functions.py) and every layer of the tricky corpus in about that (tests/tricky)
DEFAULT_EXAMPLES = 10


def profile_examples() -> int | None:
    """The max_examples of the Hypothesis profile someone loaded (dev, ci, thorough, or their own); None
    under Hypothesis's own "default" profile, which nobody chose: its 100 examples are sized for property
    tests that cost microseconds, where an oracle example costs hundreds of forwards."""
    from hypothesis import settings

    name = getattr(settings, "_current_profile", None)
    return None if name in (None, "default") else settings.default.max_examples


def parse_list(text: str | None, allowed: tuple[str, ...], what: str, where: str = "") -> tuple[str, ...] | None:
    """'torch,jax' -> ('torch', 'jax'); None (the option unset) or 'all' -> None, i.e. every one. An
    explicitly empty list ('', ',', ' ') or an unknown name is a ValueError naming `where` (the option):
    an empty selection would check nothing and pass."""
    if text is None or text.strip() == "all":
        return None
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    if not items:
        raise ValueError(f"{where or what}={text!r} names no {what}; choose from {', '.join(allowed)} "
                         f"(or leave it unset for all)")
    check_names(items, allowed, what, where or what)
    return items
