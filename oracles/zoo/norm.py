"""Registry entries for the norm family (see oracles/registry.py for the conventions of an entry)."""
from __future__ import annotations

from ..registry import register  # noqa: F401
