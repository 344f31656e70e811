"""Report generator: records of oracle comparisons -> report.md and summary.json (`python -m reports`)."""
from .records_io import RecordsError, load
from .summary import compare_with_baseline, markdown, summarize, write

__all__ = ["RecordsError", "load", "summarize", "markdown", "write", "compare_with_baseline"]
