"""Where the numerical oracle's one-sided slopes say the forward is not differentiable (numerical.py).

The one-sided slopes (L(v + h) - L(v)) / h and (L(v) - L(v - h)) / h of a smooth function differ by
h |L''| (RATIO h |L''| at RATIO times the step); at a kink they differ by the jump, whatever the step.
"""
from __future__ import annotations

import numpy as np

from .answer import Kinks
from .rounding import RATIO

#: one-sided slopes differing by this fraction of the gradient's scale (or more) mark a kink
KINK_JUMP = 1e-3


def _kinks(est) -> Kinks:
    """Entries where the one-sided slopes jump by KINK_JUMP of the gradient's scale (and by more than four
    times what rounding could make of them) at both steps, and the jump does not grow with the step as
    curvature's would (RATIO x at RATIO times the step): the forward is not differentiable there."""
    scale = np.maximum(np.abs(est.value), float(np.max(np.abs(est.value), initial=0.0)) * 1e-3)
    floor = np.maximum(KINK_JUMP * scale, 4.0 * est.rounding)
    big = (est.jump_h > floor) & (est.jump_2h > floor)
    smooth = np.abs(est.jump_2h - RATIO * est.jump_h) <= 0.25 * RATIO * est.jump_h
    mask = big & ~smooth
    return Kinks(mask=mask, left=np.where(mask, est.left, np.nan), right=np.where(mask, est.right, np.nan))
