"""Records: every Comparison as one JSON line, for the report generator.

Default location: `build/oracle/records/`. Each process of a run writes its own file,
`records-<run>-<worker>.jsonl` (the run id holds the time and the controller's pid, so two runs never
share a file, and pytest-xdist workers never interleave writes); `python -m reports` merges the files of
the latest run. Set the folder with the pytest option `--oracle-records DIR` or ORACLE_RECORDS.

Safe with concurrent runs: a file is created exclusively with its header line, and every batch of
records is appended with one write. The first record of a run removes only the files of earlier runs
that nobody has written to for PRUNE_AFTER seconds, never a file another run may still be writing (a
pytest run that checks nothing leaves the last report's records alone).

The header line is {"schema", "run", "worker", "planned"}: `planned` lists the (layer, dtype, oracle)
checks the run collected (the pytest plugin sets it), so the report can show those that left no record.

An unusable folder (under a regular file, not writable) is a one-line ValueError from `check_directory`
before anything runs (the plugin makes it a usage error); a write that fails later (a full disk) warns
once and stops recording: it never turns a verdict.
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from .names import RECORDS_SCHEMA as SCHEMA

DEFAULT_DIR = Path("build/oracle/records")
#: Seconds without a write after which another run's records file may be removed.
PRUNE_AFTER = 3600.0

_sink: Path | None = None
_pending_header: str | None = None
_run: str = ""
_header: str = ""  # the header line of the active file: re-written should the file vanish under us


class RecordsWarning(UserWarning):
    """Records could not be written: the run goes on without them."""


def check_directory(directory: str | os.PathLike, where: str = "records folder") -> None:
    """A one-line ValueError when `directory` cannot hold records: it, or a folder above it, is a regular
    file, or the nearest existing folder is not writable. Creates nothing.

    >>> check_directory("build/oracle/records")
    """
    p = Path(directory)
    for q in [p, *p.parents]:
        if q.exists():
            if not q.is_dir():
                raise ValueError(f"{where}={str(directory)!r}: {str(q)!r} is a file, not a folder; give a folder "
                                 "for the records (or --oracle-no-records)")
            if not os.access(q, os.W_OK | os.X_OK):
                raise ValueError(f"{where}={str(directory)!r}: {str(q)!r} is not writable; give a folder you can write")
            return


def new_run_id() -> str:
    """Sortable by time: records files of the newest run sort last."""
    return time.strftime("%Y%m%dT%H%M%S") + f"p{os.getpid()}"


def start(directory: str | os.PathLike, run: str | None = None, worker: str = "main", lazy: bool = False) -> Path:
    """Send records to `directory/records-<run>-<worker>.jsonl` from now on.

    With `lazy`, nothing is created (and no older run is removed) until the first record arrives.
    """
    global _sink, _pending_header, _run, _header
    check_directory(directory)
    _run, _header = run or new_run_id(), ""
    _sink = Path(directory) / f"records-{_run}-{worker}.jsonl"
    _pending_header = json.dumps({"schema": SCHEMA, "run": _run, "worker": worker}) + "\n"
    if not lazy:
        _open_file()
    return _sink


def plan(planned) -> None:
    """The (layer, dtype, oracle) checks this run plans: written into the header, and the file is created
    now (a run whose checks all crash before recording still shows them, as not-run)."""
    global _pending_header
    if _pending_header is not None and _sink is not None:
        header = json.loads(_pending_header)
        _pending_header = json.dumps({**header, "planned": [list(p) for p in planned]}) + "\n"
        _write_safely(_open_file)


def _open_file() -> None:
    global _pending_header, _header
    if _pending_header is None:
        if _header and not _sink.exists():  # removed by someone else (an older version's pruning)
            _create(_header)
        return
    _header = _pending_header
    _sink.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in _sink.parent.glob("records-*.jsonl"):
        try:  # only files nobody wrote to for PRUNE_AFTER seconds: never a concurrent run's
            if not old.name.startswith(f"records-{_run}-") and now - old.stat().st_mtime > PRUNE_AFTER:
                old.unlink(missing_ok=True)
        except OSError:
            pass
    _create(_pending_header)
    _pending_header = None


def _create(header: str) -> None:
    try:
        with _sink.open("x") as f:  # exclusive: the header is written once, by the file's creator
            f.write(header)
    except FileExistsError:
        pass


def _write_safely(action) -> None:
    """Run a records write; on an OSError warn once and stop recording (a verdict never depends on it)."""
    global _sink, _pending_header
    try:
        action()
    except OSError as e:
        where = _sink
        _sink, _pending_header = None, None
        warnings.warn(f"records: cannot write {where} ({type(e).__name__}: {e}); this run goes on without "
                      "records", RecordsWarning, stacklevel=3)


@contextmanager
def to(directory: str | os.PathLike, run: str | None = None, worker: str = "main"):
    """Send records to `directory` inside the block, then give the previous sink back untouched."""
    global _sink, _pending_header, _run, _header
    saved = (_sink, _pending_header, _run, _header)
    start(directory, run, worker)
    try:
        yield _sink
    finally:
        _sink, _pending_header, _run, _header = saved


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
    docs = [c.to_json() for c in comparisons]
    text = "".join(json.dumps(jsonable({**d, "family": family} if family else d)) + "\n" for d in docs)

    def append() -> None:
        _open_file()
        with _sink.open("a") as f:  # one write of whole lines: O_APPEND keeps batches whole
            f.write(text)

    _write_safely(append)
