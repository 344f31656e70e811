"""pytest plugin (entry point `pytest11: oracles`): the `oracle` marker, options, records, a summary.

Loading it imports neither torch nor JAX; a test suite that runs no oracle check sees only a marker
and a few options, and no file is written.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import records


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("oracle", "gradient oracle checks")
    g.addoption("--oracle-records", default=os.environ.get("ORACLE_RECORDS", str(records.DEFAULT_DIR)),
                help="folder for the JSON-lines records of every comparison (default: %(default)s)")
    g.addoption("--oracle-no-records", action="store_true", help="write no records")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "oracle: a gradient check against the PyTorch, JAX and numerical oracles")
    from . import profiles

    profiles.register()
    if config.getoption("oracle_no_records"):
        return
    directory = Path(config.getoption("oracle_records"))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        # the controller names the run; xdist workers inherit the variable when they are spawned
        os.environ["ORACLE_RUN_ID"] = records.new_run_id()
    records.start(directory, os.environ.get("ORACLE_RUN_ID", records.new_run_id()), worker or "main", lazy=True)
    config._oracle_records_dir = directory


@pytest.fixture(scope="session")
def oracle_check():
    """`oracle_check(spec, dtype, convention=None)` -> CheckResult, computed once per session and reused
    by every test that views one (oracle, stage) of it. With a convention, the run sits on that kink."""
    from .check import run_check

    cache = {}

    def get(spec, dtype, convention=None):
        key = (id(spec), dtype, id(convention))
        if key not in cache:
            cache[key] = run_check(spec, dtype, convention=convention)
        return cache[key]

    return get


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    directory = getattr(config, "_oracle_records_dir", None)
    if directory is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from reports.records_io import RecordsError, load_files

    files = sorted(Path(directory).glob(f"records-{os.environ.get('ORACLE_RUN_ID')}-*.jsonl"))
    try:
        rows, _ = load_files(files)
    except RecordsError:
        return  # a damaged file: `python -m reports` says what is wrong with it
    if not rows:
        return
    layers = sorted({r["layer"] for r in rows})
    failed = [r for r in rows if not r["passed"]]
    by_oracle = {}
    for r in rows:
        by_oracle[r["oracle"]] = by_oracle.get(r["oracle"], 0) + 1
    tr = terminalreporter
    tr.section("oracle summary")
    tr.write_line(f"layers checked: {len(layers)} ({', '.join(layers)})")
    tr.write_line(f"dtypes: {', '.join(sorted({r['dtype'] for r in rows}))}")
    tr.write_line("comparisons: " + ", ".join(f"{o} {n}" for o, n in sorted(by_oracle.items())) + f"; failed: {len(failed)}")
    tr.write_line(f"records: {directory} ({len(files)} file(s)); report: python -m reports")
