"""What an oracle answers on one example (`Answer`), and what the numerical oracle finds about kinks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .names import FORWARD, Stage


@dataclass(frozen=True)
class Kinks:
    """Entries where the forward is not differentiable (one-sided slopes jump), per stage: a mask, and the
    left and right slopes of sum(ct * forward) there (NaN elsewhere)."""

    mask: np.ndarray
    left: np.ndarray
    right: np.ndarray


@dataclass
class Answer:
    """What one oracle said on one example: the output (None for the numerical oracle, which has no
    forward of its own), the gradient per input or parameter name, and the wall time of the call.

    An oracle that knows more about its answer says so per stage: `uncertainty`, a bound on its own
    error entry by entry (the numerical oracle: added to the reference's allowance, and what the judge
    reads to decide whether it could tell); `bounds`, a whole tolerance of its own used instead of the
    table (the directional oracle's probes); `kinks`, entries where the forward is not differentiable;
    `reference`, the reference's side of a question only this oracle asks (the directional oracle's
    projections <g_reference, v>); `notes`, what it found wrong. `careful`, where the oracle has one: a
    second look at the same example that only widens `uncertainty` (the numerical oracle's sixth node),
    asked where the first answer did not pass; careful(stages) looks at those stages only. `sharpen`,
    where the oracle has one: the tries it held back (the numerical oracle's hopeless entries),
    sharpen({stage: allowance without own bound, or None}) -> (grads, uncertainty, kinks) of those stages.
    """

    output: np.ndarray | None
    grads: dict[str, np.ndarray]
    seconds: float
    bounds: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    uncertainty: dict = field(default_factory=dict)
    kinks: dict = field(default_factory=dict)
    careful: Callable[..., dict] | None = field(default=None, repr=False, compare=False)
    sharpen: Callable[[dict], tuple] | None = field(default=None, repr=False, compare=False)

    def by_stage(self) -> dict[str, np.ndarray]:
        """stage -> value: "forward" (when there is an output) and "grad_<name>" per gradient."""
        if isinstance(self.output, dict):  # several outputs: already keyed by stage ("forward_h", ...)
            vals = {Stage(k): np.asarray(v) for k, v in self.output.items()}
        else:
            vals = {} if self.output is None else {FORWARD: np.asarray(self.output)}
        vals.update({Stage.grad(k): np.asarray(v) for k, v in self.grads.items()})
        return vals
