"""Mutation testing of the decision code (the judge, the comparison, the bounds): mutation/README.md.

    .venv/bin/python mutation/run_decision.py                 # prepare the scratch copy, mutmut run there
    .venv/bin/python mutation/run_decision.py run NAME...     # (re)run some mutants (fnmatch patterns)
    .venv/bin/python mutation/run_decision.py survivors       # score, triage check, untriaged diffs
    .venv/bin/python mutation/run_decision.py show NAME       # one mutant's diff
    .venv/bin/python mutation/run_decision.py clean           # remove the scratch copy

mutmut 3.8.1 reads its configuration only from [tool.mutmut] of ./pyproject.toml, which is the one for
reference/. So this runs mutmut from a scratch copy of the repository (build/mutation-decision/) whose
pyproject.toml has that table replaced by mutation/decision.toml. In the copy's oracles/numerical.py and stencil.py the
functions that do not compute the bound (NUMERICAL_LEFT_OUT) are marked `# pragma: no mutate block` on
their `def` line (a comment: the line numbers stay those of the source). Each `run` refreshes the copy's
tests/, mutation/ and sources first (mutmut's own state in mutants/ is kept, so earlier results stand:
name mutants to re-run them). mutmut runs under `nice -n 10`, two children by default (MUTMUT_CHILDREN).
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutation-decision"
COPIED = ("oracles", "reference", "reports", "examples", "mutation", "tests")
#: functions outside the scope, per file: the loops that drive the probes, the oracle's entry points
NUMERICAL_LEFT_OUT = {
    "numerical.py": ("run_numerical", "estimate", "_joined", "_estimate", "_set", "_get"),
    "stencil.py": ("_pair", "_unmoved", "_probe", "probes", "_chunk"),
}
PRAGMA = "  # pragma: no mutate block"


def _pyproject() -> str:
    """The repository's pyproject.toml with its [tool.mutmut] table replaced by mutation/decision.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    return text.rstrip() + "\n\n" + (ROOT / "mutation" / "decision.toml").read_text()


def _mark_left_out(path: Path, names: tuple[str, ...]) -> None:
    """`# pragma: no mutate block` at the end of each left-out function's header (the line before its body)."""
    lines = path.read_text().splitlines(keepends=True)
    for node in ast.walk(ast.parse("".join(lines))):
        if isinstance(node, ast.FunctionDef) and node.name in names:
            i = node.body[0].lineno - 2  # 0-based index of the header's last line
            assert lines[i].rstrip().endswith(":"), (node.name, lines[i])
            lines[i] = lines[i].rstrip("\n") + PRAGMA + "\n"
    path.write_text("".join(lines))


def prepare() -> None:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        shutil.rmtree(SCRATCH / name, ignore_errors=True)
        shutil.copytree(ROOT / name, SCRATCH / name, ignore=ignore)
    (SCRATCH / "pyproject.toml").write_text(_pyproject())
    for name, left_out in NUMERICAL_LEFT_OUT.items():
        _mark_left_out(SCRATCH / "oracles" / name, left_out)
    # the tests and mutation/ may have changed since the last run: mutmut copies them into mutants/ only
    # when absent
    for name in ("tests", "mutation"):
        if (SCRATCH / "mutants" / name).exists():
            shutil.rmtree(SCRATCH / "mutants" / name)


def mutmut(*args: str) -> int:
    exe = Path(sys.executable).parent / "mutmut"
    cmd = ["nice", "-n", "10", str(exe), *args]
    env = {**os.environ, "PYTHONPATH": "", "ORACLE_JAX_CACHE": str(SCRATCH / "jax-cache")}  # compiles shared by mutants
    return subprocess.call(cmd, cwd=SCRATCH, env=env)


def main(argv: list[str]) -> int:
    cmd, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if cmd == "clean":
        shutil.rmtree(SCRATCH, ignore_errors=True)
        return 0
    if cmd == "run":
        prepare()
        return mutmut("run", "--max-children", os.environ.get("MUTMUT_CHILDREN", "2"), *rest)
    if cmd == "show":
        return mutmut("show", *rest)
    if cmd == "survivors":
        (SCRATCH / "mutation").mkdir(parents=True, exist_ok=True)
        for f in ("survivors.py", "triage.py", "decision_triage.py"):
            shutil.copy2(ROOT / "mutation" / f, SCRATCH / "mutation" / f)
        return subprocess.call([sys.executable, "mutation/survivors.py", "--triage", "decision_triage", *rest],
                               cwd=SCRATCH, env={**os.environ, "PYTHONPATH": ""})
    raise SystemExit(__doc__)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
