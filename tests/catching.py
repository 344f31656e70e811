"""One helper for "this broken layer is caught at these stages" (tinygrad's `helper_test_op` habit): every
test that runs a check on a deliberately broken layer and expects it to fail says so in one line,

    assert_caught(spec, "float64", by=["grad_W"])

`by` names the (oracle, stage) pairs that must fail:

- a list of stages: every oracle of the run (`oracles`, by default all of ORACLES) must fail at each;
- a dict from an oracle, or a tuple of oracles such as FRAMEWORKS, to its list of stages:
  `by={FRAMEWORKS: ["forward"], "numerical": ["grad_x"]}`;
- `any_of("grad_q", "grad_k")` in such a list: that oracle must fail at one of them at least (where the
  first failing example Hypothesis finds decides which gradient shows the bug).

>>> sorted(sorted(g) for g in requirements({"torch": [any_of("grad_x", "grad_y")], "jax": ["grad_x"]}))
[[('jax', 'grad_x')], [('torch', 'grad_x'), ('torch', 'grad_y')]]
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping, NamedTuple, Union

from oracles import run_check
from oracles.names import FRAMEWORKS, ORACLES, Stage


class AnyOf(tuple):
    """Stages of which one at least must fail (for the same oracle)."""

    def __repr__(self) -> str:
        return "any_of" + tuple.__repr__(self)


def any_of(*stages: str) -> AnyOf:
    if len(stages) < 2:
        raise ValueError(f"any_of{stages}: give two stages or more (one stage is just that stage)")
    return AnyOf(Stage(s) for s in stages)


Stages = Iterable[Union[str, AnyOf]]
By = Union[Stages, Mapping[Union[str, tuple], Stages]]


class Broken(NamedTuple):
    """One corpus entry: a broken layer's spec, the dtype it is checked in, and where it must be caught.
    Unpacks as (spec, dtype, by): `assert_caught(*BROKEN[name])`."""

    spec: object
    dtype: str
    by: By


def requirements(by: By, oracles: Iterable[str] = ORACLES) -> list[frozenset]:
    """`by` spelled out: one group of (oracle, stage) pairs per requirement, of which one pair at least
    must fail (a group of one: that pair must fail). A list of stages applies to every one of `oracles`."""
    oracles = tuple(oracles)
    if isinstance(by, Mapping):
        items = [((who,) if isinstance(who, str) else tuple(who), stages) for who, stages in by.items()]
    else:
        items = [(oracles, by)]
    groups = []
    for who, stages in items:
        if isinstance(stages, str):
            raise TypeError(f"stages {stages!r}: give a list of stages, e.g. [{stages!r}]")
        for o in who:
            if o not in oracles:
                raise ValueError(f"oracle {o!r} is not asked in this check (oracles={oracles})")
            for s in stages:
                groups.append(frozenset((o, Stage(a)) for a in (s if isinstance(s, AnyOf) else (s,))))
    if not groups:
        raise ValueError(f"by={by!r} requires nothing: say where the bug must be caught")
    return groups


#: What every failure message must say: where (layer, dtype, stage, oracle, shapes), how much against
#: what tolerance, and how to reproduce it.
MESSAGE_PARTS = ("shapes:", "atol=", "rtol=", "reproduce with")


def assert_caught(spec, dtype: str, by: By, oracles: Iterable[str] | None = None, *, max_examples: int = 25,
                  convention=None, **spec_changes):
    """Run the check on `replace(spec, **spec_changes)` (record=False) and assert that it did not pass,
    that every requirement of `by` failed, that the forward of PyTorch and JAX still passes unless a
    requirement is at the forward (so the verdict points at the gradient), and that the failure message
    says what, where and how much. Returns the CheckResult for further assertions."""
    oracles = ORACLES if oracles is None else tuple(oracles)
    spec = replace(spec, **spec_changes) if spec_changes else spec
    groups = requirements(by, oracles)
    known = set(spec.stages())
    unknown = sorted({s for g in groups for _, s in g} - known)
    if unknown:
        raise ValueError(f"{spec.name}: no stage {unknown}; its stages are {sorted(known)}")
    kw = {} if convention is None else {"convention": convention}
    result = run_check(spec, dtype, oracles, max_examples=max_examples, record=False, **kw)
    assert not result.passed, f"{spec.name} [{dtype}]: the gate passed a broken layer"
    failing = set(result.failing())
    missing = [sorted(g) for g in groups if not g & failing]
    assert not missing, f"{spec.name} [{dtype}]: not caught by {missing}; caught by {sorted(failing)}"
    if not any(s.is_forward for g in groups for _, s in g):
        for o in FRAMEWORKS:
            for f in (o in oracles) * spec.forward_stages():  # one forward stage per output
                assert not result.stage_failed(o, f), result.message(o, f)
    failed = sorted(p for p in failing if result.stage_failed(*p))  # failing() also lists pairs never compared
    assert failed, f"{spec.name} [{dtype}]: nothing failed; not compared: {sorted(failing)}"
    oracle, stage = failed[0]
    msg = result.message(oracle, stage)
    for part in (spec.name, f"[{dtype}]", stage, oracle, *MESSAGE_PARTS):
        assert part in msg, f"message lacks {part!r}:\n{msg}"
    return result
