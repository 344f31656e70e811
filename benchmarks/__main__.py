"""python -m benchmarks [--quick] [--skip-gate] [--only NAME ...] [--out build/benchmarks/benchmarks.json]"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from . import frameworks, functions, gate, harness, seeds
from .report import render

EXPERIMENTS = {"seeds": seeds, "frameworks": frameworks, "harness": harness, "functions": functions, "gate": gate}


def machine() -> dict:
    import jax
    import numpy
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "loadavg_1_5_15": list(load) if load else None, "numpy": numpy.__version__,
            "torch": torch.__version__, "jax": jax.__version__, "blas_threads": frameworks.blas_threads()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="reduced sizes and repeats: a few seconds")
    ap.add_argument("--skip-gate", action="store_true", help="skip timing the pytest gate (minutes)")
    ap.add_argument("--only", nargs="*", choices=list(EXPERIMENTS), help="run only these experiments")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads everywhere, and PyTorch threads in (b) (default 1)")
    ap.add_argument("--out", default="build/benchmarks/benchmarks.json")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from oracles.backends import configure

    configure()
    # every experiment runs NumPy's BLAS with --threads threads (default 1): on a shared machine more
    # threads mostly measure contention (a 10,000-parameter numerical pass measured 2.8 s to 30 s with 2)
    threadpool_limits(args.threads, user_api="blas")
    t_start = time.perf_counter()
    out = {"schema": "benchmarks/1", "quick": args.quick, "machine_before": machine(), "experiments": {}}
    for name, mod in EXPERIMENTS.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        kw = {"quick": args.quick}
        if args.quick:
            kw["repeats"] = 3 if name != "gate" else 2
        if name == "gate":
            kw["skip_gate"] = args.skip_gate
        if name == "frameworks":
            kw["threads"] = args.threads
        res = mod.run(**kw)
        res["seconds"] = time.perf_counter() - t0
        out["experiments"][name] = res
        print(render(res["title"], *mod.table(res), res.get("note", "")), flush=True)
    out["machine_after"] = machine()
    out["seconds"] = time.perf_counter() - t_start
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))
    la = out["machine_before"]["loadavg_1_5_15"]
    print(f"\nload average before: {la}, after: {out['machine_after']['loadavg_1_5_15']}; "
          f"{out['seconds']:.1f} s; written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
