"""`pytest -k oracle` and `pytest -m oracle` select the same gate, and it covers every layer,
every oracle and both dtypes."""
import json
import re
import subprocess
import sys

from oracles import DTYPES, ORACLES, REGISTRY
from subproc import clean_env


def _collect(*args):
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args],
        capture_output=True, text=True, check=True, env=clean_env(),
    ).stdout
    return {line for line in out.splitlines() if "::" in line}


def test_k_and_m_select_the_same_gate():
    by_k, by_m = _collect("-k", "oracle"), _collect("-m", "oracle")
    assert by_k == by_m and by_k
    for name, spec in REGISTRY.items():
        for dtype in DTYPES:
            for oracle in ORACLES:
                assert any(f"[{name}-{oracle}-{dtype}-grad_" in t for t in by_k), (name, oracle, dtype)
            cls = "TestLayer_" + re.sub(r"[^0-9A-Za-z_]", "_", name)
            assert f"tests/test_oracle_layers.py::{cls}::test_oracle[{name}-torch-{dtype}-forward]" in by_k


def test_options_choose_backends_dtypes_and_examples(tmp_path):
    """--oracle-oracles / --oracle-dtypes skip the rest (visibly), --oracle-examples sets the count."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "--oracle-oracles", "torch", "--oracle-dtypes", "float64",
         "--oracle-examples", "3", "--oracle-records", str(tmp_path),
         *[f"tests/test_oracle_layers.py::TestLayer_relu::test_oracle[relu-{i}]" for i in (
             "torch-float64-forward", "torch-float64-grad_x", "jax-float64-forward", "torch-float32-forward",
             "jax-float32-forward", "numerical-float64-grad_x")]],
        capture_output=True, text=True, env=clean_env(),
    ).stdout
    assert "2 passed" in out and "4 skipped" in out, out
    assert "oracle jax not selected (--oracle-oracles)" in out and "dtype float32 not selected (--oracle-dtypes)" in out
    rows = [json.loads(line) for f in tmp_path.glob("records-*.jsonl") for line in f.read_text().splitlines()[1:]]
    assert rows and {r["oracle"] for r in rows} == {"torch"} and {r["dtype"] for r in rows} == {"float64"}
    assert max(r["example"] for r in rows) + 1 == 3


def test_unknown_backend_is_a_usage_error():
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "--oracle-oracles", "tensorflow", "--collect-only"],
                         capture_output=True, text=True, env=clean_env())
    assert res.returncode == 4 and "unknown oracle(s) ['tensorflow']" in res.stderr
