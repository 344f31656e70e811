"""Report generator: records of oracle comparisons -> report.md, report.html, summary.json (`python -m reports`)."""
from .records_io import RecordsError, load
from .html import render as render_html
from .summary import compare_with_baseline, markdown, summarize, write

__all__ = ["RecordsError", "load", "summarize", "markdown", "write", "compare_with_baseline", "render_html"]
