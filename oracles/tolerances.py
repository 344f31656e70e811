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

numerical oracle (central differences of the reference's own forward, always evaluated in float64)
  The step is h = 1e-6 * max(1, |x|). Truncation error is ~h^2 * f''' ~ 1e-12 and rounding error is
  ~eps * |L| / h ~ 2e-10 * |L| for the scalar L = sum(cotangent * output), |L| <= ~1e2 here, so ~2e-8.
  float64: rtol = 1e-6, atol = 1e-7. float32 layers are compared with their own float32 rounding
  dominating, so they use the float32 row, which is looser than the numerical error.

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


@dataclass(frozen=True)
class Tol:
    atol: float
    rtol: float


#: (dtype, oracle kind, stage kind) -> tolerance. oracle kind: "exact" (torch, jax) or "numerical";
#: stage kind: "forward" or "grad".
TOLERANCES: dict[tuple[str, str, str], Tol] = {
    ("float64", "exact", "forward"): Tol(atol=1e-12, rtol=1e-9),
    ("float64", "exact", "grad"): Tol(atol=1e-12, rtol=1e-9),
    ("float64", "numerical", "grad"): Tol(atol=1e-7, rtol=1e-6),
    ("float32", "exact", "forward"): Tol(atol=1e-5, rtol=1e-5),
    ("float32", "exact", "grad"): Tol(atol=1e-5, rtol=1e-5),
    ("float32", "numerical", "grad"): Tol(atol=1e-5, rtol=1e-5),
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
