"""Records -> the numbers every report shows: outcome counts, the failing and inconclusive pairs and the
closest calls (triage.py), per-family overviews and histograms (families.py), per (layer, dtype, oracle)
rows, failures, convention differences, oracle agreement, network gradient norms, the slowest checks,
what changed against a baseline, and the main table's grid. No formatting and no files: the output
modules do those.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict

from oracles.names import Stage

from . import triage
from .families import families, family_of
from .records_io import restore_non_finite

SUMMARY_SCHEMA = "oracle-summary/1"
#: Who computes a value in a comparison, in the order the agreement matrix shows them.
AGENTS = ("reference", "torch", "jax", "numerical")
#: What a failure entry of the summary keeps of its record.
FAILURE_FIELDS = ("layer", "dtype", "stage", "oracle", "shapes", "max_abs", "max_rel", "atol", "rtol", "headroom",
                  "note", "repro")


def outcome_of(row: dict) -> str:
    """A record's outcome: its "outcome" field ("pass", "fail", "inconclusive", "not-run", "error") or,
    in records written before that field existed, "pass"/"fail" from "passed"."""
    outcome = row.get("outcome")
    if outcome is not None:
        return outcome
    return "pass" if row["passed"] else "fail"


def headroom(row: dict) -> float:
    """A record's headroom, NaN read as 0 (a NaN error is as bad as it gets)."""
    h = row["headroom"]
    return 0.0 if isinstance(h, float) and math.isnan(h) else h


def is_difference(row: dict) -> bool:
    """A documented convention difference at a kink that showed as expected: not an error."""
    return bool(row.get("convention")) and bool((row.get("extra") or {}).get("differs"))


def summarize(rows: list[dict], verdicts: list[dict] | None = None, planned=None) -> dict:
    """Aggregate comparison rows. For each (layer, dtype, oracle): count, failures, worst errors, the
    tolerance in force, the smallest headroom, and the recommended tolerance (the one in force scaled
    by that headroom: the tightest scaling that every observed comparison would still pass).
    `verdicts` (records' verdict lines) and `planned` ((layer, dtype, oracle) the run planned) give
    "unfinished": the not-run and inconclusive pairs, planned checks that left no record among them."""
    # A documented convention difference at a kink is expected, not an error: it goes to its own list
    # and stays out of the error table, whose worst errors and headrooms are about real comparisons.
    differences = [r for r in rows if is_difference(r)]
    compared = [r for r in rows if not is_difference(r)]
    table = [_table_row(key, rs) for key, rs in sorted(_group(compared, "layer", "dtype", "oracle").items())]
    failures = [{k: r.get(k) for k in FAILURE_FIELDS} for r in compared if outcome_of(r) == "fail"]
    unfinished = _unfinished(rows, verdicts or [], planned or ())
    layers = {r["layer"] for r in compared}
    matrix, at_kinks = agreement_split(compared, documented(rows))
    return {
        "schema": SUMMARY_SCHEMA,
        "totals": {
            "comparisons": len(rows),
            "convention_differences": len(differences),
            "failed": len(failures),
            "inconclusive": sum(outcome_of(r) == "inconclusive" for r in compared),
            "outcomes": triage.counts(compared, outcome_of),
            "layers": len(layers),
            "networks": len({la for la in layers if family_of({"layer": la}) == "networks"}),
            "families": sorted({family_of(r) for r in compared}),
            "examples": triage.examples(rows),
            "dtypes": sorted({r["dtype"] for r in compared}),
            "oracles": sorted({r["oracle"] for r in compared}),
            "not_run": sum(u["outcome"] == "not-run" for u in unfinished),  # checks (verdicts), not comparisons
            "inconclusive_checks": sum(u["outcome"] == "inconclusive" for u in unfinished),
        },
        "unfinished": unfinished,
        "problems": triage.problems(compared, outcome_of, family_of),
        "closest": triage.closest(compared, outcome_of),
        "families": families(compared, table, outcome_of),
        "rows": table,
        "failures": failures,
        "conventions": _conventions(differences),
        "agreement": matrix,
        "agreement_at_kinks": at_kinks,
        "networks": network_norms(compared),
        "slowest": _slowest(table),
    }


def _unfinished(rows: list[dict], verdicts: list[dict], planned) -> list[dict]:
    """Not-run and inconclusive (oracle, stage) pairs from the verdict lines, and each planned
    (layer, dtype, oracle) with neither a comparison nor a verdict: not-run (it crashed, or the run was
    cut short, before it recorded anything)."""
    fields = ("layer", "dtype", "oracle", "stage", "outcome", "reason")
    out = [{k: v.get(k) for k in fields} for v in verdicts if v.get("outcome") in ("not-run", "inconclusive")]
    seen = {(r["layer"], r["dtype"], r["oracle"]) for r in [*rows, *verdicts]}
    out += [{"layer": l, "dtype": d, "oracle": o, "stage": "-", "outcome": "not-run",
             "reason": "planned for this run, but left no record (the check crashed or the run was cut short)"}
            for l, d, o in sorted(set(map(tuple, planned)) - seen)]
    return out


def overall(summary: dict, regressions: list[str] | None = None) -> str:
    """The run's outcome: "fail" (a failed comparison or a regression), else "inconclusive", else
    "not-run", else "pass"."""
    t = summary["totals"]
    if t["failed"] or regressions or (t.get("outcomes") or {}).get("error"):
        return "fail"
    if t.get("inconclusive_checks"):
        return "inconclusive"
    return "not-run" if t.get("not_run") else "pass"


def _group(rows: list[dict], *fields: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[f] for f in fields)].append(r)
    return groups


def _table_row(key: tuple[str, str, str], rs: list[dict]) -> dict:
    """The summary row of one (layer, dtype, oracle) and its comparisons `rs`."""
    layer, dtype, oracle = key
    worst = min(rs, key=headroom)
    passed = min((headroom(r) for r in rs if outcome_of(r) == "pass"), default=math.inf)
    scale = passed if 0 < passed < math.inf else None  # the recommendation scales by passing headroom only
    first_stage = min(r["stage"] for r in rs)
    return {
        "layer": layer, "dtype": dtype, "oracle": oracle,
        "comparisons": len(rs),
        "failed": sum(outcome_of(r) == "fail" for r in rs),
        "inconclusive": sum(outcome_of(r) == "inconclusive" for r in rs),
        "family": family_of(rs[0]),
        "stages": sorted({r["stage"] for r in rs}),
        "max_abs": max(r["max_abs"] for r in rs),
        "max_rel": max(r["max_rel"] for r in rs),
        "min_headroom": headroom(worst),
        "atol": worst["atol"], "rtol": worst["rtol"],
        "recommended_atol": worst["atol"] / scale if scale is not None else None,
        "recommended_rtol": worst["rtol"] / scale if scale is not None else None,
        # one oracle call serves all stages of an example: count it once, via its forward/first stage
        "seconds": sum(r.get("seconds", 0.0) for r in rs if r["stage"] == first_stage),
    }


def _conventions(differences: list[dict]) -> list[dict]:
    """Convention differences per (layer, dtype, oracle, stage, convention): how many, how large."""
    groups = _group(differences, "layer", "dtype", "oracle", "stage", "convention")
    return [
        {"layer": l, "dtype": d, "oracle": o, "stage": st, "convention": c, "examples": len(rs),
         "max_difference": max(r["max_abs"] for r in rs)}
        for (l, d, o, st, c), rs in sorted(groups.items())
    ]


def _slowest(table: list[dict], n: int = 10) -> list[dict]:
    fields = ("layer", "dtype", "oracle", "seconds", "comparisons")
    return sorted(({k: r[k] for k in fields} for r in table), key=lambda r: -r["seconds"])[:n]


def agreement(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per dtype, the worst max |a - b| seen between every pair of reference, torch, jax, numerical
    (reference vs an oracle from the comparison itself; oracle vs oracle from its extra["vs"]), leaving
    out documented convention differences (agreement_split). Keys "a|b" in AGENTS order; a pair never
    compared is absent."""
    return agreement_split([r for r in rows if not is_difference(r)], documented(rows))[0]


def documented(rows: list[dict]) -> set[tuple[str, str, str, str]]:
    """(layer, dtype, stage, oracle) whose convention at a kink is documented to differ from the reference's."""
    return {(r["layer"], r["dtype"], r["stage"], r["oracle"]) for r in rows if r.get("convention")}


def agreement_split(rows: list[dict], documented: set[tuple]) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """(the agreement matrix, the pairs left out of it) over `rows` (no convention differences among
    them): at an example put on a kink (extra["kink"]), a pair with a side in `documented` differs as
    documented, it does not disagree; those pairs go to the list, one entry per (layer, dtype, stage,
    pair) with the largest |a - b|."""
    out: dict[str, dict[str, float]] = {}
    kinks: dict[tuple, dict] = {}
    for r in rows:
        extra = r.get("extra") or {}
        pairs = [("reference", r["oracle"], r["max_abs"])]
        pairs += [(r["oracle"], o, v) for o, v in (extra.get("vs") or {}).items()]
        for a, b, v in pairs:
            here = (r["layer"], r["dtype"], r["stage"])
            if extra.get("kink") and ((*here, a) in documented or (*here, b) in documented):
                e = kinks.setdefault((*here, a, b), {"layer": here[0], "dtype": here[1], "stage": here[2],
                                                     "pair": f"{a}|{b}", "kink": extra["kink"], "max_difference": 0.0})
                e["max_difference"] = max(e["max_difference"], float(v))
                continue
            m = out.setdefault(r["dtype"], {})
            m[f"{a}|{b}"] = max(m.get(f"{a}|{b}", 0.0), float(v))
    return out, [kinks[k] for k in sorted(kinks)]


def network_norms(rows: list[dict]) -> list[dict]:
    """Per network layer name and dtype, its deepest recorded example: the gradient norm of each layer's
    first parameter, from the reference and from each framework (records' extra["norms"])."""
    by: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        norms = _finite_norms(r)
        if not norms or not r["layer"].startswith("network_"):
            continue
        sites = by[(r["layer"], r["dtype"])].setdefault(r["example"], {})
        param = Stage(r["extra"]["stage"]).wrt
        entry = sites.setdefault(r["extra"]["site"], {"param": param, "norms": {}})
        if entry["param"] == param:
            entry["norms"].update(norms)
    out = []
    for (layer, dtype), examples in sorted(by.items()):
        example, sites = max(examples.items(), key=lambda kv: (len(kv[1]), -kv[0]))
        ordered = sorted(sites.items(), key=lambda kv: _site_order(kv[0]))  # input first, head last
        out.append({"name": f"{layer} [{dtype}] example {example}",
                    "layers": [{"name": f"{s} d{e['param']}", "norms": e["norms"]} for s, e in ordered]})
    return out


def _site_order(site: str) -> tuple:
    """"3:affine" -> ((3,), ...), "1.r0:layernorm" (inside block 1) -> ((1, 0), ...): sites in network
    order; a site without a number ("head:...") last."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", site.split(":", 1)[0]))
    return (numbers or (1 << 30,), site)


def _finite_norms(row: dict) -> dict[str, float]:
    """The finite numbers of a record's extra["norms"] (an overflowed norm is left out)."""
    norms = (row.get("extra") or {}).get("norms") or {}
    return {k: v for k, v in norms.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def compare_with_baseline(summary: dict, baseline: dict, factor: float = 10.0) -> list[str]:
    """Regressions against an earlier summary, one line each: newly failing, newly inconclusive, or worst
    error grown more than `factor`x (baseline_diff, flattened)."""
    diff = baseline_diff(summary, baseline, factor)
    return [f"{e['key']}: {e['text']}" for kind in DIFF_KINDS for e in diff[kind]]


#: The kinds of change baseline_diff reports, in the order the first screen shows them.
DIFF_KINDS = ("newly_failing", "newly_inconclusive", "worse", "missing_now")


def baseline_diff(summary: dict, baseline: dict, factor: float = 10.0) -> dict[str, list[dict]]:
    """What changed for the worse from an earlier summary, per (layer, dtype, oracle) present in both, and
    what the baseline has that this run does not ("missing_now": a check that vanished is a regression):
    {"newly_failing", "newly_inconclusive", "worse", "missing_now"} -> [{"key": "layer/dtype/oracle", "layer", "text"}].

    >>> now = {"rows": [{"layer": "relu", "dtype": "float64", "oracle": "torch", "failed": 2, "max_abs": 1.0}]}
    >>> before = {"rows": [dict(now["rows"][0], failed=0, max_abs=0.0, atol=1e-12)]}
    >>> baseline_diff(now, before)["newly_failing"]
    [{'key': 'relu/float64/torch', 'layer': 'relu', 'text': 'newly failing (2 failed comparison(s))'}]
    """
    old = {(r["layer"], r["dtype"], r["oracle"]): restore_non_finite(r) for r in baseline.get("rows", [])}
    out: dict[str, list[dict]] = {k: [] for k in DIFF_KINDS}
    for r in summary["rows"]:
        key = (r["layer"], r["dtype"], r["oracle"])
        if key in old:
            found = _regression(r, old[key], factor)
            if found:
                out[found[0]].append({"key": "/".join(key), "layer": r["layer"], "text": found[1]})
    now = {(r["layer"], r["dtype"], r["oracle"]) for r in summary["rows"]}
    out["missing_now"] = [{"key": "/".join(k), "layer": k[0], "text": "in the baseline, missing now (no comparison in this run)"}
                          for k in sorted(set(old) - now)]
    return out


def _regression(new: dict, old: dict, factor: float) -> tuple[str, str] | None:
    """(kind, what) got worse from the summary row `old` to `new`, or None."""
    if new["failed"] and not old["failed"]:
        return "newly_failing", f"newly failing ({new['failed']} failed comparison(s))"
    if new.get("inconclusive") and not old.get("inconclusive") and not new["failed"]:
        return "newly_inconclusive", f"newly inconclusive ({new['inconclusive']} inconclusive comparison(s))"
    if old["max_abs"] > 0 and new["max_abs"] > factor * old["max_abs"]:
        return "worse", f"worst error grew {new['max_abs'] / old['max_abs']:.3g}x ({old['max_abs']:.3g} -> {new['max_abs']:.3g})"
    if old["max_abs"] == 0 and new["max_abs"] > 0 and new["max_abs"] > old.get("atol", 0):
        return "worse", f"worst error grew from exact 0 to {new['max_abs']:.3g}"
    return None


def table_grid(summary: dict) -> list[tuple[str, str, list[dict | None]]]:
    """The main table's layout, shared by report.md and report.html: one (layer, dtype) a line, and per
    oracle of totals["oracles"] its summary row, or None where that oracle made no comparison."""
    by = {(r["layer"], r["dtype"], r["oracle"]): r for r in summary["rows"]}
    return [(layer, dtype, [by.get((layer, dtype, o)) for o in summary["totals"]["oracles"]])
            for layer, dtype in sorted({(r["layer"], r["dtype"]) for r in summary["rows"]})]
