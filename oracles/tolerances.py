"""One dtype-keyed tolerance table, and why each number is what it is.

A comparison passes when, element by element,

    |reference - oracle| <= atol + rtol * |oracle|

(`numpy.allclose` with the oracle as the trusted side). `rtol` covers rounding on entries that are well
away from zero; `atol` covers entries that cancel to (near) zero, whose error is set by the size of the
terms that were summed, not by the result. Tolerances are never scaled by array size. The strategies bound
what those terms can be (values in [-4, 4] by default, at most 8 along any reduced axis of the built-in
layers), which is what lets fixed numbers be derived rather than guessed:

exact oracles (PyTorch, JAX) against the reference, same dtype
  float64: eps = 2.2e-16. Reference and oracle round differently (summation order, fused ops, exp/log
      implementations): observed differences stay below ~1e-14 relative. rtol = 1e-9 leaves > 1e4x
      headroom for rounding while a gradient off by 1.001 (relative error 1e-3) fails by 1e6x.
      atol = 1e-12: a sum of <= 64 terms of size <= 16 rounds to ~64 * 16 * eps = 2e-13.
  float32: eps = 1.2e-7. Same reasoning: rtol = 1e-5 (~100 ulp), atol = 1e-5 (~64 * 16 * eps = 1.2e-4
      is the worst case, cancellation to exactly 0 of that size being rare, observed <= 4e-6).
      The 1.001 bug still fails by 100x on entries of size 1.

numerical oracle (central differences of the reference's own forward, in float64: oracles/numerical.py)
  It knows its own error: every entry comes with a bound (truncation measured by Richardson, rounding
  from the magnitudes summed, the precision the layer computes in), which is *added* to the row below.
  So the row is only the reference's own allowance, the same as against an exact oracle: float64
  (1e-12, 1e-9), float32 (1e-5, 1e-5, widened by the float32 budget). Nothing here assumes magnitudes:
  a layer at 1e6 or with high curvature gets the bound its own numbers give.

Resolution (`resolution_needed`): the harness promises to catch a gradient off by 0.1% (relative 1e-3)
on every entry at least 1e-3 the size of the stage's largest (of the example's largest gradient entry,
where a whole stage is ~0). An oracle whose own bound on an entry
exceeds a tenth of that error, RESOLUTION = 1e-4 of max(|value|, FLOOR * max |value|) with FLOOR = 1e-3,
cannot promise it there: the judge calls such an example inconclusive (unless the reference's own
allowance is larger still, as in float32, where the bound then changes nothing).

Forward and gradient stages have separate entries (tinygrad's habit): a forward is one evaluation, a
gradient chains several, so gradients get the same or looser numbers, never tighter.

float32 comparisons against the frameworks are further held to an error budget measured on each example,
which covers ill-conditioned examples without loosening the table for the well-conditioned ones: the rule
is written once, in oracles/budget.py.

A layer may override an entry (`LayerSpec.tolerances`) and must say why (`LayerSpec.tolerance_reason`).
Every Comparison records the atol and rtol it used, so the report can show headroom.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tol:
    atol: float
    rtol: float


#: (dtype, oracle kind, stage kind) -> tolerance. oracle kind: "exact" (torch, jax) or "numerical";
#: stage kind: "forward" or "grad".
TOLERANCES: dict[tuple[str, str, str], Tol] = {
    ("float64", "exact", "forward"): Tol(atol=1e-12, rtol=1e-9),
    ("float64", "exact", "grad"): Tol(atol=1e-12, rtol=1e-9),
    ("float64", "numerical", "grad"): Tol(atol=1e-12, rtol=1e-9),  # + the oracle's own bound per entry
    ("float32", "exact", "forward"): Tol(atol=1e-5, rtol=1e-5),
    ("float32", "exact", "grad"): Tol(atol=1e-5, rtol=1e-5),
    ("float32", "numerical", "grad"): Tol(atol=1e-5, rtol=1e-5),  # + the oracle's own bound per entry
}

ORACLE_KIND = {"torch": "exact", "jax": "exact", "numerical": "numerical"}


def stage_kind(stage: str) -> str:
    """"forward" for the output ("forward", or "forward_<output>" of a layer with several), else "grad"."""
    return "forward" if stage == "forward" or stage.startswith("forward_") else "grad"


def tolerance_for(dtype: str, oracle: str, stage: str, overrides: dict | None = None) -> Tol:
    """The tolerance in force for one comparison: a layer override if it has one, else the table.

    Overrides are keyed like the table, (dtype, oracle kind, stage kind), and may use "*" for any part.
    """
    key = (dtype, ORACLE_KIND.get(oracle, "exact"), stage_kind(stage))
    for cand in _wildcards(key):
        if overrides and cand in overrides:
            return overrides[cand]
    return TOLERANCES[key]


def _wildcards(key):
    d, o, s = key
    return [(d, o, s), (d, o, "*"), (d, "*", s), ("*", o, s), (d, "*", "*"), ("*", o, "*"), ("*", "*", s), ("*", "*", "*")]


#: an oracle's own bound must be below RESOLUTION x max(|value|, FLOOR x the stage's largest |value|)
RESOLUTION = 1e-4
FLOOR = 1e-3


def resolution_needed(values, scale: float = 0.0) -> np.ndarray:
    """Entry by entry, the largest own error an oracle may have and still tell a 0.1% error (module
    docstring): RESOLUTION * max(|value|, FLOOR * max(max |value|, scale)). `scale`: the largest gradient
    entry of the whole example (every stage), so a gradient that is exactly zero (a bias the output is
    invariant to) is resolved against the example's scale instead of against nothing.

    >>> bool(np.allclose(resolution_needed(np.array([2.0, 1e-6, 0.0])), [2e-4, 2e-7, 2e-7]))
    True
    """
    mag = np.abs(np.asarray(values, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        top = float(np.max(mag[np.isfinite(mag)], initial=0.0))
    return RESOLUTION * np.maximum(mag, FLOOR * max(top, scale))
