"""Probe the run-time misuse cases of issue 15 against whatever `oracles`/`reports` is importable, one
subprocess per case with a wall-clock cap, and print one line per case: `case | outcome`.

    PYTHONPATH=/path/to/tree python scripts/misuse_probe.py [CASE ...]

Used to fill tests/MISUSE.md's "before" column (a checkout of an older commit on PYTHONPATH) and its
"after" column (this tree). Outcomes: pass, FAIL/NOT-RUN/INCONCLUSIVE (first line), error (the
exception's type and first line, `traceback from <module>` when it came from inside another library),
`still running after N s` (killed at the cap), exit codes of the report CLI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

CAP = float(os.environ.get("PROBE_CAP", "60"))

PRELUDE = textwrap.dedent('''
    import json, os, sys, time, traceback
    import numpy as np
    from oracles import check_layer
    class Double:
        def forward(self, x): return 2 * x
        def backward(self, d): return 2 * d
    class Triple(Double):
        def backward(self, d): return 3 * d
    class Slow(Double):
        def forward(self, x): time.sleep(0.5); return 2 * x
    class KeepsInput(Double):
        prev = None
        def forward(self, x):
            if self.prev is not None: self.prev[...] = 0
            self.prev = x
            return 2 * x
    class KeepsDout(Double):
        prev = None
        def backward(self, d):
            if self.prev is not None: self.prev *= 2
            self.prev = d
            return 2 * d
    class NoFloat32(Double):
        def __init__(self, p):
            if p["s"].dtype == np.float32: raise RuntimeError("float32 is not supported")
            self.s = p["s"]
        def forward(self, x): self.x = x; return x * self.s
        def backward(self, d): self.ds = (d * self.x).sum(axis=0); return d * self.s
    def chk(make, **kw):
        args = dict(inputs={"x": ("n",)}, fn=lambda xp, x: 2 * x, name="probe", max_examples=3, record=False,
                    dtypes=("float64",), oracles=("torch", "numerical"))
        return check_layer(make, **{**args, **kw})
    def say(report):
        bad = [(d, o, s) for d, r in report.results.items() for o, s in r.pairs() if not r.stage_passed(o, s)]
        if not bad:
            print("OUTCOME pass"); return
        d, o, s = bad[0]
        print("OUTCOME " + report.results[d].message(o, s).splitlines()[0][:220])
''')

CASES = {
    "out of work budget (work_budget=30, 10 examples)": "say(chk(lambda p: Double(), max_examples=10, work_budget=30))",
    "100,000-element input, 2 examples": "say(chk(lambda p: Double(), sizes={'n': (100_000,)}, max_examples=2))",
    # ORACLE_HANG_GUARD=60 (a tree without a hang guard ignores it): the guard fires inside the probe's cap
    "layer taking 0.5 s a call, 25 examples": "os.environ['ORACLE_HANG_GUARD'] = '60'; say(chk(lambda p: Slow(), max_examples=25))",
    "failing layer on large inputs: shrinking": (
        "t=time.time(); say(chk(lambda p: Triple(), sizes={'n': tuple(range(50, 400))}, max_examples=20)); "
        "print('OUTCOME took %.0f s' % (time.time() - t))"),
    "layer keeps its input and mutates it on the next call": "say(chk(lambda p: KeepsInput()))",
    "layer keeps dout and mutates it on the next call": "say(chk(lambda p: KeepsDout()))",
    "make() raises on float32 (params, budget widened)": (
        "r = check_layer(lambda p: NoFloat32(p), inputs={'x': ('n', 'm')}, params={'s': ('m',)}, fn=lambda xp, x, s: x * s,"
        " name='nf32', max_examples=3, record=False, oracles=('torch', 'numerical')); "
        "print('OUTCOME float64 kept:', 'float64' in r.results and r.results['float64'].passed); say(r)"),
    "two checks with the default name": (
        "a = check_layer(lambda p: Double(), inputs={'x': ('n',)}, fn=lambda xp, x: 2 * x, max_examples=2, record=False, dtypes=('float64',), oracles=('torch',)); "
        "b = check_layer(lambda p: Triple(), inputs={'x': ('n',)}, fn=lambda xp, x: 2 * x, max_examples=2, record=False, dtypes=('float64',), oracles=('torch',)); "
        "print('OUTCOME names', a.name, b.name)"),
    ".hypothesis/ in the working directory outside pytest": (
        "chk(lambda p: Triple()); print('OUTCOME .hypothesis created:', os.path.exists('.hypothesis'))"),
    "records folder under a regular file (pytest --oracle-records)": (
        "import subprocess; open('f', 'w').write('x'); open('test_t.py', 'w').write("
        "'from oracles import REGISTRY, run_check\\ndef test_a():\\n    assert run_check(REGISTRY[\\'relu\\'], \\'float64\\', (\\'torch\\',), max_examples=2).passed\\n'); "
        "r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--oracle-records=f/rec', 'test_t.py'], capture_output=True, text=True); "
        "tail = [l for l in (r.stdout + r.stderr).splitlines() if 'error' in l.lower() or 'passed' in l or 'failed' in l]; "
        "print('OUTCOME pytest exit', r.returncode, '|', tail[-1][:160] if tail else '')"),
    "two runs writing to one records folder": (
        "from oracles import records\nfrom oracles.comparison import Comparison\n"
        "c = Comparison(layer='relu', dtype='float64', stage='forward', oracle='torch', shapes={}, max_abs=0.0, max_rel=0.0, atol=1e-12, rtol=1e-9, headroom=1.0, passed=True, outcome='pass')\n"
        "with records.to('rec', 'runA'):\n"
        "    records.emit([c])\n"
        "    with records.to('rec', 'runB'):\n"
        "        records.emit([c])\n"
        "    records.emit([c])\n"
        "fs = sorted(os.listdir('rec')); heads = [open('rec/' + f).readline().startswith('{\"schema') for f in fs]\n"
        "print('OUTCOME files', fs, 'headers', heads)"),
}

REPORT_ROW = dict(layer="relu", dtype="float64", stage="forward", oracle="torch", shapes={"x": [2]}, max_abs=0.0,
                  max_rel=0.0, atol=1e-12, rtol=1e-9, headroom="inf", passed=True, outcome="pass", note="", example=0)
BAD_ROWS = {
    "records: a row missing a field": {k: v for k, v in REPORT_ROW.items() if k != "max_abs"},
    "records: a row that is an array": [1, 2, 3],
    'records: "max_abs": null': {**REPORT_ROW, "max_abs": None},
    "records: non-UTF-8 bytes": b'{"layer": "\xff"}',
}
BASELINES = {
    "baseline: []": "[]",
    "baseline: a package.json": '{"name": "x", "version": "1.0.0"}',
    "baseline: rows of the wrong type": '{"schema": "oracle-summary/1", "rows": [1]}',
    "baseline: has a layer missing now": None,
}


def _report_code(row=None, baseline=None, extra_line=None) -> str:
    header = {"schema": "oracle-records/1", "run": "r", "worker": "main"}
    lines = [json.dumps(header).encode()]
    if row is not None:
        lines.append(row if isinstance(row, bytes) else json.dumps(row).encode())
    lines.append(json.dumps(REPORT_ROW).encode())
    if extra_line is not None:
        lines.append(json.dumps(extra_line).encode())
    data = b"\n".join(lines) + b"\n"
    code = f"open('records-r-main.jsonl', 'wb').write({data!r})\n"
    args = "['records-r-main.jsonl', '-o', 'out']"
    if baseline is not None:
        code += f"open('b.json', 'w').write({baseline!r})\n"
        args = "['records-r-main.jsonl', '-o', 'out', '--baseline', 'b.json']"
    return code + (
        "import io, contextlib\nfrom reports.__main__ import main\nout, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        f"    rc = main({args})\n"
        "lines = (err.getvalue() + out.getvalue()).strip().splitlines()\n"
        "print('OUTCOME exit', rc, '|', [l for l in lines if not l.startswith('report')][:1])")


for _name, _row in BAD_ROWS.items():
    CASES[_name] = _report_code(row=_row)
for _name, _b in BASELINES.items():
    if _b is None:
        _b = json.dumps({"schema": "oracle-summary/1", "rows": [
            {"layer": "relu", "dtype": "float64", "oracle": "torch", "max_abs": 0.0, "failed": 0, "atol": 1e-12},
            {"layer": "sigmoid", "dtype": "float64", "oracle": "torch", "max_abs": 0.0, "failed": 0, "atol": 1e-12}]})
    CASES[_name] = _report_code(baseline=_b)
CASES["report after a real inconclusive check (inf on both sides)"] = (
    "from oracles import records\nclass Inf(Double):\n    def forward(self, x): return x * 0 + np.inf\n"
    "    def backward(self, d): return d * 0\n"
    "with records.to('rec', 'r1'):\n"
    "    r = chk(lambda p: Inf(), fn=lambda xp, x: x * 0 + float('inf'), record=True, oracles=('torch',))\n"
    "import io, contextlib\nfrom reports.__main__ import main\nout = io.StringIO()\n"
    "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n    rc = main(['rec', '-o', 'out'])\n"
    "print('OUTCOME check passed:', r.passed, '| report exit', rc, '|', out.getvalue().splitlines()[0][:120])")
CASES["report: an inconclusive check (verdict line)"] = _report_code(extra_line=dict(
    kind="verdict", layer="relu", dtype="float64", stage="grad_x", oracle="torch", outcome="inconclusive",
    reason="no example was compared", examples=0, requested=3))


def run_case(code: str, cwd: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ORACLE_"))}
    env["XDG_CACHE_HOME"] = os.path.join(cwd, "xdg")
    try:
        res = subprocess.run([sys.executable, "-c", PRELUDE + "\n" + code], cwd=cwd, capture_output=True, text=True,
                             env=env, timeout=CAP)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        said = [l for l in err.splitlines() if l.startswith("oracle check")]
        return f"still running after {CAP:.0f} s (killed), " + (f"{len(said)} progress line(s)" if said else "no progress line")
    lines = [l[len("OUTCOME "):] for l in res.stdout.splitlines() if l.startswith("OUTCOME ")]
    if lines:
        return " / ".join(lines)
    err = [l for l in res.stderr.splitlines() if l.strip()]
    origin = next((l.split('"')[1] for l in reversed(res.stderr.splitlines()) if l.strip().startswith("File ")), "")
    return f"error: {err[-1][:200] if err else res.returncode}" + (f" (raised in {origin})" if origin else "")


def main(names: list[str]) -> None:
    for name in names or list(CASES):
        with tempfile.TemporaryDirectory() as d:
            print(f"{name} | {run_case(CASES[name], d)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
    print(json.dumps({"cap_s": CAP}))
