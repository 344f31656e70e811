"""Second looks at one example, after the judging without them did not pass (check.evaluate_case): the
numerical oracle's held-back tries (`Answer.sharpen`: hopeless entries, numerical._sharpen), then its
careful look (`Answer.careful`: a sixth node per entry). Each is asked only on the stages where it can
still change the verdict; the verdict itself is still the judge's, made once more on the new answers."""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

from .comparison import Comparison
from .judge import Outcome
from .undecided import _allowed

Judge = Callable[[dict], list]  # asked -> the judged Comparisons (check.evaluate_case's, noise bound in)
Tolerances = Callable[[list, dict], dict]  # (stages, asked) -> (oracle, stage) -> Tol in force (check._in_force)


def second_looks(asked: dict, first: list[Comparison], judge: Judge, tolerances: Tolerances) -> list[Comparison]:
    """The verdicts of an example whose `first` judging (unperturbed noise) did not all pass: judged with
    the perturbed noise (`judge`), after the held tries where they can decide (_sharpened), after the
    careful look where it can still change a verdict (_careful)."""
    plain = judge(asked)
    sharp = _sharpened(asked, plain, tolerances)
    if sharp is not asked:
        asked, plain = sharp, judge(sharp)
    careful = _careful(asked, first, plain)
    return plain if careful is asked else judge(careful)


def _sharpened(asked: dict, plain: list[Comparison], tolerances: Tolerances) -> dict:
    """`asked`, with the numerical oracle's answers on the stages that did not pass in `plain` taken after
    its held tries (Answer.sharpen): on a stage inconclusive with the values within tolerance, only the
    entries whose predicted bound could decide (the allowance without the oracle's own bound is what it
    needs to be within); on a failing stage or a kink, every held try, as if none had been held. A pass
    needs none: it was judged with honest bounds, and a try only tightens them. `asked` where no stage
    needs any."""
    a = asked.get("numerical")
    if a is None or a.sharpen is None:
        return asked
    todo = {c.stage: _stays_inconclusive(c) for c in plain if c.oracle == "numerical" and c.outcome != Outcome.PASS}
    if not todo:
        return asked
    t0, selective = time.perf_counter(), [s for s, within in todo.items() if within]
    bare = tolerances(selective, {"numerical": dataclasses.replace(a, uncertainty={})}) if selective else {}
    values = a.by_stage() if selective else {}
    base = {s: _allowed(values[s], bare[("numerical", s)]) if ("numerical", s) in bare else None for s in todo}
    grads, uncertainty, kinks = a.sharpen(base)
    return {**asked, "numerical": dataclasses.replace(
        a, grads={**a.grads, **grads}, uncertainty={**a.uncertainty, **uncertainty}, kinks={**a.kinks, **kinks},
        sharpen=None, seconds=a.seconds + time.perf_counter() - t0)}


def _careful(asked: dict, first: list[Comparison], plain: list[Comparison]) -> dict:
    """`asked`, with the numerical oracle's bounds widened by its careful second look (Answer.careful: a
    sixth node per entry, for rounding that is odd in the step: one more forward per entry) where a
    numerical comparison did not pass in `first` (the look only adds to a bound: a pass stands either
    way), on the stages where it can still change the verdict of `plain` (the same judging without it):
    not where that is inconclusive with the values within tolerance, since a wider bound keeps every
    loose entry loose (undecided.undecided_reason: own > max(need, allowed - own) stays true as own grows,
    allowed being the judge's own allowance plus own) and the values within a wider tolerance. `asked`
    itself where no stage needs it."""
    a = asked.get("numerical")
    if a is None or a.careful is None or all(c.outcome == Outcome.PASS for c in first if c.oracle == "numerical"):
        return asked
    stages = [c.stage for c in plain if c.oracle == "numerical" and not _stays_inconclusive(c)]
    if not stages:
        return asked
    t0 = time.perf_counter()
    wider = a.careful(stages)
    return {**asked, "numerical": dataclasses.replace(a, uncertainty={**a.uncertainty, **wider}, careful=None,
                                                      seconds=a.seconds + time.perf_counter() - t0)}


def _stays_inconclusive(c: Comparison) -> bool:
    """Inconclusive with the values within tolerance (headroom >= 1): a wider own bound cannot decide it."""
    return c.outcome == Outcome.INCONCLUSIVE and c.headroom >= 1.0
