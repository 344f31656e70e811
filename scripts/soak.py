"""No false alarms: run the whole gate under many Hypothesis seeds (and shape-layout seeds), both dtypes.

    python scripts/soak.py --seeds 20 [--examples 25] [--first 1] [-n 2]

Each seed N runs `pytest -m oracle` with `--hypothesis-seed=N`, a randomized profile (`dev`, with the
number of examples given) and ORACLE_LAYOUT_SEED=N, so both the values and the shapes differ from the
gate's. Prints one line per seed and a JSON summary (build/soak/soak.json): seeds run, tests, failures
with their test ids. Not part of the gate: it takes ~2 minutes per seed on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path


def run_seed(seed: int, examples: int, workers: str) -> dict:
    env = dict(os.environ, ORACLE_LAYOUT_SEED=str(seed), HYPOTHESIS_PROFILE="dev")
    cmd = [sys.executable, "-m", "pytest", "-m", "oracle", "-q", "-p", "no:cacheprovider", f"--hypothesis-seed={seed}",
           "--hypothesis-profile=dev", f"--oracle-examples={examples}", "--oracle-no-records", "-n", workers,
           "--dist", "loadscope", "-rf"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    out = res.stdout + res.stderr
    failed = re.findall(r"^FAILED (\S+)", out, flags=re.M)
    m = re.search(r"(\d+) passed", out)
    return {"seed": seed, "returncode": res.returncode, "passed": int(m.group(1)) if m else 0, "failed": failed,
            "seconds": round(time.perf_counter() - t0, 1), "tail": out[-3000:] if res.returncode not in (0,) else ""}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("-n", default="auto", help="pytest-xdist workers")
    ap.add_argument("--out", default="build/soak/soak.json")
    args = ap.parse_args()
    results = []
    for seed in range(args.first, args.first + args.seeds):
        r = run_seed(seed, args.examples, args.n)
        results.append(r)
        print(f"seed {seed}: {r['passed']} passed, {len(r['failed'])} failed, {r['seconds']} s"
              + "".join(f"\n  FAILED {f}" for f in r["failed"]), flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"examples": args.examples, "results": results}, indent=1))
    bad = [r for r in results if r["returncode"] != 0]
    print(f"{len(results)} seeds, {sum(r['passed'] for r in results)} tests passed, "
          f"{sum(len(r['failed']) for r in results)} failed in {len(bad)} seed(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
