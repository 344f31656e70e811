"""What a custom function can get wrong besides its values, found before and during a check.

- `probe_structure`: once, before anything is drawn, on one deterministic example: a forward that returns
  a pytree, a backward or bwd rule returning the wrong number of gradients or a float cotangent for an
  integer input are one-line errors naming the stage and order (nothing can be compared); whether JAX
  can differentiate a custom_vjp rule (second order not applicable otherwise).
- `torch_hygiene`: per example, for a torch.autograd.Function: a backward that gives something else when
  called a second time on the same graph (it changed a saved tensor or ctx state in place), and a
  backward that breaks or changes when only some inputs require grad (ctx.needs_input_grad). Inputs
  mutated in place and nondeterminism are found by the one check path (reference_run) for every layer
  alike. An output aliasing an input is no hazard in a Function: PyTorch makes such an output a view and
  refuses in-place changes to it (tests/test_check_function.py shows both), so it is not reported.
"""
from __future__ import annotations

import numpy as np

from .function_adapt import BadFunction, _first_line
from .names import Stage


def _max_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    with np.errstate(invalid="ignore"):
        d = np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.abs(a - b))
    return float(np.nan_to_num(d, nan=np.inf).max(initial=0.0))


def torch_hygiene(ad, arrays, diff, ct, names) -> dict[str, list[str]]:
    """stage -> findings (see the module docstring); a backward that raises here was already reported."""
    import torch

    notes: dict[str, list[str]] = {}
    ts = ad.tensors(arrays, diff)
    out = ad.call(ts)
    try:
        first = ad.raw_backward(out, np.array(ct, copy=True), ts)
    except Exception:
        return notes
    try:
        second = ad.raw_backward(out, np.array(ct, copy=True), ts)
        for i in diff:
            d = _max_diff(first[i].detach().numpy(), second[i].detach().numpy()) if first[i] is not None else 0.0
            if d > 0:
                notes.setdefault(Stage.grad(names[i]), []).append(
                    f"backward gave a different gradient when called a second time on the same graph (max "
                    f"difference {d:.3g}): it changes a saved tensor or ctx state in place")
    except Exception as e:
        for i in diff:
            notes.setdefault(Stage.grad(names[i]), []).append(
                f"backward raised when called a second time on the same graph ({_first_line(e)}): it changes "
                "what it saved in place")
    if len(diff) < 2:
        return notes
    for i in diff:  # only input i requires grad: ctx.needs_input_grad is True for it alone
        stage, flags = Stage.grad(names[i]), tuple(j == i for j in range(len(arrays)))
        try:
            one = ad.tensors(arrays, [i])
            g, = torch.autograd.grad(ad.call(one), [one[i]], torch.from_numpy(np.array(ct, copy=True)))
            raw = None if first[i] is None else first[i].detach().numpy()
            d = _max_diff(g.detach().numpy(), raw) if raw is not None and raw.shape == tuple(g.shape) else 0.0
            tol = 1e-12 + 1e-9 * float(np.abs(g.detach().numpy()).max(initial=0.0))
            if d > tol * (1e4 if g.dtype == torch.float32 else 1.0):
                notes.setdefault(stage, []).append(
                    f"with only {names[i]!r} requiring grad (ctx.needs_input_grad={flags}) backward gave a "
                    f"different {stage} (max difference {d:.3g}): it reads needs_input_grad at the wrong position")
        except Exception as e:
            notes.setdefault(stage, []).append(
                f"with only {names[i]!r} requiring grad (ctx.needs_input_grad={flags}) the gradient raised "
                f"{_first_line(e)}: backward must work when some inputs do not require grad")
    return notes


def probe_structure(ad, arrays, diff, ct, names) -> None:
    """Raise a one-line error for a structurally broken function (see the module docstring); mark second
    order not applicable where JAX cannot differentiate a custom_vjp rule."""
    where = f"{ad.name}: grad (order 1)"
    layer = ad.layer(diff)
    layer.forward(*[np.array(a, copy=True) for a in arrays])  # a pytree output raises its own one-line error
    if ad.framework == "torch":
        try:
            layer.backward(np.array(ct, copy=True))
        except BadFunction as e:
            raise BadFunction(f"{where}: {e}") from None
        return
    if ad.kind == "jax.custom_vjp" and not getattr(ad.fn, "nondiff_argnums", ()):
        _check_bwd(ad, arrays, ct, names, where)
    if "grad2" not in ad.not_applicable:
        try:
            ad.second_order(arrays, diff, ct, [np.ones_like(arrays[i]) for i in diff])
        except Exception as e:
            ad.not_applicable["grad2"] = f"JAX cannot differentiate the rule ({_first_line(e)})"


def _check_bwd(ad, arrays, ct, names, where: str) -> None:
    """The bwd rule's raw return value: one cotangent per primal argument, None (or float0) for integers."""
    n = len(arrays) + len(ad.args)
    _, res = ad.fn.fwd(*arrays, *ad.args)
    cts = ad.fn.bwd(res, ct)
    if not isinstance(cts, (tuple, list)) or len(cts) != n:
        got = f"a {type(cts).__name__}" + (f" of {len(cts)}" if isinstance(cts, (tuple, list)) else "")
        raise BadFunction(f"{where}: the bwd rule returned {got} for {n} primal argument(s) "
                         f"{tuple(names) + ad.args if ad.args else tuple(names)}: return a tuple with one "
                         f"cotangent per argument")
    for k, (a, c) in enumerate(zip(list(arrays) + list(ad.args), cts)):
        is_int = np.asarray(a).dtype.kind in "iub"
        if is_int and c is not None and np.asarray(c).dtype.kind == "f":
            label = names[k] if k < len(names) else f"args[{k - len(names)}]"
            raise BadFunction(f"{where}: the bwd rule returned a float cotangent for the integer argument "
                             f"{label!r}: return None for it")
