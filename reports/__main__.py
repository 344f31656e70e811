"""python -m reports [RECORDS] [-o OUT] [--baseline SUMMARY.json]

Reads the records of the latest `pytest -m oracle` run (default build/oracle/records), writes report.md,
report.html, summary.json and job-summary.md (the short one for a CI job summary, also appended to the
file named by GITHUB_STEP_SUMMARY when that is set) into OUT (default build/oracle/report), prints their
paths and a one-line verdict.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .aggregate import baseline_diff, compare_with_baseline, summarize
from .html import render as render_html
from .jobsummary import render as render_job_summary
from .jsonout import render as render_json
from .markdown import render as render_markdown  # (the package's `markdown` attribute is this function)
from .records_io import RecordsError, load


def write(summary: dict, out_dir: Path, regressions: list[str] | None = None, warnings: list[str] | None = None,
          diff: dict | None = None) -> dict[str, Path]:
    """report.md, report.html, summary.json and job-summary.md into out_dir; their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "summary.json",
             "job": out_dir / "job-summary.md"}
    paths["md"].write_text(render_markdown(summary, regressions, warnings, diff), encoding="utf-8")
    paths["html"].write_text(render_html(summary, regressions, warnings, diff), encoding="utf-8")
    paths["json"].write_text(render_json(summary, regressions, diff), encoding="utf-8")
    paths["job"].write_text(render_job_summary(summary, str(paths["html"]), diff), encoding="utf-8")
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
        base = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    except (OSError, json.JSONDecodeError) as e:
        print(f"error: baseline {args.baseline}: {e}", file=sys.stderr)
        return 2
    diff = baseline_diff(summary, base) if base is not None else None
    regressions = compare_with_baseline(summary, base) if base is not None else None
    paths = write(summary, Path(args.out), regressions, warnings, diff)
    _append_step_summary(paths["job"])
    _print_verdict(summary, regressions)
    print(f"report: {paths['md']}\nreport (HTML, self-contained): {paths['html']}\nsummary: {paths['json']}\n"
          f"CI job summary: {paths['job']}")
    failing = summary["totals"]["failed"] or summary["totals"].get("outcomes", {}).get("error", 0)
    return 1 if (failing or regressions) else 0


def _append_step_summary(job: Path) -> None:
    """Append the job summary to $GITHUB_STEP_SUMMARY (GitHub Actions shows it on the run's page)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(job.read_text(encoding="utf-8"))


def _print_verdict(summary: dict, regressions: list[str] | None) -> None:
    t = summary["totals"]
    verdict = "PASS" if t["failed"] == 0 else f"FAIL: {t['failed']} failed comparison(s)"
    print(f"{verdict}: {t['comparisons']} comparisons, {t['layers']} layers, dtypes {', '.join(t['dtypes'])}, oracles {', '.join(t['oracles'])}")
    for p in summary.get("problems", [])[:5]:
        print(f"  {p['outcome'].upper()}: {p['layer']} [{p['dtype']}] {p['stage']} vs {p['oracle']}: headroom {p['headroom']:.3g}")
    if summary["rows"]:
        worst = min(summary["rows"], key=lambda r: r["min_headroom"])
        print(f"smallest headroom: {worst['min_headroom']:.3g} ({worst['layer']} {worst['dtype']} vs {worst['oracle']})")
    if regressions:
        print(f"{len(regressions)} regression(s) against the baseline:")
        for r in regressions:
            print(f"  {r}")


if __name__ == "__main__":
    sys.exit(main())
