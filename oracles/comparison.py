"""One comparison helper used everywhere, and the record it produces."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .tolerances import Tol


@dataclass
class Comparison:
    """One (layer, dtype, stage, oracle) comparison of one example.

    max_abs: max |reference - oracle|.
    max_rel: max |reference - oracle| / |oracle| over elements, with |oracle| floored at the dtype's
      smallest normal number (so an exact zero in the oracle gives a huge, not undefined, value).
    metric: "allclose": passed iff every element satisfies |ref - oracle| <= atol + rtol * |oracle|.
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
    metric: str = "allclose"
    note: str = ""
    worst_index: list[int] | None = None
    reference_value: float | None = None
    oracle_value: float | None = None
    seconds: float = 0.0
    repro: str = ""
    example: int = 0
    convention: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

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

    err / allowed with allowed = atol + rtol * |e|; NaN anywhere is an infinite error, and equal infinities
    agree. The common case (everything finite, atol > 0) takes a fast path: no masks, fewer temporaries."""
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
        err = np.where(a64 == e64, 0.0, err)  # equal infinities count as agreement
        allowed = np.nan_to_num(tol.atol + tol.rtol * abs_e, nan=0.0)  # a NaN oracle allows nothing
        rel = err / np.maximum(abs_e, tiny)
        ratio = np.where(err == 0, 0.0, np.where(np.isinf(err), np.inf, err / allowed))
    worst = int(np.argmax(ratio))
    return float(err.max()), float(np.nan_to_num(rel, nan=np.inf).max()), worst, float(ratio.flat[worst])


def compare(actual, expected, tol: Tol, **meta) -> Comparison:
    """Compare the reference's `actual` with an oracle's `expected` under `tol`.

    Shape mismatches, dtype mismatches and non-finite values fail with a note saying which.
    """
    exp = np.asarray(expected)
    dtype = meta["dtype"] if "dtype" in meta else str(exp.dtype)
    # an element-wise atol (the float32 budget) is recorded as its largest value
    atol = tol.atol if isinstance(tol.atol, float) else float(np.max(tol.atol))
    base = dict(atol=atol, rtol=tol.rtol, **meta)
    if actual is None:
        return Comparison(max_abs=math.inf, max_rel=math.inf, headroom=0.0, passed=False, note="reference gave no value", **base)
    act = np.asarray(actual)
    if act.shape != exp.shape or np.shape(tol.atol) not in ((), exp.shape):
        return Comparison(
            max_abs=math.inf, max_rel=math.inf, headroom=0.0, passed=False,
            note=f"shape {act.shape} != expected {exp.shape}", **base,
        )
    if act.dtype.kind != "f" and act.size:
        return Comparison(max_abs=math.inf, max_rel=math.inf, headroom=0.0, passed=False, note=f"reference dtype {act.dtype} is not floating", **base)
    notes = []
    if act.dtype != np.dtype(dtype) and act.size:
        notes.append(f"dtype {act.dtype} != {dtype}")
    bad_ref = ~np.isfinite(act)
    if bad_ref.any() and not (~np.isfinite(exp) == bad_ref).all():
        notes.append(f"reference has {int(bad_ref.sum())} non-finite value(s) (NaN/Inf)")
    a64 = act if act.dtype == np.float64 else act.astype(np.float64)
    e64 = exp if exp.dtype == np.float64 else exp.astype(np.float64)
    if act.size == 0:
        max_abs = max_rel = 0.0
        headroom = math.inf
        worst = None
    else:
        kind = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)
        max_abs, max_rel, worst_flat, r = _errors(a64, e64, tol, _TINY.get(kind) or float(np.finfo(kind).tiny))
        worst = np.unravel_index(worst_flat, act.shape)
        headroom = math.inf if r == 0 else 1.0 / r
    passed = (not notes) and headroom >= 1.0
    c = Comparison(max_abs=max_abs, max_rel=max_rel, headroom=headroom, passed=passed, note="; ".join(notes), **base)
    if worst is not None and (not passed or act.size):
        c.worst_index = [int(i) for i in worst]
        c.reference_value = float(a64[worst])
        c.oracle_value = float(e64[worst])
    return c
