"""pytest plugin (entry point `pytest11: oracles`): the `oracle` marker, options, records, a summary.

Loading it imports neither torch nor JAX; a test suite that runs no oracle check sees only a marker
and a few options, and no file is written.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from . import profiles, records

# Registered at import, before any pytest_configure: Hypothesis's own plugin loads `--hypothesis-profile`
# in its pytest_configure, so `--hypothesis-profile=ci` works in any repository that installs this
# package. Registering names changes nothing else; a conftest that registers the same names wins.
profiles.register()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("oracle", "gradient oracle checks")
    g.addoption("--oracle-records", default=os.environ.get("ORACLE_RECORDS", str(records.DEFAULT_DIR)),
                help="folder for the JSON-lines records of every comparison (default: %(default)s)")
    g.addoption("--oracle-no-records", action="store_true", help="write no records")
    # an empty environment variable counts as unset (all); an explicitly empty option is a usage error
    g.addoption("--oracle-oracles", default=os.environ.get("ORACLE_ORACLES") or None,
                help="comma-separated oracles to run: torch,jax,numerical (default: all)")
    g.addoption("--oracle-dtypes", default=os.environ.get("ORACLE_DTYPES") or None,
                help="comma-separated dtypes to check: float64,float32 (default: both)")
    g.addoption("--oracle-inconclusive", choices=("fail", "warn"), default=os.environ.get("ORACLE_INCONCLUSIVE") or "fail",
                help="an oracle that could not decide (its own error bound too loose, a kink): fail the test "
                     "(default) or warn and accept it knowingly")
    g.addoption("--oracle-examples", type=int, default=None,
                help="examples per layer and dtype (default: the Hypothesis profile's max_examples)")
    g.addoption("--oracle-work-budget", type=int, default=None,
                help="forward calls of the layer one check may make; out of it, unfinished stages are "
                     "not-run, a failed test (default: 20000 per example)")
    g.addoption("--oracle-hang-guard", type=float, default=None,
                help="seconds after which a check is taken to hang and raises (default: 300, or ORACLE_HANG_GUARD)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "oracle: a gradient check against the PyTorch, JAX and numerical oracles")
    from .names import DTYPES, ORACLES
    from .options import OPTIONS, parse_list
    from .validate import check_examples, check_limits

    budget, guard = config.getoption("oracle_work_budget"), config.getoption("oracle_hang_guard")
    try:  # the same checks as check_layer's arguments (oracles/validate.py)
        oracles = parse_list(config.getoption("oracle_oracles"), ORACLES, "oracle(s)", "--oracle-oracles")
        dtypes = parse_list(config.getoption("oracle_dtypes"), DTYPES, "dtype(s)", "--oracle-dtypes")
        check_examples(config.getoption("oracle_examples"), "--oracle-examples")
        check_limits(budget, guard, names=("--oracle-work-budget", "--oracle-hang-guard"))
        directory = None if config.getoption("oracle_no_records") else Path(config.getoption("oracle_records"))
        if directory is not None:
            records.check_directory(directory, "--oracle-records")
    except (ValueError, TypeError) as e:
        raise pytest.UsageError(str(e)) from None
    OPTIONS.oracles, OPTIONS.dtypes, OPTIONS.max_examples = oracles, dtypes, config.getoption("oracle_examples")
    OPTIONS.work_budget, OPTIONS.hang_guard, OPTIONS.pytest = budget, guard, True
    OPTIONS.inconclusive = config.getoption("oracle_inconclusive")
    if OPTIONS.inconclusive not in ("fail", "warn"):
        raise pytest.UsageError(f"--oracle-inconclusive={OPTIONS.inconclusive!r}: choose fail or warn")
    _progress_to_terminal(config)
    if directory is None:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        # the controller names the run; xdist workers inherit the variable when they are spawned
        os.environ["ORACLE_RUN_ID"] = records.new_run_id()
    records.start(directory, os.environ.get("ORACLE_RUN_ID", records.new_run_id()), worker or "main", lazy=True)
    config._oracle_records_dir = directory


def _progress_to_terminal(config: pytest.Config) -> None:
    """Progress lines of long checks (oracles/work.py) go to the terminal, past the output capture."""
    from . import work

    def say(line: str) -> None:
        tr = config.pluginmanager.get_plugin("terminalreporter")
        capman = config.pluginmanager.get_plugin("capturemanager")
        if tr is None or capman is None:
            return work._stderr(line)
        with capman.global_and_fixture_disabled():
            tr.write_line(line)

    work.set_progress(say)


def pytest_unconfigure(config: pytest.Config) -> None:
    from . import work

    work.set_progress(None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The checks this run plans (layer, dtype, oracle), from the collected oracle tests' parameters, go
    into the records header: the report shows a planned check that left no record as not-run."""
    if getattr(session.config, "_oracle_records_dir", None) is None or session.config.option.collectonly:
        return  # --collect-only runs nothing: it must not leave a run of not-run checks behind
    planned = sorted({p for item in session.items if item.get_closest_marker("oracle") for p in _planned(item)})
    if planned:
        records.plan(planned)


def _planned(item) -> list[tuple[str, str, str]]:
    """(layer, dtype, oracle) of an oracle test parametrized like the gate's (spec or family, dtype, oracle);
    none for a test left out by --oracle-dtypes / --oracle-oracles (it is skipped, not planned)."""
    from .options import OPTIONS

    params = getattr(getattr(item, "callspec", None), "params", {})
    dtype, oracle = params.get("dtype"), params.get("oracle")
    layer = getattr(params.get("spec"), "name", None) or (f"network_{params['family']}" if "family" in params else None)
    if not all(isinstance(v, str) for v in (layer, dtype, oracle)):
        return []
    if not (OPTIONS.dtype_selected(dtype) and OPTIONS.oracle_selected(oracle)):
        return []
    return [(layer, dtype, oracle)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A NOT-RUN verdict (OracleNotRun: the check stopped at another stage's failure) is shown as a skip
    with its reason; FAIL and INCONCLUSIVE stay failed tests (oracles/judge.py has the mapping)."""
    try:
        return (yield)
    except AssertionError as e:
        result = sys.modules.get("oracles.result")  # loaded whenever such an exception exists
        if result is not None and isinstance(e, result.OracleNotRun):
            try:  # reported at the test's own location, as a skip marker's would be
                skip = pytest.skip.Exception(str(e).splitlines()[0], _use_item_location=True)
            except TypeError:  # a pytest without that keyword: reported here, reason unchanged
                skip = pytest.skip.Exception(str(e).splitlines()[0])
            raise skip from None
        raise


@pytest.fixture(scope="session")
def oracle_options():
    """The run's options from --oracle-oracles / --oracle-dtypes / --oracle-examples, to pass on:
    `check_layer(..., options=oracle_options)`."""
    from .options import OPTIONS

    return OPTIONS


@pytest.fixture(scope="session")
def oracle_check():
    """`oracle_check(spec, dtype, convention=None, oracle=None)` -> CheckResult, computed once per session
    and reused by every test that views one (oracle, stage) of it. With a convention, the run sits on that
    kink. A test for a dtype or oracle left out by --oracle-dtypes / --oracle-oracles is skipped."""
    from .names import ORACLES
    from .check import run_check
    from .options import OPTIONS

    cache = {}

    def get(spec, dtype, convention=None, oracle=None):
        if not OPTIONS.dtype_selected(dtype):
            pytest.skip(f"dtype {dtype} not selected (--oracle-dtypes)")
        if oracle is not None and not OPTIONS.oracle_selected(oracle):
            pytest.skip(f"oracle {oracle} not selected (--oracle-oracles)")
        key = (spec, dtype, convention)
        if key not in cache:
            chosen = tuple(o for o in ORACLES if OPTIONS.oracle_selected(o))
            cache[key] = run_check(spec, dtype, chosen, max_examples=OPTIONS.max_examples, convention=convention,
                                   work_budget=OPTIONS.work_budget, hang_guard=OPTIONS.hang_guard)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def oracle_network_check():
    """`oracle_network_check(family, dtype, oracle=None)` -> NetworkCheck: one Hypothesis run of
    generated networks per (family, dtype) per session, shared by the per-oracle tests."""
    from .names import FRAMEWORKS
    from .networks import run_network_check
    from .options import OPTIONS

    cache = {}

    def get(family, dtype, oracle=None):
        if not OPTIONS.dtype_selected(dtype):
            pytest.skip(f"dtype {dtype} not selected (--oracle-dtypes)")
        if oracle is not None and not OPTIONS.oracle_selected(oracle):
            pytest.skip(f"oracle {oracle} not selected (--oracle-oracles)")
        if (family, dtype) not in cache:
            chosen = tuple(o for o in FRAMEWORKS if OPTIONS.oracle_selected(o))
            cache[(family, dtype)] = run_network_check(family, dtype, max_examples=OPTIONS.max_examples, oracles=chosen)
        return cache[(family, dtype)]

    return get


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    directory = getattr(config, "_oracle_records_dir", None)
    if directory is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    files = sorted(Path(directory).glob(f"records-{os.environ.get('ORACLE_RUN_ID')}-*.jsonl"))
    if not files:
        return  # no oracle check ran: say nothing, import nothing
    try:
        from reports.aggregate import outcome_of
        from reports.records_io import RecordsError, load_files
    except ImportError:  # a suite with a `reports` package of its own shadows ours: skip the summary
        return
    try:
        rows, _ = load_files(files)
    except RecordsError:
        return  # a damaged file: `python -m reports` says what is wrong with it
    if not rows:
        return
    layers = sorted({r["layer"] for r in rows})
    outcomes = [outcome_of(r) for r in rows]
    by_oracle = {}
    for r in rows:
        by_oracle[r["oracle"]] = by_oracle.get(r["oracle"], 0) + 1
    tr = terminalreporter
    tr.section("oracle summary")
    tr.write_line(f"layers checked: {len(layers)} ({', '.join(layers)})")
    tr.write_line(f"dtypes: {', '.join(sorted({r['dtype'] for r in rows}))}")
    tr.write_line("comparisons: " + ", ".join(f"{o} {n}" for o, n in sorted(by_oracle.items())) + f"; failed: {outcomes.count('fail')}; inconclusive: {outcomes.count('inconclusive')}")
    tr.write_line(f"records: {directory} ({len(files)} file(s)); report: python -m reports")
