"""python -m reports [RECORDS] [-o OUT] [--baseline SUMMARY.json] [--allow-inconclusive] [--allow-not-run]

Reads the records of the latest `pytest -m oracle` run (default build/oracle/records), writes report.md,
report.html, summary.json and job-summary.md (the short one for a CI job summary, also appended to the
file named by GITHUB_STEP_SUMMARY when that is set) into OUT (default build/oracle/report), prints their
paths and a one-line verdict.
Exit status: 0 everything planned passed; 1 a failure, a regression against the baseline, an inconclusive
or a not-run check (planned checks that left no record count as not-run; --allow-inconclusive and
--allow-not-run accept those two); 2 unusable records or baseline (one line naming the file and line).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .aggregate import SUMMARY_SCHEMA, baseline_diff, compare_with_baseline, overall, summarize
from .html import render as render_html
from .jobsummary import render as render_job_summary
from .jsonout import render as render_json
from .markdown import render as render_markdown  # (the package's `markdown` attribute is this function)
from .records_io import RecordsError, load_baseline, load_run


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
    """Run the CLI; exit status as in the module docstring."""
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="?", default="build/oracle/records", help="records file or folder")
    ap.add_argument("-o", "--out", default="build/oracle/report", help="output folder")
    ap.add_argument("--baseline", help="an earlier summary.json to compare with")
    ap.add_argument("--allow-inconclusive", action="store_true", help="exit 0 although a check was inconclusive")
    ap.add_argument("--allow-not-run", action="store_true", help="exit 0 although a planned check did not run")
    args = ap.parse_args(argv)
    try:
        run = load_run(args.records)
        baseline = load_baseline(args.baseline, SUMMARY_SCHEMA) if args.baseline else None
    except RecordsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for w in run.warnings:
        print(f"warning: {w}", file=sys.stderr)
    summary = summarize(run.rows, run.verdicts, run.planned)
    diff = baseline_diff(summary, baseline) if baseline is not None else None
    regressions = compare_with_baseline(summary, baseline) if baseline is not None else None
    paths = write(summary, Path(args.out), regressions, run.warnings, diff)
    _append_step_summary(paths["job"])
    _print_verdict(summary, regressions)
    print(f"report: {paths['md']}\nreport (HTML, self-contained): {paths['html']}\nsummary: {paths['json']}\n"
          f"CI job summary: {paths['job']}")
    status = overall(summary, regressions)
    allowed = {"pass"} | ({"inconclusive"} if args.allow_inconclusive else set()) | ({"not-run"} if args.allow_not_run else set())
    if status == "inconclusive" and args.allow_inconclusive and summary["totals"]["not_run"]:
        status = "not-run"  # both kinds present: the other must be allowed too
    return 0 if status in allowed else 1


def _append_step_summary(job: Path) -> None:
    """Append the job summary to $GITHUB_STEP_SUMMARY (GitHub Actions shows it on the run's page)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(job.read_text(encoding="utf-8"))


def _print_verdict(summary: dict, regressions: list[str] | None) -> None:
    t = summary["totals"]
    errors = (t.get("outcomes") or {}).get("error", 0)
    failed = (f"{t['failed']} failed comparison(s)" if t["failed"] else f"{errors} check(s) that raised" if errors
              else f"{len(regressions or [])} regression(s)")
    verdict = {"pass": "PASS", "fail": f"FAIL: {failed}",
               "inconclusive": f"INCONCLUSIVE: {t['inconclusive_checks']} check(s) could not decide",
               "not-run": f"NOT-RUN: {t['not_run']} planned check(s) did not run"}[overall(summary, regressions)]
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
    for u in summary["unfinished"][:20]:
        print(f"  {u['outcome'].upper()}: {u['layer']} [{u['dtype']}] {u['stage']} vs {u['oracle']}: {u['reason']}")


if __name__ == "__main__":
    sys.exit(main())
