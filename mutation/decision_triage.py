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
    "oracles.rounding.x_sixth_noise__mutmut_16": ("equivalent", "the forwards return float64 (numerical._joined): dtype=None keeps it"),
    "oracles.rounding.x_sixth_noise__mutmut_18": ("equivalent", "as mutant 16"),
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
    # --- the batched probe (oracles/stencil.py), rho_many / hidden_many / computes_in (rounding.py) and the refinement
    # rewritten in rounds (numerical._refine, _plans, _constants): the third run, 2026-11-30 ---
    "oracles.stencil.x__fields__mutmut_8": ("equivalent", "reshape(-2): numpy reads any negative size as the unknown one"),
    "oracles.stencil.x__fields__mutmut_14": ("equivalent", "reshape(-2), as mutant 8"),
    "oracles.stencil.x__fields__mutmut_22": ("equivalent", "reshape(-2), as mutant 8"),
    "oracles.stencil.x__alike__mutmut_1": (
        "equivalent", "_alike False sends alike outputs down _common's path, one entry at a time: the same fields "
        "(test_outputs_of_another_shape_are_differenced_as_they_broadcast_or_named), only slower"),
    # _alike rewritten (sixth run, 2026-12-01): 3 and 4 re-triaged; 5, 6, 8, 9, 10 killed by
    # test_evaluations_of_another_shape_are_named_whichever_nodes_they_are
    "oracles.stencil.x__alike__mutmut_3": (
        "equivalent", "np.shape(None) is (): _alike False unless the centre is 0-d, and then the cotangent (drawn for that "
        "output) is 0-d too: as mutant 1"),
    "oracles.stencil.x__alike__mutmut_4": (
        "equivalent", "the cotangent always has the centre's shape (it is drawn for that output): != makes _alike False "
        "always, as mutant 1"),
    "oracles.stencil.x__nothing__mutmut_7": (
        "equivalent", "the noise field of an estimate no output supports is read only by numerical._careful, which "
        "skips entries whose step is NaN, as _nothing's is"),
    "oracles.stencil.x__nothing__mutmut_9": ("equivalent", "the sums field of _nothing: read only by _careful, as mutant 7"),
    "oracles.rounding.x__rho__mutmut_3": (
        "equivalent", "a None centre broadcast along: the wrapper passes None on when center is None all the same"),
    "oracles.rounding.x__rho__mutmut_15": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.rounding.x_rho_many__mutmut_26": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x_rho_many__mutmut_53": ("equivalent", "axis=+1 of the (k, M) rows is axis=-1"),
    "oracles.rounding.x_hidden_many__mutmut_5": ("equivalent", "up.shape[:+1] of the (k, M) rows is up.shape[:-1]"),
    "oracles.rounding.x_hidden_many__mutmut_8": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x_hidden_many__mutmut_26": ("equivalent", "axis=+1 of the (k, M) rows is axis=-1"),
    "oracles.rounding.x_computes_in__mutmut_17": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x_computes_in__mutmut_21": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x_computes_in__mutmut_89": ("equivalent", "astype(None) is astype(float64)"),
    "oracles.rounding.x_computes_in__mutmut_41": (
        "equivalent", "every move down instead of up: the directions are a convention (a float32 layer rounds a quarter "
        "spacing away either way; the cancelling cases cancel both ways, tested)"),
    "oracles.rounding.x_computes_in__mutmut_43": (
        "equivalent", "sizes 1/r in [0.83, 1.25] instead of r: still random, a quarter of them still below half a spacing"),
    "oracles.rounding.x_computes_in__mutmut_70": ("equivalent", "2,501 spacings instead of 2,500: any large move will do"),
    "oracles.rounding.x__random_direction__mutmut_3": ("equivalent", "another fixed seed: another random direction"),
    "oracles.rounding.x__random_direction__mutmut_12": ("equivalent", "<= 0.5 instead of < 0.5 of a uniform draw"),
    "oracles.numerical.x__plans__mutmut_12": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__plans__mutmut_15": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__plans__mutmut_18": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__constants__mutmut_5": (
        "equivalent", "still_rounding computed also when there is no entry: a value nothing reads (no forward)"),
    "oracles.numerical.x__constants__mutmut_7": ("equivalent", "1.0 instead of 0.0 where there is no entry to read it"),
    "oracles.numerical.x__fields__mutmut_6": ("equivalent", "reshape(-2, 4) is reshape(-1, 4)"),
    "oracles.numerical.x__flat__mutmut_6": (
        "equivalent", "left or right NaN: _nothing sets both, a probe that moved an output neither"),
    "oracles.numerical.x__refine__mutmut_1": (
        "equivalent", "defer's default True: never read, every caller passes defer (estimate, the tests)"),
    "oracles.numerical.x__refine__mutmut_5": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__refine__mutmut_18": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__refine__mutmut_24": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__refine__mutmut_31": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__refine__mutmut_34": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__refine__mutmut_25": (
        "equivalent", "an entry whose bound is exactly the need: a float bound landing exactly on it is a tie of "
        "measure zero; either side is sound"),
    "oracles.numerical.x__refine__mutmut_16": (
        "gap", "the need without the example's scale: every pinned case has one gradient array whose largest entry "
        "is the example's (a pinned case with two arrays of scales 1e-3 and 1e3 would kill it)"),
    "oracles.numerical.x__refine__mutmut_27": (
        "gap", "dead with |: an entry that moved with value exactly 0 is refined as a dead one (largest step first, "
        "stopped at a flat try): spending, and which estimate is kept; no pinned entry has value 0 and moved"),
    "oracles.numerical.x__flat__mutmut_1": ("gap", "value 0 or NaN left: as _tried mutant 36, through _flat"),
    "oracles.numerical.x__out_of_reach__mutmut_9": (
        "equivalent", "h >= 0 instead of h > 0: at h = 0 the predicted rounding is 0, never above a need (>= 1e-12)"),
    "oracles.numerical.x__sharpen__mutmut_4": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__sharpen__mutmut_14": (
        "equivalent", "base read without float64: the judge's allowances are float64 already; comparisons read any dtype alike"),
    "oracles.numerical.x__sharpen__mutmut_16": ("equivalent", "as mutant 14 (np.asarray without dtype)"),
    "oracles.numerical.x__sharpen__mutmut_18": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__sharpen__mutmut_22": ("equivalent", "reshape(-2) is reshape(-1)"),
    "oracles.numerical.x__sharpen__mutmut_27": (
        "equivalent", "|value| >= bound instead of >: a value exactly at its bound, a tie of measure zero; either side is sound"),
    "oracles.numerical.x__sharpen__mutmut_56": (
        "equivalent", "np.zeros(..., dtype=None): float zeros instead of False, read as false alike (no entry is dead)"),
    "oracles.numerical.x__sharpen__mutmut_58": ("equivalent", "as mutant 56 (np.zeros without dtype)"),
    "oracles.numerical.x__tried__mutmut_13": ("equivalent", "one round more when nothing is to be tried: no entry in it"),
    "oracles.numerical.x__tried__mutmut_35": (
        "equivalent", "a refined bound exactly at the need: a tie of measure zero; either side is sound"),
    "oracles.numerical.x__tried__mutmut_36": (
        "gap", "a live entry stopped at a flat try: spending, and which estimate is kept; no pinned live entry "
        "meets a flat try before the need (was _refine 84 before the loop moved to _tried)"),
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
