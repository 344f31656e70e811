"""Triage of every mutant of the decision code that survived (mutation/README.md, "Decision code"), in
the style of mutation/triage.py: "equivalent" (no input the code's contract allows tells the mutant from
the original; the score counts it out) or "gap" (a real hole; the entry names the test that closes it and
stays until a fresh run kills the mutant).

    .venv/bin/python mutation/run_decision.py survivors
"""
from __future__ import annotations

import triage  # mutation/triage.py: survivors.py puts mutation/ on the path

RULES: list = []

_DEFAULT = "the argument restated as its own default (dataclass field default None)"
TRIAGE: dict[str, tuple[str, str]] = {
    # --- the careful look and the float32 hidden moves (this stop's run of the new functions) ---
    "oracles.numerical.x__careful__mutmut_4": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__careful__mutmut_10": ("equivalent", "reshape(-2), as mutant 4"),
    "oracles.numerical.x__careful__mutmut_14": ("equivalent", "reshape(-2), as mutant 4"),
    "oracles.numerical.x__careful__mutmut_36": ("equivalent", "reshape(-2, 4), as mutant 4"),
    "oracles.rounding.x_hidden__mutmut_17": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x_sixth_noise__mutmut_16": ("equivalent", "the forwards return float64 (numerical._joined): dtype=None keeps it"),
    "oracles.rounding.x_sixth_noise__mutmut_18": ("equivalent", "as mutant 16"),
    "oracles.numerical.x__refine__mutmut_4": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_20": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_29": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_32": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_35": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_56": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_59": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_66": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.numerical.x__refine__mutmut_67": ("equivalent", "an entry whose bound is exactly the need: a float bound landing exactly on it is a tie of measure zero; either side is sound"),
    "oracles.numerical.x__refine__mutmut_104": ("equivalent", "a refined bound exactly at the need: as mutant 67"),
    # --- oracles/comparison.py: _errors' fast path (everything finite, atol > 0) and its general path give the
    # same numbers wherever the fast one applies; these mutants only send more inputs down the general path ---
    "oracles.comparison.x__errors__mutmut_12": ("equivalent", "np.all(atol > 0) of a float atol is atol > 0"),
    "oracles.comparison.x__errors__mutmut_15": ("equivalent", "atol > 1: float atols at or below 1 take the general path, same numbers"),
    "oracles.comparison.x__errors__mutmut_16": ("equivalent", "np.all(None) is False: array atols take the general path, same numbers"),
    "oracles.comparison.x__errors__mutmut_18": ("equivalent", "atol > 1: array atols take the general path, same numbers"),
    "oracles.comparison.x__errors__mutmut_21": ("equivalent", "np.abs into a new array instead of in place: same values"),
    "oracles.comparison.x__errors__mutmut_23": ("equivalent", "as mutant 21"),
    "oracles.comparison.x_measure__mutmut_7": ("equivalent", "float(np.max(atol)) of a float atol is that float"),
    "oracles.comparison.x_measure__mutmut_57": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.comparison.x_measure__mutmut_58": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.comparison.x_measure__mutmut_90": (
        "equivalent", "problems left out of an empty measurement: an empty reference can have none (the dtype and "
        "non-finite checks need entries)"),
    "oracles.comparison.x_measure__mutmut_91": ("equivalent", "compared=0 restated as the field's default"),
    "oracles.comparison.x_measure__mutmut_101": (
        "equivalent", "compared counts entries finite on either side: it decides only when the values are within "
        "tolerance, and then an entry finite on one side only cannot exist (its error is infinite)"),
    "oracles.comparison.x_measure__mutmut_105": ("equivalent", "a float64 copy instead of the array itself: same values"),
    "oracles.comparison.x_measure__mutmut_106": ("equivalent", "the array itself instead of a float64 copy: _errors promotes it against the float64 side"),
    "oracles.comparison.x_measure__mutmut_107": ("equivalent", "as 105/106 (copy for float64, the float32 array kept: promoted in _errors)"),
    "oracles.comparison.x_measure__mutmut_108": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.comparison.x_measure__mutmut_110": ("equivalent", "as mutant 105, for the oracle's array"),
    "oracles.comparison.x_measure__mutmut_111": (
        "equivalent", "a float32 oracle array kept: its allowance rtol*|e| rounds to float32 (relative 6e-8 of a "
        "tolerance), which moves a verdict only for an error within 6e-8 of the tolerance itself"),
    "oracles.comparison.x_measure__mutmut_112": ("equivalent", "as mutant 111"),
    "oracles.comparison.x_measure__mutmut_113": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.comparison.x_measure__mutmut_122": ("equivalent", "np.dtype(None) is float64"),
    "oracles.comparison.x__errors__mutmut_104": (
        "equivalent", "np.where(None, inf, err / allowed): allowed went through nan_to_num, so it is finite (inf -> "
        "the largest float) and err / allowed is inf wherever err is"),
    "oracles.comparison.x__errors__mutmut_84": ("equivalent", "nan_to_num's default is nan=0.0 already"),
    "oracles.comparison.x__errors__mutmut_87": (
        "equivalent", "a NaN oracle allowing 1.0 instead of 0: its entries' error is NaN, read as infinite, whose "
        "ratio is infinite whatever is allowed"),
    "oracles.comparison.x_measure__mutmut_92": ("equivalent", "size=0 restated as the field's default"),
    "oracles.comparison.x_measure__mutmut_132": (
        "equivalent", "`and` instead of `or`: for float64 and float32 (the only dtypes a check accepts, validate.py) "
        "both give the same tiny"),
    "oracles.comparison.x_measure__mutmut_133": ("equivalent", "_TINY.get(None): the fallback computes the same tiny"),
    "oracles.comparison.x_measure__mutmut_134": (
        "equivalent", "the fallback is reached only for float kinds other than float64/float32, which no check accepts"),
    "oracles.comparison.x_measure__mutmut_135": ("equivalent", "as mutant 134"),
    # --- oracles/judge.py ---
    "oracles.judge.x__build__mutmut_81": (
        "equivalent", "reference_value kept when there is no worst index: measure sets both or neither (None)"),
    "oracles.judge.x__build__mutmut_83": (
        "equivalent", "oracle_value kept when there is no worst index: measure sets both or neither (None)"),
    "oracles.judge.x__undecidable__mutmut_19": (
        "equivalent", "the reason for arrays NumPy cannot read (ragged): measure reads them next and raises the same error"),
    "oracles.judge.x_missing__mutmut_2": (
        "equivalent", "float(np.max(atol)) of a float atol is that float"),
    "oracles.judge.x_judge_example__mutmut_67": (
        "equivalent", "undecided = None instead of \"\": every later test of it is a truth test"),
    "oracles.judge.x_judge_example__mutmut_130": (
        "equivalent", "repro None instead of \"\" per example: with_repro replaces any falsy repro of the kept "
        "failure by its case's snippet when the check is decided; passing comparisons store \"\" regardless"),
    "oracles.judge.x_with_repro__mutmut_1": (
        "equivalent", "the repro recomputed even when present: Case.repro() is deterministic (same snippet), and the "
        "judge leaves it empty on every example anyway"),
    "oracles.judge.x_decide__mutmut_91": (
        "equivalent", "failure=None dropped from the inconclusive Verdict: None is the field's default"),
    # --- oracles/budget.py ---
    "oracles.budget.x_envelope__mutmut_25": (
        "equivalent", "one more slot in the octave table: indices go up to octave.max() + 2, the extra one is never read"),
    "oracles.budget.x_measured_noise__mutmut_19": (
        "equivalent", "truth read without float64: every truth is a float64 run (PyTorch in float64, a network's float64 pass)"),
    "oracles.budget.x_measured_noise__mutmut_21": ("equivalent", "as mutant 19"),
    "oracles.budget.x_measured_noise__mutmut_33": (
        "equivalent", "an answer read without float64: subtracting the float64 truth makes float64 anyway"),
    "oracles.budget.x_measured_noise__mutmut_35": ("equivalent", "as mutant 33"),
    "oracles.budget.x_smooth_only__mutmut_12": (
        "equivalent", "truth read without float64: the truth and the moved answer are float64 runs (float64_noise, float32_noise)"),
    "oracles.budget.x_smooth_only__mutmut_14": ("equivalent", "as mutant 12"),
    "oracles.budget.x_smooth_only__mutmut_16": ("equivalent", "as mutant 12 (the moved answer)"),
    "oracles.budget.x_smooth_only__mutmut_18": ("equivalent", "as mutant 12 (the moved answer)"),
    # --- oracles/tolerances.py ---
    "oracles.tolerances.x_resolution_needed__mutmut_8": (
        "equivalent", "errstate(invalid=None): nothing in that block can be an invalid operation (abs, isfinite, "
        "a max over finite values)"),
    # --- oracles/undecided.py ---
    "oracles.undecided.x__allowed__mutmut_11": (
        "equivalent", "np.asarray(atol) without float64: an atol is a float or the budget's float64 array"),
    "oracles.undecided.x__allowed__mutmut_13": (
        "equivalent", "as mutant 11 (np.asarray(atol) without dtype)"),
    "oracles.undecided.x__allowed__mutmut_17": (
        "equivalent", "np.asarray(expected) without float64: its one caller passes float64 already"),
    "oracles.undecided.x__allowed__mutmut_19": (
        "equivalent", "as mutant 17"),
    "oracles.undecided.x_undecided_reason__mutmut_6": (
        "equivalent", "expected read without float64: the numerical and directional oracles' values are float64"),
    "oracles.undecided.x_undecided_reason__mutmut_8": ("equivalent", "as mutant 6"),
    "oracles.undecided.x_undecided_reason__mutmut_15": (
        "equivalent", "own read without float64: every bound (numerical.py, directional.py) is a float64 array"),
    "oracles.undecided.x_undecided_reason__mutmut_17": ("equivalent", "as mutant 15"),
    "oracles.undecided.x_undecided_reason__mutmut_57": (
        "equivalent", "loose.reshape(None) keeps the shape; np.flatnonzero flattens it anyway"),
    "oracles.undecided.x_undecided_reason__mutmut_59": (
        "equivalent", "reshape(-2) is reshape(-1) in NumPy (any negative size is 'the rest')"),
    "oracles.undecided.x_undecided_reason__mutmut_62": (
        "equivalent", "errstate(divide=None): the divisor is at least 1e-300, never zero"),
    "oracles.undecided.x_undecided_reason__mutmut_65": ("equivalent", "as mutant 62 (divide left out)"),
    "oracles.undecided.x_undecided_reason__mutmut_77": ("equivalent", "reshape(None) before argmax: argmax flattens anyway"),
    "oracles.undecided.x_undecided_reason__mutmut_96": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.undecided.x_undecided_reason__mutmut_117": (
        "equivalent", "reference read without float64: subtracting the float64 expected makes float64 anyway"),
    "oracles.undecided.x_undecided_reason__mutmut_119": ("equivalent", "as mutant 117"),
    "oracles.undecided.x_undecided_reason__mutmut_137": ("equivalent", "as mutant 57 (reshape(None), flatnonzero)"),
    "oracles.undecided.x_undecided_reason__mutmut_139": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.undecided.x__scale__mutmut_13": (
        "equivalent", "np.size(None) is 1: empty stages are no longer skipped, and their max with initial=0 adds 0"),
    # --- oracles/numerical.py ---
    "oracles.rounding.x__rho__mutmut_9": (
        "equivalent", "the cotangent has the output's shape (one cotangent entry per output entry), so broadcasting "
        "with up.shape alone, or with np.shape(None) = (), gives up's shape"),
    "oracles.rounding.x__rho__mutmut_10": ("equivalent", "as mutant 9"),
    "oracles.rounding.x__rho__mutmut_11": ("equivalent", "as mutant 9"),
    # _constant: its early test (the pair at 8x moved nothing) only saves _probe the same pair; _probe then answers
    # "unmoved" and the branch under `if not p[7]` returns the same (0, rounding at 8x). In the source that branch is
    # unreachable (after the early test, _probe always reports a move or an infinite bound)
    "oracles.numerical.x__constant__mutmut_1": ("equivalent", "first = None: _probe takes the same pair itself (see above)"),
    "oracles.numerical.x__constant__mutmut_12": ("equivalent", "the early test never taken: same answer from the branch below"),
    "oracles.numerical.x__constant__mutmut_14": ("equivalent", "_unmoved(first, None) is False: same answer from the branch below"),
    "oracles.numerical.x__constant__mutmut_27": ("equivalent", "_rho(ct, down, down): the pair moved nothing, up == down"),
    "oracles.numerical.x__constant__mutmut_43": ("equivalent", "first=None: _probe recomputes the same pair (forward is deterministic)"),
    "oracles.numerical.x__constant__mutmut_51": ("equivalent", "as mutant 43"),
    "oracles.numerical.x__constant__mutmut_55": ("equivalent", "inside the branch unreachable in the source (see above)"),
    "oracles.numerical.x__constant__mutmut_56": ("equivalent", "inside the branch unreachable in the source"),
    "oracles.numerical.x__constant__mutmut_57": ("equivalent", "inside the branch unreachable in the source"),
    "oracles.numerical.x__constant__mutmut_58": ("equivalent", "inside the branch unreachable in the source"),
    "oracles.numerical.x__constant__mutmut_59": ("equivalent", "inside the branch unreachable in the source"),
    "oracles.numerical.x__constant__mutmut_69": (
        "equivalent", "an 8th number in the tuple: its one caller zips it with the 7 fields and drops the extra"),
    "oracles.rounding.x__r__mutmut_5": (
        "equivalent", "np.ones(..., dtype=None): float ones instead of True, np.where reads them the same"),
    "oracles.rounding.x__r__mutmut_7": (
        "equivalent", "np.ones(...) without dtype: float ones instead of True, np.where reads them the same"),
    "oracles.rounding.x__r__mutmut_8": (
        "equivalent", "np.ones(np.shape(None)): a scalar True, which broadcasts to every entry"),
    "oracles.rounding.x_granularity__mutmut_3": (
        "equivalent", "no float64 conversion: a value's last significant bit does not depend on the float type "
        "holding it (float32 mantissas scaled by 2^53 stay exact; integers go through frexp as float64)"),
    "oracles.rounding.x_granularity__mutmut_5": (
        "equivalent", "as mutant 3 (np.asarray without dtype)"),
    "oracles.rounding.x_granularity__mutmut_16": (
        "equivalent", "frexp(1.0) instead of frexp(0.0) where y is not finite: those entries become inf afterwards"),
    "oracles.rounding.x_granularity__mutmut_25": (
        "equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x__noise_weights__mutmut_11": (
        "equivalent", "2 / prod instead of 1 / prod: the weights are scaled to sum |w| = 1 right after"),
    "oracles.numerical.x__better_step__mutmut_26": (
        "equivalent", "no upper clip: the ratio is never above REFINE^2 = 64 (the optimum is taken only where "
        "truncation > rounding, where it is below cbrt(1/2))"),
    "oracles.numerical.x__better_step__mutmut_33": (
        "equivalent", "nan_to_num without nan=1.0: the ratio is never NaN (a NaN comparison picks REFINE^2, and "
        "the cube root is taken only where truncation > rounding, both then ordered numbers)"),
    "oracles.numerical.x__better_step__mutmut_34": (
        "equivalent", "nan=2.0 instead of 1.0: the ratio is never NaN (see mutant 33)"),
}


def classify(name: str, diff_text: str) -> tuple[str, str] | None:
    """(verdict, reason) for a surviving mutant, or None if nobody has looked at it yet."""
    return triage.classify(name, diff_text, TRIAGE, RULES)
