"""Triage of every mutant of the decision code that survived (mutation/README.md, "Decision code"), in
the style of mutation/triage.py: "equivalent" (no input the code's contract allows tells the mutant from
the original; the score counts it out) or "gap" (a real hole; the entry names the test that closes it and
stays until a fresh run kills the mutant).

    .venv/bin/python mutation/run_decision.py survivors
"""
from __future__ import annotations

RULES: list = []

_DEFAULT = "the argument restated as its own default (dataclass field default None)"
TRIAGE: dict[str, tuple[str, str]] = {
    # --- oracles/judge.py ---
    "oracles.judge.x_decide__mutmut_91": (
        "equivalent", "failure=None dropped from the inconclusive Verdict: None is the field's default"),
}


def classify(name: str, diff_text: str) -> tuple[str, str] | None:
    """(verdict, reason) for a surviving mutant, or None if nobody has looked at it yet."""
    if name in TRIAGE:
        return TRIAGE[name]
    removed = [ln[1:].strip() for ln in diff_text.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:].strip() for ln in diff_text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    for rule, reason, pred in RULES:
        if pred(name, removed, added):
            return "equivalent", f"{rule}: {reason}"
    return None
