"""Layers grouped by family (the records' `family`: the `oracles/zoo` module of the layer's math,
"networks", "custom"): one overview row per family and the histograms its small multiples draw.

The histograms bin log10(headroom) and log10(max |reference - oracle|) in half decades; the first and
last bins also take everything beyond the axis (a NaN headroom counts as 0, no error at all as
"exact": the last headroom bin, the first error bin).
"""
from __future__ import annotations

import math
from collections import defaultdict

#: log10 range and bin width of the headroom histograms (1 = the pass mark sits on a bin edge).
HEADROOM_AXIS = (-2.0, 14.0, 0.5)
#: log10 range and bin width of the error histograms.
ERROR_AXIS = (-18.0, 2.0, 0.5)


def family_of(row: dict) -> str:
    """A record's family: its `family` field, else "networks" for a network's record, else "other"."""
    fam = row.get("family")
    if fam:
        return str(fam)
    return "networks" if str(row["layer"]).startswith("network_") else "other"


def bins(axis: tuple[float, float, float]) -> int:
    """Number of bins of an axis: its half decades plus one more at the far end (exact / beyond)."""
    lo, hi, step = axis
    return int(round((hi - lo) / step)) + 1


def bin_of(value: float, axis: tuple[float, float, float], exact_last: bool) -> int:
    """The bin of `value` on `axis`: 0 in the first bin, infinity in the last (for headroom, no error at all;
    for error, an error NaN or infinite), values beyond the axis in the bins at its ends.

    >>> bin_of(1.0, HEADROOM_AXIS, True), bin_of(math.inf, HEADROOM_AXIS, True), bin_of(0.0, ERROR_AXIS, False)
    (4, 32, 0)
    """
    lo, hi, step = axis
    n = bins(axis)
    if isinstance(value, float) and math.isnan(value):
        value = 0.0 if exact_last else math.inf
    if value <= 0:
        return 0
    if math.isinf(value):
        return n - 1
    k = int(math.floor((math.log10(value) - lo) / step))
    if exact_last:  # headroom: bins 0 .. n-2 on the axis, n-1 is "exact"
        return min(max(k, 0), n - 2)
    return min(max(k + 1, 1), n - 1)  # error: bin 0 is "exact", bins 1 .. n-1 on the axis


def families(rows: list[dict], table: list[dict], outcome_of) -> list[dict]:
    """One entry per family (families with a failure first): its layers, counts, lowest headroom (and
    where), worst error per dtype, and the histograms: headroom per oracle, error per (dtype, oracle)
    with the range of atol in force."""
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by[family_of(r)].append(r)
    out = []
    failing = {fam for fam, rs in by.items() if any(outcome_of(r) == "fail" for r in rs)}
    for fam, rs in sorted(by.items(), key=lambda kv: (kv[0] not in failing, kv[0] in ("networks", "custom", "other"), kv[0])):
        layers = sorted({r["layer"] for r in rs})
        mine = [t for t in table if t["layer"] in layers]
        low = min(mine, key=lambda t: t["min_headroom"]) if mine else None
        out.append({
            "family": fam, "layers": layers, "comparisons": len(rs),
            "failed": sum(outcome_of(r) == "fail" for r in rs),
            "inconclusive": sum(outcome_of(r) == "inconclusive" for r in rs),
            "min_headroom": low["min_headroom"] if low else math.inf,
            "min_at": f"{low['layer']} [{low['dtype']}] vs {low['oracle']}" if low else "",
            "worst_error": {d: max(r["max_abs"] for r in rs if r["dtype"] == d) for d in sorted({r["dtype"] for r in rs})},
            **_histograms(rs, outcome_of),
        })
    return out


def _histograms(rs: list[dict], outcome_of) -> dict:
    """headroom: oracle -> counts per bin; failed: oracle -> failed counts per bin; error: "dtype oracle"
    -> counts per bin; atol: "dtype oracle" -> [smallest, largest] atol in force."""
    headroom: dict[str, list[int]] = {}
    failed: dict[str, list[int]] = {}
    error: dict[str, list[int]] = {}
    atol: dict[str, list[float]] = {}
    for r in rs:
        h = r["headroom"]
        k = bin_of(h, HEADROOM_AXIS, exact_last=True)
        headroom.setdefault(r["oracle"], [0] * bins(HEADROOM_AXIS))[k] += 1
        if outcome_of(r) == "fail":
            failed.setdefault(r["oracle"], [0] * bins(HEADROOM_AXIS))[k] += 1
        key = f"{r['dtype']} {r['oracle']}"
        error.setdefault(key, [0] * bins(ERROR_AXIS))[bin_of(r["max_abs"], ERROR_AXIS, exact_last=False)] += 1
        lo_hi = atol.setdefault(key, [math.inf, 0.0])
        if math.isfinite(r["atol"]):
            lo_hi[0], lo_hi[1] = min(lo_hi[0], r["atol"]), max(lo_hi[1], r["atol"])
    return {"headroom": dict(sorted(headroom.items())), "failed_bins": failed,
            "error": dict(sorted(error.items(), key=lambda kv: (kv[0].split()[0] != "float64", kv[0]))),
            "atol": atol}
