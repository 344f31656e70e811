"""`python -m benchmarks --quick --skip-gate` runs and writes every experiment with median/min/max figures.
Behaviour only: no timing is asserted."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ("seeds", "frameworks", "harness", "functions", "gate")


def _summaries(obj):
    """Every dict that looks like a timing summary, anywhere in obj."""
    if isinstance(obj, dict):
        if "median" in obj:
            yield obj
        for v in obj.values():
            yield from _summaries(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _summaries(v)


def test_quick_benchmarks_write_every_experiment(tmp_path):
    out = tmp_path / "bench.json"
    p = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--skip-gate", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["schema"] == "benchmarks/1" and data["quick"] is True
    for name in EXPERIMENTS:
        exp = data["experiments"][name]
        assert exp["title"] and exp["title"] in p.stdout  # one printed table per experiment
        found = list(_summaries(exp))
        assert found, f"{name}: no median/min/max figures"
        for s in found:
            assert {"median", "min", "max", "runs"} <= set(s), s
            assert s["min"] <= s["median"] <= s["max"]
    seeds = data["experiments"]["seeds"]["rows"]
    assert seeds[0]["params"] == 41 and all(r["directional_passed"] for r in seeds)
    assert {"reference_fraction_of_peak", "reference_over_torch"} <= set(data["experiments"]["frameworks"]["rows"][0])
    assert all(r["harness_passed"] for r in data["experiments"]["harness"]["rows"])
    gate = data["experiments"]["gate"]
    assert gate["gate"]["skipped"] is True
    assert {r["oracle"] for r in gate["throughput"]["rows"]} == {"torch", "jax", "numerical", "directional"}
    assert 0.0 <= gate["throughput"]["jax"]["hit_rate"] <= 1.0
