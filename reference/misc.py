"""Reference layers: misc."""
from __future__ import annotations

import numpy as np  # noqa: F401

from .layers import Layer  # noqa: F401

__all__: list[str] = []
