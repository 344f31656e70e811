"""Report generator: records of oracle comparisons -> report.md, report.html, summary.json and
job-summary.md (`python -m reports`).

Modules: records_io (reading records), aggregate (the numbers; triage and families are its parts),
markdown, html (with html_sections and plots), jobsummary and jsonout (one output each; they import
aggregate, never each other), formatting (numbers, HTML and Markdown escaping, shared), __main__ (the
CLI, writes the files). Note that `reports.markdown` below is the Markdown renderer function; the module
is `sys.modules["reports.markdown"]` (`from reports.markdown import render`).
"""
from .aggregate import baseline_diff, compare_with_baseline, summarize
from .html import render as render_html
from .markdown import render as markdown
from .records_io import RecordsError, load

__all__ = ["RecordsError", "load", "summarize", "markdown", "write", "compare_with_baseline", "baseline_diff", "render_html"]


def __getattr__(name: str):
    # `write` lives with the CLI in __main__; imported on first use, since importing reports.__main__
    # here would make `python -m reports` find it already imported (runpy warns about that).
    if name == "write":
        from .__main__ import write

        return write
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
