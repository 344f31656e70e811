"""Repeated timings summarized as median/min/max, and same-run ratios."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def summary(values: list[float]) -> dict:
    vals = [float(v) for v in values]
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "runs": len(vals)}


def once(fn: Callable[[], object], number: int = 1) -> float:
    """Seconds per call of fn, averaged over `number` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def autonumber(fn: Callable[[], object], target: float = 0.02, cap: int = 10_000) -> int:
    """Calls per timing so that one timing lasts about `target` seconds."""
    t = once(fn)
    return max(1, min(cap, int(target / max(t, 1e-7))))


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, target: float = 0.02,
                number: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Time each fn once per repetition, all of them inside the same repetition (so the ratios of one
    repetition share the machine's state). Returns name -> seconds per call, one per repetition."""
    number = dict(number or {})
    for name, fn in fns.items():
        if name not in number:
            number[name] = autonumber(fn, target)
    out: dict[str, list[float]] = {n: [] for n in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            out[name].append(once(fn, number[name]))
    return out


def ratios(times: dict[str, list[float]], num: str, den: str) -> dict:
    """num/den per repetition, summarized."""
    return summary([a / b for a, b in zip(times[num], times[den])])
