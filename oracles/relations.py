"""Relations between sizes: the shape rules a researcher writes instead of a fake size name.

A relation compares two sums of products of size names and integer literals, with one of
<=, <, >=, >, ==, !=:

    "k <= h"            a kernel no larger than its input
    "T >= w"            a sequence at least as long as a window
    "h + 2*p >= k"      with padding
    "o == 2*i"          (a shape entry "2*i" says the same without a relation)

`LayerSpec.relations` holds the strings; `oracles/validate.py` parses them before anything is drawn (a bad
one is a one-line ValueError naming it) and `oracles/strategies.py` draws only layouts that satisfy all of
them (`satisfying`).

>>> r = parse_relation("h + 2*p >= k")
>>> r.names(), r.holds({"h": 2, "p": 1, "k": 3}), r.holds({"h": 1, "p": 0, "k": 3})
(['h', 'p', 'k'], True, False)
"""
from __future__ import annotations

import itertools
import math
import operator
import random
import re
from dataclasses import dataclass

from .spec import factors

OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}
_OP = re.compile(r"<=|>=|==|!=|<|>")
#: Above this many combinations of the size pools, satisfying() samples instead of enumerating.
ENUMERATE_MAX = 100_000
SAMPLES = 20_000

Term = tuple[int, tuple]  # (sign, factors): -2*h is (-1, (2, "h"))


@dataclass(frozen=True)
class Relation:
    """One parsed relation: `left op right`, each side a tuple of signed products."""

    text: str
    left: tuple[Term, ...]
    op: str
    right: tuple[Term, ...]

    def names(self) -> list[str]:
        """The size names it uses, in order of appearance."""
        found = [f for side in (self.left, self.right) for _, fs in side for f in fs if isinstance(f, str)]
        return list(dict.fromkeys(found))

    def holds(self, sizes: dict[str, int]) -> bool:
        return OPS[self.op](_value(self.left, sizes), _value(self.right, sizes))


def _value(terms, sizes) -> int:
    return sum(sign * math.prod(f if isinstance(f, int) else sizes[f] for f in fs) for sign, fs in terms)


def _side(text: str, whole: str) -> tuple[Term, ...]:
    parts = re.split(r"([+-])", text.replace(" ", ""))
    if not parts[0]:  # a leading sign
        parts = parts[1:]
    else:
        parts = ["+"] + parts
    terms = []
    for sign, term in zip(parts[0::2], parts[1::2]):
        if not term:
            raise ValueError(f"relation {whole!r}: an empty term next to {sign!r}")
        try:
            terms.append((1 if sign == "+" else -1, factors(term)))
        except ValueError as e:
            raise ValueError(f"relation {whole!r}: {e}") from None
    if not terms:
        raise ValueError(f"relation {whole!r}: a side is empty; write e.g. 'k <= h'")
    return tuple(terms)


def parse_relation(text) -> Relation:
    """'k <= h' -> Relation; anything malformed is a one-line ValueError (TypeError if not a str)."""
    if not isinstance(text, str):
        raise TypeError(f"relation {text!r}: give a string such as 'k <= h'")
    ops = _OP.findall(text)
    if len(ops) != 1:
        raise ValueError(f"relation {text!r}: expected one comparison (one of {', '.join(OPS)}) between two "
                         f"sums of sizes, like 'k <= h' or 'h + 2*p >= k'")
    left, right = _OP.split(text)
    return Relation(text, _side(left, text), ops[0], _side(right, text))


def satisfying(names: list[str], pools: dict[str, tuple[int, ...]], relations: list[Relation],
               seed: str = "") -> list[dict[str, int]]:
    """Every assignment of `names` from their `pools` under which all `relations` hold (a seeded sample of
    SAMPLES assignments when there are more than ENUMERATE_MAX combinations), in enumeration order."""
    if math.prod(len(pools[n]) for n in names) <= ENUMERATE_MAX:
        combos = itertools.product(*(pools[n] for n in names))
    else:
        rng = random.Random(seed)
        combos = (tuple(rng.choice(pools[n]) for n in names) for _ in range(SAMPLES))
    out, seen = [], set()
    for combo in combos:
        sizes = dict(zip(names, combo))
        if combo not in seen and all(r.holds(sizes) for r in relations):
            seen.add(combo)
            out.append(sizes)
    return out
