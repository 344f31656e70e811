"""What one randomized check of one layer in one dtype found: the judge's verdicts, and views of them.

Every predicate here reads `verdicts` (decided once by oracles/judge.py); nothing here decides."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from .comparison import Comparison
from .judge import Outcome, Verdict
from .names import oracle_stages
from .options import OPTIONS
from .spec import Convention
from .strategies import Case


class OracleMismatch(AssertionError):
    """The reference disagreed with an oracle (or broke the layer protocol), or nothing could decide:
    a FAIL or INCONCLUSIVE verdict."""


class OracleInconclusiveWarning(UserWarning):
    """An INCONCLUSIVE verdict accepted knowingly (--oracle-inconclusive=warn)."""


class OracleNotRun(OracleMismatch):
    """A NOT-RUN verdict: the run stopped at another stage's failure, or an option left the stage out.
    Under pytest the plugin shows it as a skip with this reason; elsewhere it is an AssertionError, so it
    is never mistaken for a pass."""


@dataclass(frozen=True)
class CheckResult:
    """The verdict of every (oracle, stage) of one check, and what the run saw.

    `failures[(oracle, stage)]` holds the smallest failing example seen for that pair as (Comparison,
    Case); `comparisons` the passing ones; `counts` how many examples compared each pair.
    """

    layer: str
    dtype: str
    oracles: tuple[str, ...]
    stages: list[str]
    verdicts: dict[tuple[str, str], Verdict]
    examples: int = 0
    requested: int = 0
    counts: dict = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    failures: dict = field(default_factory=dict)
    differences: dict = field(default_factory=dict)
    error: BaseException | None = None
    seconds: float = 0.0
    convention: Convention | None = None
    last_failing: Case | None = None  # after shrinking, the minimal failing example
    calls: int = 0  # forward calls of the reference layer the check made (its work, oracles/work.py)

    def pairs(self) -> list[tuple[str, str]]:
        return [(o, s) for o in self.oracles for s in oracle_stages(o, self.stages)]

    def records(self) -> list[Comparison]:
        """Every comparison worth keeping: the passing ones and the smallest failing one per pair."""
        return list(self.comparisons) + [c for c, _ in self.failures.values()]

    def outcome(self, oracle: str, stage: str) -> Outcome:
        return self.verdicts[(oracle, stage)].outcome

    def stage_failed(self, oracle: str, stage: str) -> bool:
        return self.outcome(oracle, stage) is Outcome.FAIL

    def stage_passed(self, oracle: str, stage: str) -> bool:
        return self.outcome(oracle, stage) is Outcome.PASS

    def inconclusive(self, oracle: str, stage: str) -> bool:
        """Nothing could decide this pair (e.g. no example compared it). Not the same as not_run."""
        return self.outcome(oracle, stage) is Outcome.INCONCLUSIVE

    def not_run(self, oracle: str, stage: str) -> bool:
        """The run stopped at another stage's failure before this pair saw a full run of examples."""
        return self.outcome(oracle, stage) is Outcome.NOT_RUN

    def stage_decided(self, stage: str) -> bool:
        """A stage passes when no oracle failed on it or left it not-run, and at least one oracle passed
        it conclusively: an oracle whose own bound could not decide (inconclusive on examples it compared)
        does not fail a stage another oracle decided, and never counts as its pass."""
        verdicts = [v for (o, s), v in self.verdicts.items() if s == stage]
        # an oracle asked that compared nothing at all did not run: that is not "could not decide"
        return (any(v.outcome is Outcome.PASS for v in verdicts)
                and all(v.outcome is Outcome.PASS or (v.outcome is Outcome.INCONCLUSIVE and v.examples > 0) for v in verdicts))

    @property
    def passed(self) -> bool:
        """Every stage decided (stage_decided) and every convention verdict passed."""
        conventions = [v for (o, s), v in self.verdicts.items() if s == "convention"]
        return all(self.stage_decided(s) for s in self._judged()) and all(v.passed for v in conventions)

    def _judged(self) -> list[str]:
        """The stages some oracle was asked about (the directional oracle: only the joint "grad")."""
        return list(dict.fromkeys(s for (o, s) in self.pairs()))

    def failing(self) -> list[tuple[str, str]]:
        """Pairs that failed, or were never compared (not-run ones are not listed: see not_passed)."""
        return [p for p in self.pairs() if self.stage_failed(*p) or self.counts.get(p, 0) == 0]

    def not_passed(self) -> list[tuple[str, str]]:
        return [p for p in self.pairs() if not self.stage_passed(*p)]

    def message(self, oracle: str, stage: str) -> str:
        return self.verdicts[(oracle, stage)].message()

    def assert_stage(self, oracle: str, stage: str, *, inconclusive: str | None = None) -> None:
        """Raise unless this oracle passed this stage. inconclusive="warn" (default: the run's
        --oracle-inconclusive) turns an INCONCLUSIVE verdict into a warning: accepted knowingly."""
        _enforce([self.verdicts[(oracle, stage)]], inconclusive)

    def difference_seen(self, oracle: str) -> bool:
        return any(n > 0 for (o, _), n in self.differences.items() if o == oracle)

    def assert_convention(self, oracle: str) -> None:
        """At a kink: an oracle that agrees with the reference must match it on every stage; one that
        does not must still match the forward, differ only as documented, and actually differ somewhere
        (if it never does, the documented convention is stale)."""
        _enforce([self.verdicts[(oracle, s)] for s in self.stages]
                 + [v for k, v in self.verdicts.items() if k == (oracle, "convention")])

    def assert_passed(self) -> None:
        """Raise unless `passed`: the failing and not-run verdicts, and the inconclusive ones of every
        stage that no oracle decided."""
        undecided = {s for s in self._judged() if not self.stage_decided(s)}
        _enforce([v for (o, s), v in self.verdicts.items() if v.outcome is not Outcome.INCONCLUSIVE or s in undecided])


def _enforce(verdicts: list[Verdict], inconclusive: str | None = None) -> None:
    """Raise for what did not pass: OracleMismatch when anything failed or was inconclusive (the
    messages of all of them), else OracleNotRun for what was not run. inconclusive="warn": inconclusive
    verdicts are warned about (OracleInconclusiveWarning) instead."""
    if (inconclusive or OPTIONS.inconclusive) == "warn":
        for v in verdicts:
            if v.outcome is Outcome.INCONCLUSIVE:
                warnings.warn(OracleInconclusiveWarning(v.message()), stacklevel=3)
        verdicts = [v for v in verdicts if v.outcome is not Outcome.INCONCLUSIVE]
    # out of budget is a failed test: only a stage left out because another failed is a skip
    bad = [v for v in verdicts if v.outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE) or v.budget_spent]
    skipped = [v for v in verdicts if v.outcome is Outcome.NOT_RUN and not v.budget_spent]
    if bad:
        raise OracleMismatch("\n\n".join(v.message() for v in bad + skipped))
    if skipped:
        raise OracleNotRun("\n\n".join(v.message() for v in skipped))
