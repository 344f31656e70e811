"""List the mutants that were not killed, with their diffs, and check them against the triage table.

    .venv/bin/python mutation/survivors.py            # summary + every untriaged survivor's diff
    .venv/bin/python mutation/survivors.py --all      # every survivor's diff, triaged or not
    .venv/bin/python mutation/survivors.py --triage decision_triage   # another triage table (run_decision.py)

Run from the repository root after `mutmut run`. The triage table is mutation/triage.py: one entry per
surviving mutant, saying whether it is equivalent (no input the layer's contract allows can tell it
apart) or a gap (and which test closes it). The score in the README counts equivalent mutants out.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

STATUS_NOT_CAUGHT = {"survived", "no tests"}


def load() -> dict[str, str]:
    """mutant name -> status, from mutmut's state in mutants/."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    out = {}
    for path in walk_mutatable_files():
        m = SourceFileMutationData(path=path)
        m.load()
        for k, v in m.exit_code_by_key.items():
            out[k] = status_by_exit_code[v]
    return out


def diff(name: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="show the diff of triaged survivors too")
    ap.add_argument("--triage", default="triage", help="the triage module in mutation/ (default: triage)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import importlib

    table = importlib.import_module(args.triage)
    TRIAGE, classify = table.TRIAGE, table.classify

    status = load()
    counts = collections.Counter(status.values())
    caught = counts["killed"] + counts["timeout"]
    survivors = sorted(k for k, s in status.items() if s in STATUS_NOT_CAUGHT)
    diffs = {k: diff(k) for k in survivors}
    verdict = {k: classify(k, diffs[k]) for k in survivors}
    equivalent = [k for k in survivors if verdict[k] and verdict[k][0] == "equivalent"]
    gaps = [k for k in survivors if verdict[k] and verdict[k][0] == "gap"]
    untriaged = [k for k in survivors if verdict[k] is None]
    stale = sorted(k for k in TRIAGE if status.get(k) not in STATUS_NOT_CAUGHT)
    print(f"mutants: {len(status)}  " + "  ".join(f"{s}: {n}" for s, n in sorted(counts.items())))
    scored = caught + len(survivors) - len(equivalent)
    print(f"raw score (killed + timeout) / (all run): {caught}/{caught + len(survivors)} = "
          f"{caught / max(1, caught + len(survivors)):.1%}")
    print(f"score without the {len(equivalent)} equivalent mutants: {caught}/{scored} = {caught / max(1, scored):.1%}")
    print(f"survivors: {len(survivors)} (equivalent {len(equivalent)}, gap {len(gaps)}, untriaged {len(untriaged)})")
    if stale:
        print(f"triage entries no longer surviving (killed now, or renamed): {len(stale)}")
        for k in stale:
            print("   ", k)
    for k in survivors if args.all else untriaged:
        print("\n" + "=" * 100)
        print(f"{k}  [{status[k]}]  {verdict[k] or ('untriaged', '')}")
        print(diffs[k])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
