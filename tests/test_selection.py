"""`pytest -k oracle` and `pytest -m oracle` select the same gate, and it covers every layer,
every oracle and both dtypes."""
import subprocess
import sys

from oracles import DTYPES, ORACLES, REGISTRY


def _collect(*args):
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args],
        capture_output=True, text=True, check=True,
    ).stdout
    return {line for line in out.splitlines() if "::" in line}


def test_k_and_m_select_the_same_gate():
    by_k, by_m = _collect("-k", "oracle"), _collect("-m", "oracle")
    assert by_k == by_m and by_k
    for name, spec in REGISTRY.items():
        for dtype in DTYPES:
            for oracle in ORACLES:
                assert any(f"[{name}-{oracle}-{dtype}-grad_" in t for t in by_k), (name, oracle, dtype)
            assert f"tests/test_oracle_layers.py::test_oracle[{name}-torch-{dtype}-forward]" in by_k
