"""summary.json: the summary as strict JSON (non-finite floats as "inf", "-inf", "nan"), plus the
regressions when a baseline was given."""
from __future__ import annotations

import json

from oracles.records import jsonable


def render(summary: dict, regressions: list[str] | None = None) -> str:
    """summary.json's text; "regressions" is present only when a baseline was compared."""
    doc = dict(summary)
    if regressions is not None:
        doc["regressions"] = regressions
    return json.dumps(jsonable(doc), indent=1)
