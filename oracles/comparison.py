"""The measurement behind every comparison, and the record a judged comparison becomes.

`measure` computes errors and headroom; only the judge (oracles/judge.py) decides pass or fail and builds
a `Comparison`, once: nothing edits one afterwards (it is frozen).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from .tolerances import Tol


@dataclass(frozen=True)
class Comparison:
    """One (layer, dtype, stage, oracle) comparison of one example.

    max_abs: max |reference - oracle|.
    max_rel: max |reference - oracle| / |oracle| over elements, with |oracle| floored at the dtype's
      smallest normal number (so an exact zero in the oracle gives a huge, not undefined, value).
    passed / outcome: the judge's verdict on this example: "pass" iff every element satisfies
      |ref - oracle| <= atol + rtol * |oracle|, at least one element was finite on both sides, and nothing
      is wrong with the layer's protocol (note), or the difference is a documented convention at a kink;
      "inconclusive" when nothing finite was compared (empty, or non-finite in the same places on both
      sides: never counted as agreement); else "fail".
    headroom: min over elements of (atol + rtol * |oracle|) / |ref - oracle|: how many times the
      observed error fits in the tolerance (>= 1 passes; inf when equal).
    seconds: wall time of the oracle call that produced this comparison; one call serves every stage of
      an example, so its stages share the same figure (sum over one stage, not over all, for a total).
    """

    layer: str
    dtype: str
    stage: str
    oracle: str
    shapes: dict[str, list[int]]
    max_abs: float
    max_rel: float
    atol: float
    rtol: float
    headroom: float
    passed: bool
    outcome: str = ""
    note: str = ""
    worst_index: list[int] | None = None
    reference_value: float | None = None
    oracle_value: float | None = None
    seconds: float = 0.0
    repro: str = ""
    example: int = 0
    convention: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.outcome == "fail"

    def to_json(self) -> dict:
        """The fields as a dict, shallow (records.jsonable builds the JSON's own containers; dataclasses'
        asdict deep-copies every nested value, a quarter of the gate's records time)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def message(self) -> str:
        """A failure message that names layer, dtype, stage, oracle, shapes, errors and tolerance."""
        shapes = ", ".join(f"{k}={tuple(v)}" for k, v in self.shapes.items())
        head = f"{self.layer} [{self.dtype}] {self.stage} vs {self.oracle}"
        if self.note:
            head += f": {self.note}"
        if math.isfinite(self.max_abs) or self.max_abs == math.inf:
            head += (
                f"\n  max_abs={self.max_abs:.3g} max_rel={self.max_rel:.3g}, tolerance atol={self.atol:g}"
                f" rtol={self.rtol:g} (headroom {self.headroom:.3g}, needs >= 1)"
            )
        if self.worst_index is not None:
            head += (
                f"\n  worst element {tuple(self.worst_index)}: reference={self.reference_value!r}"
                f" {self.oracle}={self.oracle_value!r}"
            )
        return head + f"\n  shapes: {shapes}"


_TINY = {np.dtype(np.float64): float(np.finfo(np.float64).tiny), np.dtype(np.float32): float(np.finfo(np.float32).tiny)}


def _errors(a64: np.ndarray, e64: np.ndarray, tol: Tol, tiny: float) -> tuple[float, float, int, float]:
    """(max |a - e|, max relative error, flat index of the worst element, its err / allowed ratio).

    err / allowed with allowed = atol + rtol * |e|; NaN on one side is an infinite error; an element that is
    the same non-finite value on both sides (equal infinities, NaN and NaN) is left out (err 0: it is not
    compared, see Measurement.compared). The common case (everything finite, atol > 0) takes a fast path: no masks, fewer temporaries."""
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, handled below
        diff = np.atleast_1d(a64 - e64)  # 0-d inputs (a loss) give a NumPy scalar otherwise
    abs_e = np.atleast_1d(np.abs(e64))
    if np.isfinite(diff).all() and (tol.atol > 0 if isinstance(tol.atol, float) else np.all(tol.atol > 0)):
        err = np.abs(diff, out=diff)
        allowed = tol.rtol * abs_e
        allowed += tol.atol
        with np.errstate(over="ignore"):  # an error over an exact 0 is a huge relative error, not a crash
            ratio = err / allowed
            rel = err / np.maximum(abs_e, tiny)
        worst = int(np.argmax(ratio))
        return float(err.max()), float(rel.max()), worst, float(ratio.flat[worst])
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        err = np.abs(diff)
        err = np.where(np.isnan(err), np.inf, err)
        err = np.where((a64 == e64) | (np.isnan(a64) & np.isnan(e64)), 0.0, err)  # same non-finite value: left out
        allowed = np.nan_to_num(tol.atol + tol.rtol * abs_e, nan=0.0)  # a NaN oracle allows nothing
        rel = err / np.maximum(abs_e, tiny)
        ratio = np.where(err == 0, 0.0, np.where(np.isinf(err), np.inf, err / allowed))
    worst = int(np.argmax(ratio))
    return float(err.max()), float(np.nan_to_num(rel, nan=np.inf).max()), worst, float(ratio.flat[worst])


@dataclass(frozen=True)
class Measurement:
    """What `measure` found, before any verdict: the errors, the headroom, and the problems that fail a
    comparison whatever the numbers (a shape or dtype that differs, non-finite values the oracle lacks).
    The judge (oracles/judge.py) turns it into a Comparison."""

    max_abs: float
    max_rel: float
    atol: float  # the largest atol in force (an element-wise atol is recorded as its maximum)
    rtol: float
    headroom: float
    problems: tuple[str, ...] = ()
    worst_index: tuple[int, ...] | None = None
    reference_value: float | None = None
    oracle_value: float | None = None
    compared: int = 0  # elements finite on both sides: what was actually compared
    size: int = 0

    @property
    def within(self) -> bool:
        """No problem and every element within its tolerance."""
        return not self.problems and self.headroom >= 1.0


def _failed(tol_atol: float, tol: Tol, problem: str) -> Measurement:
    return Measurement(math.inf, math.inf, tol_atol, tol.rtol, 0.0, (problem,))


def measure(actual, expected, tol: Tol, dtype: str | None = None) -> Measurement:
    """Measure the reference's `actual` against an oracle's `expected` under `tol`, element by element:
    |actual - expected| <= atol + rtol * |expected|. `dtype` is the dtype the check runs in (default:
    the oracle's). Shape mismatches, dtype mismatches and non-finite values are problems, each named."""
    exp = np.asarray(expected)
    dtype = dtype or str(exp.dtype)
    atol = tol.atol if isinstance(tol.atol, float) else float(np.max(tol.atol))
    if actual is None:
        return _failed(atol, tol, "reference gave no value")
    act = np.asarray(actual)
    if act.shape != exp.shape or np.shape(tol.atol) not in ((), exp.shape):
        return _failed(atol, tol, f"shape {act.shape} != expected {exp.shape}")
    if act.dtype.kind != "f" and act.size:
        return _failed(atol, tol, f"reference dtype {act.dtype} is not floating")
    problems = []
    if act.dtype != np.dtype(dtype) and act.size:
        same = np.allclose(act.astype(np.float64), exp.astype(np.float64), atol=atol, rtol=tol.rtol, equal_nan=True)
        problems.append(f"dtype {act.dtype} != {dtype}" + (
            f": the values agree, the layer returns {act.dtype} for {dtype} input" if same else ""))
    bad_ref = ~np.isfinite(act)
    if bad_ref.any() and not (~np.isfinite(exp) == bad_ref).all():
        problems.append(f"reference has {int(bad_ref.sum())} non-finite value(s) (NaN/Inf)")
    if act.size == 0:
        return Measurement(0.0, 0.0, atol, tol.rtol, math.inf, tuple(problems), compared=0, size=0)
    compared = int(np.count_nonzero(np.isfinite(act) & np.isfinite(exp)))
    a64 = act if act.dtype == np.float64 else act.astype(np.float64)
    e64 = exp if exp.dtype == np.float64 else exp.astype(np.float64)
    kind = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)
    max_abs, max_rel, worst_flat, r = _errors(a64, e64, tol, _TINY.get(kind) or float(np.finfo(kind).tiny))
    worst = tuple(int(i) for i in np.unravel_index(worst_flat, act.shape))
    return Measurement(max_abs, max_rel, atol, tol.rtol, math.inf if r == 0 else 1.0 / r, tuple(problems),
                       worst, float(a64[worst]), float(e64[worst]), compared, int(act.size))
