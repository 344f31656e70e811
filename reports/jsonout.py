"""summary.json: the summary as strict JSON (non-finite floats as "inf", "-inf", "nan"), plus what changed
against a baseline when one was given."""
from __future__ import annotations

import json

from oracles.records import jsonable


def render(summary: dict, regressions: list[str] | None = None, diff: dict | None = None) -> str:
    """summary.json's text; "regressions" (one line each) and "baseline_diff" (by kind) are present only
    when a baseline was compared."""
    doc = dict(summary)
    if regressions is not None:
        doc["regressions"] = regressions
    if diff is not None:
        doc["baseline_diff"] = diff
    return json.dumps(jsonable(doc), indent=1)
