"""Records: every Comparison as one JSON line, for the report generator.

Default location: `build/oracle/records/`. Each process of a run writes its own file,
`records-<run>-<worker>.jsonl` (pytest-xdist workers never interleave writes); `python -m reports` merges
the files of the latest run. The first record of a run removes the files of earlier runs, so a pytest
run that checks nothing leaves the last report's records alone. Set the folder with the pytest option
`--oracle-records DIR` or the ORACLE_RECORDS environment variable.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path

DEFAULT_DIR = Path("build/oracle/records")
from .names import RECORDS_SCHEMA as SCHEMA

_sink: Path | None = None
_pending_header: str | None = None
_run: str = ""


def new_run_id() -> str:
    """Sortable by time: records files of the newest run sort last."""
    return time.strftime("%Y%m%dT%H%M%S") + f"p{os.getpid()}"


def start(directory: str | os.PathLike, run: str | None = None, worker: str = "main", lazy: bool = False) -> Path:
    """Send records to `directory/records-<run>-<worker>.jsonl` from now on.

    With `lazy`, nothing is created (and no older run is removed) until the first record arrives.
    """
    global _sink, _pending_header, _run
    _run = run or new_run_id()
    _sink = Path(directory) / f"records-{_run}-{worker}.jsonl"
    _pending_header = json.dumps({"schema": SCHEMA, "run": _run, "worker": worker}) + "\n"
    if not lazy:
        _open_file()
    return _sink


def _open_file() -> None:
    global _pending_header
    if _pending_header is None:
        return
    _sink.parent.mkdir(parents=True, exist_ok=True)
    for old in _sink.parent.glob("records-*.jsonl"):
        if not old.name.startswith(f"records-{_run}-"):
            old.unlink(missing_ok=True)
    _sink.write_text(_pending_header)
    _pending_header = None


@contextmanager
def to(directory: str | os.PathLike, run: str | None = None, worker: str = "main"):
    """Send records to `directory` inside the block, then give the previous sink back untouched."""
    global _sink, _pending_header, _run
    saved = (_sink, _pending_header, _run)
    start(directory, run, worker)
    try:
        yield _sink
    finally:
        _sink, _pending_header, _run = saved


def stop() -> None:
    global _sink, _pending_header
    _sink = None
    _pending_header = None


def active() -> Path | None:
    return _sink


def jsonable(x):
    """`x` with every non-finite float written as "inf", "-inf" or "nan" (strict JSON has none)."""
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def emit(comparisons, family: str = "") -> None:
    """Append comparisons to the active records file; nothing happens when none is active. `family`
    (e.g. `spec.family`, "networks") is written with each, for the report's per-family view."""
    if _sink is None or not comparisons:
        return
    _open_file()
    with _sink.open("a") as f:
        for c in comparisons:
            doc = c.to_json()
            if family:
                doc["family"] = family
            f.write(json.dumps(jsonable(doc)) + "\n")
