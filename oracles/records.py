"""Records: every Comparison as one JSON line, for the report generator.

Default location: `build/oracle/records/`, one file per process (`records-<worker>.jsonl`, so
pytest-xdist workers never interleave writes); `python -m reports` merges every file it finds there.
Set the folder with the pytest option `--oracle-records DIR` or the ORACLE_RECORDS environment variable.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

DEFAULT_DIR = Path("build/oracle/records")
SCHEMA = "oracle-records/1"

_sink: Path | None = None


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return v


_pending_header: str | None = None


def start(directory: str | os.PathLike, worker: str = "main", lazy: bool = False) -> Path:
    """Send records to `directory/records-<worker>.jsonl` from now on, starting the file afresh.

    With `lazy`, neither folder nor file is created until the first record arrives.
    """
    global _sink, _pending_header
    _sink = Path(directory) / f"records-{worker}.jsonl"
    _pending_header = json.dumps({"schema": SCHEMA, "worker": worker}) + "\n"
    if not lazy:
        _open_file()
    return _sink


def _open_file() -> None:
    global _pending_header
    if _pending_header is not None:
        _sink.parent.mkdir(parents=True, exist_ok=True)
        _sink.write_text(_pending_header)
        _pending_header = None


def stop() -> None:
    global _sink
    _sink = None


def active() -> Path | None:
    return _sink


def emit(comparisons) -> None:
    """Append comparisons to the active records file; nothing happens when none is active."""
    if _sink is None or not comparisons:
        return
    _open_file()
    with _sink.open("a") as f:
        for c in comparisons:
            row = {k: _clean(v) for k, v in c.to_json().items()}
            f.write(json.dumps(row) + "\n")
