"""Report generator: records of oracle comparisons -> report.md, report.html, summary.json (`python -m reports`).

Modules: records_io (reading records), aggregate (the numbers), markdown, html and jsonout (one output
each; they import aggregate, never each other), formatting (number format shared by markdown and html),
__main__ (the CLI, writes the files). Note that `reports.markdown` below is the Markdown renderer
function; the module is `sys.modules["reports.markdown"]` (`from reports.markdown import render`).
"""
from .aggregate import compare_with_baseline, summarize
from .html import render as render_html
from .markdown import render as markdown
from .records_io import RecordsError, load

__all__ = ["RecordsError", "load", "summarize", "markdown", "write", "compare_with_baseline", "render_html"]


def __getattr__(name: str):
    # `write` lives with the CLI in __main__; imported on first use, since importing reports.__main__
    # here would make `python -m reports` find it already imported (runpy warns about that).
    if name == "write":
        from .__main__ import write

        return write
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
