"""The work budget of one check, and its hang guard.

Work is counted, not timed: every forward call of the reference layer (the reference pass, the two
hygiene passes, each central-difference step of the numerical oracle, each directional probe) is one
unit, so a check costs about examples x forward calls per example. The count is taken from outside
every oracle: while a check runs, `metered` wraps the spec's `make`, and each instance it returns
counts its own `forward` calls (the numerical oracle, which makes one layer per forward call, ticks once
per call itself: `one_forward_each`).

- Running out of work stops the run: the examples compared so far stand, the pairs that did not see a
  full run are `not-run` with "N of M examples" (never pass), and a failure already found is kept as
  the smallest failing example so far (shrinking is bounded by the same count: it may spend at most
  SHRINK_SHARE of the budget again, and try at most SHRINK_EXAMPLES examples).
- Wall-clock time is only a hang guard: past `hang_guard` seconds the check raises `CheckTimeout`, a
  usage-style error that names the layer, the time and the calls made, never a verdict on the layer
  (a loaded CI machine must not turn a pass into a fail).
- A check running longer than PROGRESS_EVERY seconds says so every PROGRESS_EVERY seconds: to stderr,
  or where `set_progress` points (the pytest plugin points it at the terminal).

>>> m = Meter("demo", "float64", requested=5, budget=2, hang_guard=60.0)
>>> m.tick(); m.tick(); m.calls
2
>>> try:
...     m.tick()
... except Stop as e:
...     print(e.kind)
work
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Callable

#: Forward calls of the reference layer one check may make by default, per example requested. The
#: numerical oracle makes 4 per entry (8 for an entry whose first step moves nothing, more where it
#: refines): the gate's costliest entry, conv2d_groups2, makes about 2,000 an example; the tricky corpus's
#: 1024-long float32 projection (12,288 entries) about 60,000 (measured). 100,000 covers both; an input of
#: 30,000 elements or more (>= 120,000 calls for one example) runs out of it instead of running for minutes.
PER_EXAMPLE = 100_000
#: Seconds after which a check is taken to hang (raises CheckTimeout); never decides a verdict. The
#: gate's slowest check takes a few seconds: 300 s is a hang, not a loaded machine.
DEFAULT_HANG_GUARD = 300.0
#: Shrinking a failure may spend at most this share of the budget beyond what was spent when it was found,
#: and try at most SHRINK_EXAMPLES examples (an example on a large input can cost a second in the
#: frameworks alone, with few forward calls). Neither changes a verdict: the failure is known; only how
#: small the reported example is.
SHRINK_SHARE = 0.2
SHRINK_EXAMPLES = 100
PROGRESS_EVERY = 10.0


class CheckTimeout(RuntimeError):
    """The hang guard: a check ran past its wall-clock limit. Not a verdict on the layer."""


class Stop(BaseException):
    """Raised inside a forward call to end the run. A BaseException, so that neither a layer's nor the
    harness's own `except Exception` (protocol breaches become notes) nor Hypothesis takes it for a
    failing example; run_check turns it into a not-run verdict or a CheckTimeout."""

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind = kind  # "work" or "time"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


_progress: Callable[[str], None] = _stderr


def set_progress(sink: Callable[[str], None] | None) -> None:
    """Where progress lines go (None: back to stderr)."""
    global _progress
    _progress = sink or _stderr


class Meter:
    """Counts one check's forward calls against its budget and watches the clock."""

    def __init__(self, layer: str, dtype: str, requested: int, budget: int | None = None,
                 hang_guard: float | None = None):
        self.label = f"{layer} [{dtype}]"
        self.budget = PER_EXAMPLE * requested if budget is None else budget
        self.limit = self.budget
        self.hang_guard = _env_float("ORACLE_HANG_GUARD", DEFAULT_HANG_GUARD) if hang_guard is None else hang_guard
        self.calls = self.shrunk = 0
        self.examples = 0  # kept up to date by the check loop, for the progress line
        self.requested = requested
        self.started = self.last_said = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def failure_found(self) -> None:
        """From now on Hypothesis shrinks: allow SHRINK_SHARE of the budget more, no more."""
        self.limit = min(self.limit, self.calls + max(1, int(SHRINK_SHARE * self.budget)))

    def shrink_step(self) -> None:
        """Before each example Hypothesis tries while shrinking a failure."""
        self.shrunk += 1
        if self.shrunk > SHRINK_EXAMPLES:
            raise Stop("work", f"shrink limit: {SHRINK_EXAMPLES} examples tried")

    def tick(self, count: bool = True) -> None:
        """Before a forward call (count) or a make() (time only)."""
        if count:
            self.calls += 1
            if self.calls > self.limit:
                raise Stop("work", f"work budget spent: {self.calls - 1} forward calls of the layer (budget "
                                   f"{self.budget}" + (f", plus {SHRINK_SHARE:.0%} of it for shrinking a failure)"
                                                       if self.limit < self.budget or self.shrunk else ")"))
        now = time.monotonic()
        if now - self.started > self.hang_guard:
            raise Stop("time", self.timeout_text())
        if now - self.last_said >= PROGRESS_EVERY:
            self.last_said = now
            _progress(f"oracle check {self.label}: {self.examples} of {self.requested} examples, "
                      f"{self.calls} forward calls (budget {self.budget}), {now - self.started:.0f} s")

    def timeout_text(self) -> str:
        per = f", {self.seconds / self.calls:.2g} s a forward call" if self.calls else ""
        return (f"{self.label}: hang guard: the check ran {self.seconds:.0f} s (limit {self.hang_guard:g} s) after "
                f"{self.examples} of {self.requested} examples and {self.calls} forward calls{per}; raise the limit "
                "(hang_guard=, --oracle-hang-guard, ORACLE_HANG_GUARD) or make the layer or its shapes smaller")


def _env_float(name: str, default: float) -> float:
    text = os.environ.get(name)
    try:
        return float(text) if text else default
    except ValueError:
        raise ValueError(f"{name}={text!r}: give a number of seconds") from None


def _counting(make: Callable, meter: Meter) -> Callable:
    """`make` whose instances count their forward calls (a layer whose attributes cannot be set, e.g.
    one with __slots__, is counted per make() instead: the harness calls forward once or twice each)."""
    def counted_make(*args, **kwargs):
        meter.tick(count=False)
        layer = make(*args, **kwargs)
        forward = getattr(layer, "forward", None)
        if not callable(forward):
            return layer  # the reference run says what is wrong with it

        def counted_forward(*a, **kw):
            meter.tick()
            return forward(*a, **kw)

        try:
            layer.forward = counted_forward
        except (AttributeError, TypeError):
            meter.tick()
        return layer

    counted_make._work_counted = (make, meter.tick)  # for one_forward_each
    return counted_make


def _no_tick() -> None:
    pass


def one_forward_each(make: Callable) -> tuple[Callable, Callable[[], None]]:
    """(make, tick) for a caller that calls forward exactly once on each layer it makes and ticks before
    each make: the spec's own `make` and its meter's tick where a check meters it (the same count as the
    wrapped instances'), else `make` and a no-op. The numerical oracle makes ~10^5 layers an example, and
    wrapping each instance's forward had cost more than a small layer's own forward."""
    counted = getattr(make, "__dict__", {}).get("_work_counted")  # not getattr: a make may answer any name
    return counted if counted is not None else (make, _no_tick)


@contextmanager
def metered(spec, meter: Meter):
    """Inside the block, `spec.make` counts into `meter`; the spec gets its own `make` back after (the
    spec's identity is kept: JAX's compiled functions are cached by it)."""
    original = spec.make
    spec.make = _counting(original, meter)
    try:
        yield meter
    finally:
        spec.make = original
