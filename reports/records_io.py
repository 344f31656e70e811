"""Reading records files: every failure mode gets one line that says what is wrong."""
from __future__ import annotations

import json
from pathlib import Path

from oracles.names import RECORDS_SCHEMA as SCHEMA


class RecordsError(Exception):
    """A records file or folder that cannot give a report."""


def restore_non_finite(v):
    """"inf"/"-inf"/"nan" strings (how records and summaries write non-finite floats) back to floats,
    in nested dicts and lists too."""
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, dict):
        return {k: restore_non_finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [restore_non_finite(x) for x in v]
    return v


def load(path: str | Path) -> tuple[list[dict], list[str]]:
    """All comparison rows under `path` (a records file, or a folder of records-*.jsonl), and warnings.

    A file whose last line is cut short (a run killed midway) still loads, with a warning; an empty,
    missing or foreign file raises RecordsError.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("records-*.jsonl"))
        if not files:
            raise RecordsError(f"no records-*.jsonl files in {p} (run `pytest -m oracle` first)")
        latest = files[-1].name.rsplit("-", 1)[0]  # records-<run>: the newest run sorts last
        files = [f for f in files if f.name.rsplit("-", 1)[0] == latest]
    elif p.is_file():
        files = [p]
    else:
        raise RecordsError(f"{p} does not exist (run `pytest -m oracle` first, or give a records path)")
    rows, warnings = load_files(files)
    if not rows:
        raise RecordsError(f"{p} holds no comparisons")
    return rows, warnings


def load_files(files: list[Path]) -> tuple[list[dict], list[str]]:
    """The comparison rows of exactly these records files (possibly none), and warnings."""
    rows, warnings = [], []
    for f in files:
        lines = f.read_text().splitlines()
        if not lines:
            raise RecordsError(f"{f} is empty")
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            raise RecordsError(f"{f} is not a records file (its first line is not JSON)") from None
        if not isinstance(header, dict) or header.get("schema") != SCHEMA:
            raise RecordsError(f"{f} is not a records file (expected schema {SCHEMA!r} on its first line)")
        for i, line in enumerate(lines[1:], start=2):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines):
                    warnings.append(f"{f}: last line {i} is cut short (run killed midway?); it was skipped")
                    continue
                raise RecordsError(f"{f}: line {i} is not JSON") from None
            rows.append({k: restore_non_finite(v) for k, v in row.items()})
    return rows, warnings
