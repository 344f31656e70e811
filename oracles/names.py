"""The project's fixed vocabularies, in one place and without heavy imports (the pytest plugin reads
them): oracle names, dtypes, the records schema, and the Stage type.

A stage is what one comparison is about: the layer's output ("forward"; "forward_<name>" for each output
of a layer with several, LayerSpec.outputs), the gradient with respect to
one input or parameter ("grad_<name>"), or the gradient with respect to all of them at once ("grad": the
directional oracle's stage, which probes every input and parameter together). A framework-native custom
function (oracles/function.py) adds second order ("grad2_<name>": the gradient with respect to <name> of
<first-order gradients, a random second cotangent>) and forward mode ("jvp": the output's directional
derivative along a random tangent). `Stage` is a `str` (records, test ids and messages keep the
plain text) that knows its parts, so nothing cuts strings apart by position.

>>> s = Stage.grad("W")
>>> s, s.kind, s.wrt, Stage("forward").wrt
('grad_W', 'grad', 'W', None)
>>> h = Stage.forward("h")
>>> h, h.kind, h.is_forward, h.output
('forward_h', 'forward', True, 'h')
>>> Stage.grad2("x").order, Stage.grad2("x").wrt, Stage("jvp").order
(2, 'x', 1)
"""
from __future__ import annotations

#: Every oracle, in the order reports show them.
ORACLES: tuple[str, ...] = ("torch", "jax", "numerical")
#: The O(1) numerical oracle (oracles/directional.py): asked by name, not by default.
DIRECTIONAL = "directional"
#: The exact oracles: frameworks that differentiate the spec's math (the numerical one differentiates
#: the reference's own forward).
FRAMEWORKS: tuple[str, ...] = ("torch", "jax")
#: The dtypes a check runs in, by default both.
DTYPES: tuple[str, ...] = ("float64", "float32")
#: First line of every records file (oracles/records.py writes it, reports/ checks it).
RECORDS_SCHEMA = "oracle-records/1"
#: The outcomes of a comparison or a verdict (oracles/judge.py's Outcome).
OUTCOMES: tuple[str, ...] = ("pass", "fail", "inconclusive", "not-run", "error")
#: What every comparison line of a records file holds, and its JSON type ("number": an int or a float,
#: non-finite ones written "inf"/"-inf"/"nan"); besides, "outcome" (one of OUTCOMES) or, in records
#: written before it existed, "passed" (a bool). A verdict line ({"kind": "verdict"}) holds
#: VERDICT_FIELDS: a check's not-run or inconclusive (oracle, stage), which has no comparison of its own.
RECORD_FIELDS: dict[str, str] = {"layer": "string", "dtype": "string", "stage": "string", "oracle": "string",
                                 "max_abs": "number", "max_rel": "number", "atol": "number", "rtol": "number",
                                 "headroom": "number"}
VERDICT_FIELDS: dict[str, str] = {"layer": "string", "dtype": "string", "stage": "string", "oracle": "string",
                                  "outcome": "string", "reason": "string"}

_GRAD = "grad_"
_GRAD2 = "grad2_"
_FORWARD = "forward_"


class Stage(str):
    """"forward", "forward_<output>", "grad", "grad_<name>", "grad2_<name>" or "jvp"; anything else is a
    ValueError naming the text."""

    __slots__ = ()

    def __new__(cls, text: str) -> "Stage":
        ok = isinstance(text, str) and (text in ("forward", "grad", "jvp") or any(
            text.startswith(p) and len(text) > len(p) for p in (_GRAD, _GRAD2, _FORWARD)))
        if not ok:
            raise ValueError(f"stage {text!r}: expected 'forward', 'forward_<output>', 'grad', 'grad_<name>', "
                             f"'grad2_<name>' or 'jvp'")
        return super().__new__(cls, text)

    @classmethod
    def forward(cls, output: str | None = None) -> "Stage":
        """The stage of the layer's output: "forward", or "forward_<output>" for one of several outputs."""
        return cls("forward" if output is None else _FORWARD + output)

    @classmethod
    def grad(cls, name: str) -> "Stage":
        """The stage of the gradient with respect to input or parameter `name`."""
        return cls(_GRAD + name)

    @classmethod
    def grad2(cls, name: str) -> "Stage":
        """The second-order stage with respect to input `name` (double backward)."""
        return cls(_GRAD2 + name)

    @property
    def is_forward(self) -> bool:
        return self == "forward" or self.startswith(_FORWARD)

    @property
    def output(self) -> str | None:
        """The output this forward stage compares, for a layer with several outputs; None otherwise."""
        return self[len(_FORWARD):] if self.startswith(_FORWARD) else None

    @property
    def kind(self) -> str:
        """"forward", "grad", "grad2" or "jvp" (the tolerance table keys every kind but "forward" as a
        gradient)."""
        if self.is_forward:
            return "forward"
        if self == "jvp":
            return "jvp"
        return "grad2" if self.startswith(_GRAD2) else "grad"

    @property
    def order(self) -> int:
        """0 for the forward, 1 for gradients and the jvp, 2 for second order."""
        return {"forward": 0, "grad2": 2}.get(self.kind, 1)

    @property
    def wrt(self) -> str | None:
        """The input or parameter this gradient is taken with respect to; None for the forward, the jvp
        and the joint gradient."""
        for prefix in (_GRAD2, _GRAD):
            if self.startswith(prefix):
                return self[len(prefix):]
        return None


FORWARD = Stage("forward")
JOINT = Stage("grad")
JVP = Stage("jvp")


def oracle_stages(oracle: str, stages) -> tuple[Stage, ...]:
    """The stages `oracle` answers among a layer's `stages`: the numerical oracles differentiate the
    reference's own forward, so they have no forward of their own and no second order; the directional
    one answers only the joint gradient."""
    if oracle == DIRECTIONAL:
        return (JOINT,)
    return tuple(Stage(s) for s in stages if not (oracle == "numerical" and Stage(s).order != 1))
