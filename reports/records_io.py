"""Reading records files: every failure mode gets one line that names the file and the line.

Every line is checked against the schema (oracles/names.py: RECORDS_SCHEMA on the header line,
RECORD_FIELDS for a comparison, VERDICT_FIELDS for a verdict line) before anything is aggregated, so a
foreign or damaged file is a RecordsError, never a traceback and never a passing report.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from oracles.names import OUTCOMES, RECORD_FIELDS, VERDICT_FIELDS
from oracles.names import RECORDS_SCHEMA as SCHEMA


class RecordsError(Exception):
    """A records file or folder that cannot give a report."""


@dataclass
class Run:
    """What the records files of one run hold: comparison rows, verdict lines (not-run and inconclusive
    pairs), the checks the run planned (layer, dtype, oracle), and warnings."""

    rows: list[dict] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    planned: set[tuple[str, str, str]] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


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


def _files(path: str | Path) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("records-*.jsonl"))
        if not files:
            raise RecordsError(f"no records-*.jsonl files in {p} (run `pytest -m oracle` first)")
        latest = files[-1].name.rsplit("-", 1)[0]  # records-<run>: the newest run sorts last
        return [f for f in files if f.name.rsplit("-", 1)[0] == latest]
    if p.is_file():
        return [p]
    raise RecordsError(f"{p} does not exist (run `pytest -m oracle` first, or give a records path)")


def load_run(path: str | Path) -> Run:
    """Everything under `path` (a records file, or a folder of records-*.jsonl: its latest run).

    A file whose last line is cut short (a run killed midway) still loads, with a warning; an empty,
    missing, foreign or malformed file raises RecordsError naming the file and line."""
    run = read_files(_files(path))
    if not run.rows and not run.verdicts and not run.planned:
        raise RecordsError(f"{path} holds no comparisons")
    return run


def load(path: str | Path) -> tuple[list[dict], list[str]]:
    """All comparison rows under `path`, and warnings (see load_run)."""
    run = load_run(path)
    if not run.rows:
        raise RecordsError(f"{path} holds no comparisons")
    return run.rows, run.warnings


def load_files(files: list[Path]) -> tuple[list[dict], list[str]]:
    """The comparison rows of exactly these records files (possibly none), and warnings."""
    run = read_files(files)
    return run.rows, run.warnings


def read_files(files: list[Path]) -> Run:
    """The rows, verdicts and plan of exactly these records files."""
    run = Run()
    for f in files:
        lines = _text_lines(f)
        run.planned |= _header(f, lines)
        for i, line in enumerate(lines[1:], start=2):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines):
                    run.warnings.append(f"{f}: last line {i} is cut short (run killed midway?); it was skipped")
                    continue
                raise RecordsError(f"{f}:{i}: not JSON") from None
            row = _checked(f, i, row)
            (run.verdicts if row.get("kind") == "verdict" else run.rows).append(row)
    return run


def _text_lines(f: Path) -> list[str]:
    try:
        data = f.read_bytes()
    except OSError as e:
        raise RecordsError(f"{f}: cannot be read ({e.strerror or e})") from None
    lines = data.splitlines()
    if not lines:
        raise RecordsError(f"{f} is empty")
    out = []
    for i, raw in enumerate(lines, start=1):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise RecordsError(f"{f}:{i}: not UTF-8 text (is this a records file?)") from None
    return out


def _header(f: Path, lines: list[str]) -> set[tuple[str, str, str]]:
    """The header line's plan; RecordsError if the first line is not a records header."""
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise RecordsError(f"{f} is not a records file (its first line is not JSON)") from None
    if not isinstance(header, dict) or header.get("schema") != SCHEMA:
        raise RecordsError(f"{f} is not a records file (expected schema {SCHEMA!r} on its first line)")
    planned = header.get("planned", [])
    if not isinstance(planned, list) or not all(
            isinstance(p, list) and len(p) == 3 and all(isinstance(x, str) for x in p) for p in planned):
        raise RecordsError(f"{f}:1: 'planned' must be a list of [layer, dtype, oracle]")
    return {tuple(p) for p in planned}


def _type_ok(v, kind: str) -> bool:
    if kind == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, str)


def _checked(f: Path, i: int, row) -> dict:
    """The row with non-finite numbers restored, or RecordsError naming what is wrong with it."""
    if not isinstance(row, dict):
        raise RecordsError(f"{f}:{i}: a JSON {type(row).__name__}, not a record (an object)")
    row = {k: restore_non_finite(v) for k, v in row.items()}
    verdict = row.get("kind") == "verdict"
    for name, kind in (VERDICT_FIELDS if verdict else RECORD_FIELDS).items():
        if name not in row:
            raise RecordsError(f"{f}:{i}: field {name!r} is missing")
        if not _type_ok(row[name], kind):
            raise RecordsError(f"{f}:{i}: field {name!r} is {json.dumps(row[name])}; expected a {kind}")
    if "outcome" in row and row["outcome"] not in OUTCOMES:
        raise RecordsError(f"{f}:{i}: outcome {row['outcome']!r}; expected one of {', '.join(OUTCOMES)}")
    if not verdict and "outcome" not in row and not isinstance(row.get("passed"), bool):
        raise RecordsError(f"{f}:{i}: neither 'outcome' nor 'passed' (a bool) is given")
    for name in ("shapes", "extra"):
        if row.get(name) is not None and not isinstance(row[name], dict):
            raise RecordsError(f"{f}:{i}: field {name!r} is a JSON {type(row[name]).__name__}; expected an object")
    return row


_REGENERATE = "regenerate one with `python -m reports RECORDS -o DIR` and pass DIR/summary.json"


def load_baseline(path: str | Path, summary_schema: str) -> dict:
    """A summary.json written by `python -m reports` (any earlier version: they all carry
    `summary_schema` and rows of layer, dtype, oracle, max_abs, failed), non-finite numbers restored;
    anything else is a RecordsError in one line that says how to regenerate one."""
    p = Path(path)
    try:
        doc = json.loads(p.read_bytes().decode("utf-8"))
    except OSError as e:
        raise RecordsError(f"baseline {p}: cannot be read ({e.strerror or e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RecordsError(f"baseline {p}: not JSON; {_REGENERATE}") from None
    if not isinstance(doc, dict) or doc.get("schema") != summary_schema or not isinstance(doc.get("rows"), list):
        what = f"a JSON {type(doc).__name__}" if not isinstance(doc, dict) else f"schema {doc.get('schema')!r}"
        raise RecordsError(f"baseline {p}: {what}, not a summary.json (schema {summary_schema!r}); {_REGENERATE}")
    for i, row in enumerate(doc["rows"]):
        if not isinstance(row, dict):
            raise RecordsError(f"baseline {p}: rows[{i}] is a JSON {type(row).__name__}, not an object; {_REGENERATE}")
        row = restore_non_finite(row)
        for name, kind in (("layer", "string"), ("dtype", "string"), ("oracle", "string"), ("max_abs", "number"),
                           ("failed", "number")):
            if not _type_ok(row.get(name), kind):
                raise RecordsError(f"baseline {p}: rows[{i}] field {name!r} is {json.dumps(row.get(name))}; "
                                   f"expected a {kind}; {_REGENERATE}")
        if "atol" in row and not _type_ok(row["atol"], "number"):
            raise RecordsError(f"baseline {p}: rows[{i}] field 'atol' is {json.dumps(row['atol'])}; expected a number")
        doc["rows"][i] = row
    return doc
