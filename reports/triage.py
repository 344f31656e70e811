"""What the first screen answers: outcome counts, what was checked, the failing and inconclusive pairs
grouped with their repro, and the closest calls (lowest passing headroom per layer) with the reason.
Numbers only; aggregate.summarize puts them into the summary.
"""
from __future__ import annotations

import math
from collections import defaultdict

#: Order of outcomes on the first screen: what must be fixed first.
PROBLEM_ORDER = {"fail": 0, "error": 1, "inconclusive": 2, "not-run": 3}
#: What a problem or closest-call entry keeps of its worst record.
WORST_FIELDS = ("max_abs", "max_rel", "atol", "rtol", "headroom", "note", "shapes", "worst_index",
                "reference_value", "oracle_value")


def _headroom(row: dict) -> float:
    h = row["headroom"]
    return 0.0 if isinstance(h, float) and math.isnan(h) else h


def counts(rows: list[dict], outcome_of) -> dict[str, int]:
    """How many comparisons ended in each outcome (all five keys, zeros included)."""
    out = dict.fromkeys(("pass", "fail", "inconclusive", "not-run", "error"), 0)
    for r in rows:
        o = outcome_of(r)
        out[o] = out.get(o, 0) + 1
    return out


def examples(rows: list[dict]) -> int:
    """Distinct examples drawn: (layer, dtype, kink or not, example number)."""
    return len({(r["layer"], r["dtype"], (r.get("extra") or {}).get("kink", ""), r.get("example")) for r in rows})


def problems(rows: list[dict], outcome_of, family_of) -> list[dict]:
    """One entry per (layer, dtype, stage, oracle) with any comparison that did not pass: its outcome (the
    worst seen: fail before error before inconclusive), how many of its comparisons, the worst record's
    numbers and a repro snippet. Failing layers first, then by layer, dtype, stage, oracle."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["layer"], r["dtype"], r["stage"], r["oracle"])].append(r)
    out = []
    for (layer, dtype, stage, oracle), rs in groups.items():
        bad = [r for r in rs if outcome_of(r) != "pass"]
        if not bad:
            continue
        outcome = min((outcome_of(r) for r in bad), key=lambda o: PROBLEM_ORDER.get(o, 9))
        worst = min((r for r in bad if outcome_of(r) == outcome), key=_headroom)
        repro = next((r["repro"] for r in bad if r.get("repro")), "")
        out.append({"outcome": outcome, "layer": layer, "family": family_of(rs[0]), "dtype": dtype,
                    "stage": stage, "oracle": oracle, "count": len(bad), "of": len(rs),
                    **{k: worst.get(k) for k in WORST_FIELDS}, "headroom": _headroom(worst), "repro": repro})
    failing_layers = {p["layer"] for p in out if p["outcome"] == "fail"}
    out.sort(key=lambda p: (p["layer"] not in failing_layers, PROBLEM_ORDER.get(p["outcome"], 9),
                            p["layer"], p["dtype"], p["stage"] != "forward", p["stage"], p["oracle"]))
    return out


def closest(rows: list[dict], outcome_of, n: int = 5) -> list[dict]:
    """The `n` layers closest to failing: per layer without a failing or inconclusive comparison, its
    comparison of lowest headroom, with the reason (what limits the tolerance there), lowest first."""
    failing = {r["layer"] for r in rows if outcome_of(r) != "pass"}  # already on the first screen
    best: dict[str, dict] = {}
    for r in rows:
        if outcome_of(r) == "pass" and r["layer"] not in failing and (r["layer"] not in best or _headroom(r) < _headroom(best[r["layer"]])):
            best[r["layer"]] = r
    picked = sorted(best.values(), key=_headroom)[:n]
    return [{"layer": r["layer"], "dtype": r["dtype"], "stage": r["stage"], "oracle": r["oracle"],
             **{k: r.get(k) for k in WORST_FIELDS}, "headroom": _headroom(r), "reason": reason(r)} for r in picked]


def reason(r: dict) -> str:
    """Why a comparison's headroom is what it is, in words: what sets its tolerance, then the numbers at
    its tightest element.

    >>> reason({"oracle": "torch", "dtype": "float64", "max_abs": 2e-13, "atol": 1e-12, "rtol": 1e-9,
    ...         "worst_index": [0, 1], "reference_value": 0.5, "oracle_value": 0.5000000000002})
    'tolerance from the table: |difference| up to 2e-13 against atol 1e-12 + rtol 1e-09*|oracle|; tightest at [0, 1]: reference 0.5, torch 0.5'
    """
    noise = (r.get("extra") or {}).get("float32_noise")
    if r["oracle"] == "numerical":
        source = "the central difference's own error sets the tolerance"
    elif isinstance(noise, (int, float)) and noise > 0 and r["dtype"] == "float32":
        source = f"float32 rounding (budget): the frameworks' own error here is {noise:.2g}"
    else:
        source = "tolerance from the table"
    text = f"{source}: |difference| up to {r['max_abs']:.2g} against atol {r['atol']:.2g} + rtol {r['rtol']:.2g}*|oracle|"
    if r.get("worst_index") is not None and isinstance(r.get("reference_value"), float) and isinstance(r.get("oracle_value"), float):
        text += f"; tightest at {r['worst_index']}: reference {r['reference_value']:.6g}, {r['oracle']} {r['oracle_value']:.6g}"
    return text
