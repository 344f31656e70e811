"""python -m reports [RECORDS] [-o OUT] [--baseline SUMMARY.json]

Reads the records of the latest `pytest -m oracle` run (default build/oracle/records), writes report.md,
report.html and summary.json into OUT (default build/oracle/report), prints their paths and a one-line verdict.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .aggregate import compare_with_baseline, summarize
from .html import render as render_html
from .jsonout import render as render_json
from .markdown import render as render_markdown  # (the package's `markdown` attribute is this function)
from .records_io import RecordsError, load


def write(summary: dict, out_dir: Path, regressions: list[str] | None = None, warnings: list[str] | None = None,
          rows: list[dict] | None = None) -> dict[str, Path]:
    """report.md, report.html (needs the rows for its error plots) and summary.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "summary.json"}
    paths["md"].write_text(render_markdown(summary, regressions, warnings))
    paths["html"].write_text(render_html(summary, rows or [], regressions, warnings), encoding="utf-8")
    paths["json"].write_text(render_json(summary, regressions))
    return paths


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit status 0 all passed, 1 failures or regressions, 2 unusable records or baseline."""
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
    try:
        regressions = _regressions(summary, args.baseline)
    except (OSError, json.JSONDecodeError) as e:
        print(f"error: baseline {args.baseline}: {e}", file=sys.stderr)
        return 2
    paths = write(summary, Path(args.out), regressions, warnings, rows)
    _print_verdict(summary, regressions)
    print(f"report: {paths['md']}\nreport (HTML, self-contained): {paths['html']}\nsummary: {paths['json']}")
    return 1 if (summary["totals"]["failed"] or regressions) else 0


def _regressions(summary: dict, baseline: str | None) -> list[str] | None:
    """Regressions against the baseline summary.json, None without one (OSError, JSONDecodeError: unreadable)."""
    if not baseline:
        return None
    return compare_with_baseline(summary, json.loads(Path(baseline).read_text()))


def _print_verdict(summary: dict, regressions: list[str] | None) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
