"""Triage of every mutant that survived the mutation run (see mutation/README.md).

Two verdicts. "equivalent": no input the layer's documented contract allows can tell the mutant from the
original, so the score counts it out. "gap": a real hole; the entry names the test that now closes it,
and stays until a fresh run kills the mutant.

RULES classify whole families of mutants by the shape of their diff (each with its reason); TRIAGE lists
the rest one by one. survivors.py applies both and prints whatever is left untriaged.
"""
from __future__ import annotations

import re

# --- rules: (name, reason, predicate(mutant name, removed lines, added lines)) -------------------------
_PLACEHOLDER = re.compile(r"^self\.\w+ = None$")


def _initial_placeholder(name: str, removed: list[str], added: list[str]) -> bool:
    """`self.x = None` -> `self.x = ""` in a constructor: a cache slot that forward fills before any read."""
    return ("__init__" in name and len(removed) == len(added) == 1 and _PLACEHOLDER.match(removed[0]) is not None
            and added[0] == removed[0].replace("= None", '= ""'))


_NEG = re.compile(r"reshape\(([^()]*)-1([^()]*)\)")


def _negative_size(name: str, removed: list[str], added: list[str]) -> bool:
    """reshape(..., -1, ...) -> reshape(..., -2, ...): NumPy (2.4) reads any negative size as "the rest"."""
    return (len(removed) == len(added) == 1 and _NEG.search(removed[0]) is not None
            and added[0] == _NEG.sub(lambda m: f"reshape({m.group(1)}-2{m.group(2)})", removed[0], count=1))


RULES = [
    ("initial cache slot",
     "the constructor's placeholder for a value forward caches for backward (None -> \"\"); forward "
     "overwrites it before anything reads it, and backward before forward is outside the contract",
     _initial_placeholder),
    ("negative reshape size",
     "reshape(..., -2) is reshape(..., -1) in NumPy: any negative size means 'the remaining size'",
     _negative_size),
]

_CLOSED = "gap, closed by "
TRIAGE: dict[str, tuple[str, str]] = {
    # --- reference/functions.py ---
    "reference.functions.x_cross_entropy_error__mutmut_13": (
        "equivalent", "1-d y: labels reshaped to (1, -1) even when they are one index; _labels_as_indices then "
        "flattens them again (a (1, 1) label row equals a one-hot row only when there is one class, where "
        "both readings give class 0)"),
    "reference.functions.x_cross_entropy_error__mutmut_22": (
        "equivalent", "t.reshape(None) keeps a single label's shape; _labels_as_indices flattens it to (1,) anyway"),
    "reference.functions.x_numerical_gradient__mutmut_7": (
        "equivalent", "the book's nditer only yields indices; writes go through x[i], not the iterator"),
    "reference.functions.x_numerical_gradient__mutmut_10": (
        "equivalent", "as mutmut_7: op_flags dropped, the iterator is never written through"),
    "reference.functions.x__labels_as_indices__mutmut_8": (
        "gap", _CLOSED + "tests/test_reference_functions.py (labels as an (N, 1) column)"),
    # --- reference/layers.py, reference/network.py ---
    "reference.layers.xǁLayerǁgrads__mutmut_5": (
        "gap", _CLOSED + "tests/test_sequential.py::test_grads_before_backward_are_none_and_duck_typed_layers_are_skipped"),
    "reference.network.xǁSequentialǁgrads__mutmut_11": ("gap", _CLOSED + "the same test (a layer without param_names)"),
    "reference.network.xǁSequentialǁgrads__mutmut_14": ("gap", _CLOSED + "the same test"),
    "reference.network.xǁSequentialǁparams__mutmut_8": ("gap", _CLOSED + "the same test"),
    "reference.network.xǁSequentialǁparams__mutmut_11": ("gap", _CLOSED + "the same test"),
    "reference.network.xǁSequentialǁ__init____mutmut_4": (
        "equivalent", "outputs starts as None instead of []: forward assigns a new list before anything reads it"),
    "reference.network.xǁSequentialǁ__init____mutmut_5": (
        "equivalent", "deltas starts as None instead of []: backward assigns a new list before anything reads it"),
    # --- argument checks ---
    "reference.activations.xǁGeluǁ__init____mutmut_8": (
        "gap", _CLOSED + "tests/test_reference_defaults.py::test_bad_arguments_raise_a_clear_error (message checked)"),
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
