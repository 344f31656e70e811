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
_PLACEHOLDER = re.compile(r"^self\.\w+( = self\.\w+)* = None$")


def _initial_placeholder(name: str, removed: list[str], added: list[str]) -> bool:
    """`self.x = None` (or `self.a = self.b = None`) -> `= ""` in a constructor: a cache slot that
    forward fills before any read."""
    return ("__init__" in name and len(removed) == len(added) == 1 and _PLACEHOLDER.match(removed[0]) is not None
            and added[0] == removed[0].replace("= None", '= ""'))


_NEG = re.compile(r"reshape\(([^()]*)-1([^()]*)\)")


def _negative_size(name: str, removed: list[str], added: list[str]) -> bool:
    """reshape(..., -1, ...) -> reshape(..., -2, ...) at one of the line's reshapes: NumPy (2.4) reads any
    negative size as "the rest"."""
    if len(removed) != 1 or len(added) != 1:
        return False
    line = removed[0]
    for m in _NEG.finditer(line):
        if added[0] == line[:m.start()] + f"reshape({m.group(1)}-2{m.group(2)})" + line[m.end():]:
            return True
    return False


RULES = [
    ("initial cache slot",
     "the constructor's placeholder for a value forward caches for backward (None -> \"\"); forward "
     "overwrites it before anything reads it, and backward before forward is outside the contract",
     _initial_placeholder),
    ("negative reshape size",
     "reshape(..., -2) is reshape(..., -1) in NumPy: any negative size means 'the remaining size'",
     _negative_size),
]

_CLOSED = "closed by "
_SEAM = ("`<` vs `<=` at a point where both branches have the same value (and, for the losses, the same "
         "slope: they are C1 there), so no input tells them apart")
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
    "reference.functions.x_sigmoid__mutmut_11": ("equivalent", "sigmoid's two branches " + _SEAM + " (both 0.5 at 0)"),
    # --- reference/network.py ---
    "reference.network.xǁSequentialǁ__init____mutmut_4": (
        "equivalent", "outputs starts as None instead of []: forward assigns a new list before anything reads it"),
    "reference.network.xǁSequentialǁ__init____mutmut_5": (
        "equivalent", "deltas starts as None instead of []: backward assigns a new list before anything reads it"),
    # --- reference/activations.py ---
    "reference.activations.xǁEluǁforward__mutmut_17": (
        "equivalent", "expm1(min(x, 1)) instead of expm1(min(x, 0)): differs only where x > 0, which np.where "
        "discards, and min(x, 1) still keeps exp from overflowing"),
    "reference.activations.xǁEluǁforward__mutmut_9": ("equivalent", "Elu's forward: `x > 0` vs `x >= 0`, " + _SEAM + " (0 at 0)"),
    # --- reference/attention.py ---
    "reference.attention.x_causal_mask__mutmut_6": (
        "equivalent", "a float 0/1 mask instead of a bool one: its only use is np.where, which reads nonzero as True"),
    "reference.attention.x_causal_mask__mutmut_8": ("equivalent", "as mutmut_6 (dtype argument dropped: float)"),
    "reference.attention.xǁMultiHeadAttentionǁforward__mutmut_16": (
        "equivalent", "x Wk - bk instead of + bk: a key bias adds q . bk to every score of a query, which the "
        "softmax cancels; the output and every gradient are unchanged, and dbk is 0 either way"),
    "reference.attention.xǁScaledDotProductAttentionǁforward__mutmut_49": (
        "equivalent", "softmax(scores) without axis=-1: -1 is softmax's default"),
    # --- reference/conv.py ---
    "reference.conv.x_col2im__mutmut_65": (
        "equivalent", "a padded buffer 3*pad rows tall instead of 2*pad: the extra rows are never written and "
        "are cut off with the padding"),
    "reference.conv.x_col2im__mutmut_68": ("equivalent", "as col2im mutmut_65, for the columns"),
    "reference.conv.x_im2col__mutmut_31": (
        "equivalent", "the padded image in float64 instead of x's dtype: values round-trip exactly into the "
        "column matrix, which keeps x's dtype"),
    "reference.conv.x_im2col__mutmut_34": ("equivalent", "as im2col mutmut_31 (dtype argument dropped: float64)"),
    "reference.conv.x_im2col__mutmut_37": (
        "equivalent", "a padded image 3*pad rows tall: the extra rows hold the fill value and no window reads them"),
    "reference.conv.x_im2col__mutmut_40": ("equivalent", "as im2col mutmut_37, for the columns"),
    "reference.conv.xǁAvgPool2dǁbackward__mutmut_26": (
        "equivalent", "np.repeat(..., axis=None) of an (M, 1) column: the same values in the same order, "
        "reshaped by _unwindows"),
    "reference.conv.xǁAvgPool2dǁbackward__mutmut_29": ("equivalent", "as mutmut_26 (axis argument dropped)"),
    "reference.conv.xǁ_Pool2dǁ_unwindows__mutmut_17": (
        "equivalent", "dwin.reshape(-1) instead of (windows, -1): col2im reshapes to (N, out_h, out_w, C, k, k) first"),
    "reference.conv.xǁConv2dǁbackward__mutmut_77": ("equivalent", "np.concatenate(dW) without axis=0: 0 is the default"),
    # --- reference/losses.py: the C1 seams of Huber and smooth-L1 ---
    "reference.losses.xǁHuberLossǁforward__mutmut_12": ("equivalent", "Huber forward " + _SEAM),
    "reference.losses.xǁHuberLossǁbackward__mutmut_11": ("equivalent", "Huber backward " + _SEAM),
    "reference.losses.xǁSmoothL1Lossǁforward__mutmut_12": ("equivalent", "smooth-L1 forward " + _SEAM),
    "reference.losses.xǁSmoothL1Lossǁbackward__mutmut_11": ("equivalent", "smooth-L1 backward " + _SEAM),
    # --- reference/misc.py ---
    "reference.misc.xǁDropoutǁforward__mutmut_7": (
        "equivalent", "keep where u > p instead of u >= p for u uniform in [0, 1): differs only when u == p "
        "exactly (probability ~2^-53 per unit), invisible to any test"),
    # --- reference/recurrent.py ---
    "reference.recurrent.xǁRNNǁforward__mutmut_8": (
        "equivalent", "Wh.shape[1] instead of Wh.shape[0]: Wh is (H, H), square by construction"),
}


def classify(name: str, diff_text: str, triage: dict | None = None, rules: list | None = None) -> tuple[str, str] | None:
    """(verdict, reason) for a surviving mutant, or None if nobody has looked at it yet. `triage` and
    `rules`: another table's (mutation/decision_triage.py), this module's by default."""
    triage, rules = TRIAGE if triage is None else triage, RULES if rules is None else rules
    if name in triage:
        return triage[name]
    removed = [ln[1:].strip() for ln in diff_text.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:].strip() for ln in diff_text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    for rule, reason, pred in rules:
        if pred(name, removed, added):
            return "equivalent", f"{rule}: {reason}"
    return None
