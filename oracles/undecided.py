"""The judge's reading of an oracle's own error bound (oracles/judge.py decides; this says why not).

Two ways an example cannot be decided by the values alone:
- the oracle agrees with the reference, but its own bound on some entry is larger than the resolution the
  harness promises (tolerances.resolution_needed) and larger than the reference's own allowance there:
  it could not have told a 0.1% error from agreement;
- it disagrees, but every disagreeing entry sits where the forward is not differentiable (a kink the
  spec did not declare): a central difference straddles it and answers neither side.
Both are inconclusive with the reason and the numbers, never a pass. At a kink the frameworks may also
disagree with the reference: `kink_note` names the kink in their failure message (they still fail).
"""
from __future__ import annotations

import numpy as np

from .answer import Kinks
from .comparison import Measurement
from .names import Stage
from .tolerances import Tol, resolution_needed

FIX = ("declare it: Domain(kinks=(...), margin=...) keeps the draws away from it, Domain(spacing=...) keeps "
       "ties apart, a Convention documents how the frameworks differ there (README, 'Kinks and ties')")


def _allowed(expected: np.ndarray, tol: Tol) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(tol.atol, dtype=np.float64) + tol.rtol * np.abs(np.asarray(expected, dtype=np.float64))


def undecided_reason(reference, expected, tol: Tol, own, kinks: Kinks | None, within: bool, oracle: str = "numerical",
                     scale: float = 0.0) -> str:
    """"" when the values decide; else why the `oracle`'s own bound `own` (per entry, already part of
    `tol`) cannot. `scale`: the oracle's largest gradient entry on the example (resolution_needed)."""
    exp = np.asarray(expected, dtype=np.float64)
    own = np.broadcast_to(np.asarray(own, dtype=np.float64), exp.shape)
    allowed = np.broadcast_to(_allowed(exp, tol), exp.shape)
    if within:
        need = resolution_needed(exp, scale)
        with np.errstate(invalid="ignore"):  # inf - inf: an infinite bound, which decides nothing
            loose = ~(own <= np.maximum(need, allowed - own))
        if not loose.any():
            return ""
        if kinks is not None and np.all(kinks.mask[loose]):  # loose because the slopes jump there
            return _kink_reason(np.flatnonzero(loose.reshape(-1)), kinks, exp, "uncertain")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            i = int(np.argmax(np.where(loose, np.nan_to_num(own / np.maximum(need, 1e-300), nan=np.inf), -np.inf).reshape(-1)))
        idx = tuple(int(k) for k in np.unravel_index(i, exp.shape))
        return (f"{oracle} cannot tell: its own error bound {own.flat[i]:.3g} at {idx} (value {exp.flat[i]:.6g}) is "
                f"above the {need.flat[i]:.3g} needed to see a 0.1% error, on {int(loose.sum())} of {exp.size} entries")
    if kinks is None or not np.any(kinks.mask):
        return ""
    with np.errstate(invalid="ignore"):
        err = np.abs(np.asarray(reference, dtype=np.float64) - exp)
    failing = ~(err <= allowed)
    if not failing.any() or not np.all(kinks.mask[failing]):
        return ""
    return _kink_reason(np.flatnonzero(failing.reshape(-1)), kinks, exp, "disagreeing")


def _kink_reason(where: np.ndarray, kinks: Kinks, exp: np.ndarray, what: str) -> str:
    i = int(where[0])
    idx = tuple(int(k) for k in np.unravel_index(i, exp.shape))
    return (f"not differentiable at {idx} ({where.size} {what} entr{'y' if where.size == 1 else 'ies'}, all on "
            f"kinks): the one-sided slopes of sum(ct * forward) there are {kinks.left.flat[i]:.6g} (left) and "
            f"{kinks.right.flat[i]:.6g} (right), the central difference {exp.flat[i]:.6g} answers neither side; {FIX}")


def kink_note(m: Measurement, kinks: Kinks) -> str:
    """For an exact oracle that disagrees: "" unless its worst entry sits on a kink the numerical oracle
    found, then what the slopes are and how to declare it."""
    if m.worst_index is None or len(m.worst_index) != kinks.mask.ndim:
        return ""
    i = tuple(m.worst_index)
    if not bool(kinks.mask[i]):
        return ""
    return (f"the worst entry {i} sits on a kink of the forward (one-sided slopes {kinks.left[i]:.6g} left, "
            f"{kinks.right[i]:.6g} right): implementations may differ there by convention; {FIX}")


def own_bound(actual, expected, tol: Tol, own, kinks, m: Measurement, oracle: str, answer: dict) -> tuple[str, str]:
    """(why the oracle's own bound cannot decide, a note for a disagreement that sits on a kink) for one
    comparison: an oracle with a bound per entry reads it (undecided_reason); an exact oracle
    that disagrees where the numerical oracle found a kink gets the kink named (kink_note)."""
    if own is not None:
        return undecided_reason(actual, expected, tol, own, kinks, m.within, oracle, _scale(answer)), ""
    if not m.within and kinks is not None:
        return "", kink_note(m, kinks)
    return "", ""


def _scale(answer: dict) -> float:
    """The largest finite gradient entry of one oracle's answer on an example, over every stage."""
    tops = [float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0)) for s, v in answer.items()
            if not Stage(s).is_forward and np.size(v)]
    return max(tops, default=0.0)
