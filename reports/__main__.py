"""python -m reports [RECORDS] [-o OUT] [--baseline SUMMARY.json]

Reads the records of the latest `pytest -m oracle` run (default build/oracle/records), writes report.md,
report.html and summary.json into OUT (default build/oracle/report), prints their paths and a one-line verdict.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .records_io import RecordsError, load
from .summary import compare_with_baseline, summarize, write


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="?", default="build/oracle/records", help="records file or folder")
    ap.add_argument("-o", "--out", default="build/oracle/report", help="output folder")
    ap.add_argument("--baseline", help="an earlier summary.json to compare with")
    args = ap.parse_args(argv)
    try:
        rows, warnings = load(args.records)
    except RecordsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    summary = summarize(rows)
    regressions = None
    if args.baseline:
        try:
            regressions = compare_with_baseline(summary, json.loads(Path(args.baseline).read_text()))
        except (OSError, json.JSONDecodeError) as e:
            print(f"error: baseline {args.baseline}: {e}", file=sys.stderr)
            return 2
    paths = write(summary, Path(args.out), regressions, warnings, rows)
    t = summary["totals"]
    verdict = "PASS" if t["failed"] == 0 else f"FAIL: {t['failed']} failed comparison(s)"
    print(f"{verdict}: {t['comparisons']} comparisons, {t['layers']} layers, dtypes {', '.join(t['dtypes'])}, oracles {', '.join(t['oracles'])}")
    if summary["rows"]:
        worst = min(summary["rows"], key=lambda r: r["min_headroom"])
        print(f"smallest headroom: {worst['min_headroom']:.3g} ({worst['layer']} {worst['dtype']} vs {worst['oracle']})")
    if regressions:
        print(f"{len(regressions)} regression(s) against the baseline:")
        for r in regressions:
            print(f"  {r}")
    print(f"report: {paths['md']}\nreport (HTML, self-contained): {paths['html']}\nsummary: {paths['json']}")
    return 1 if (t["failed"] or regressions) else 0


if __name__ == "__main__":
    sys.exit(main())
