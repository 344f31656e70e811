"""Adapters from a framework-native custom-gradient function to what the check asks of it.

`adapt(fn, args, name)` recognises a `torch.autograd.Function` (the class or its `.apply`) or a function
built with `jax.custom_vjp` / `jax.custom_jvp`, and returns an adapter with one method per question:

    forward(arrays)                 the custom forward, no graph (the numerical oracle differentiates it)
    layer()                         the reference-layer protocol (forward / backward on NumPy arrays), so
                                    the one check path (reference_run) runs it: copies, mutation checks,
                                    nondeterminism, stale state
    second_order(arrays, diff, ct, ws)   d/dx_j of sum_i <vjp_i(ct), w_i>: the custom rule differentiated
    jvp(arrays, diff, ts)           forward mode with the custom rule
    not_applicable                  stage kind -> why it does not apply ("grad2", "jvp")

Arrays are in the order of the check's inputs; `diff` lists the positions that are differentiated; the
constants `args` follow the arrays in every call. Anything malformed about `fn` itself is a one-line
TypeError/ValueError naming it (raised here or by `probe_structure`).
"""
from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any, Callable

import numpy as np

_FN_HELP = ("give a torch.autograd.Function (the class, or MyFn.apply) or a function made with "
            "jax.custom_vjp / jax.custom_jvp")


class BadFunction(TypeError, ValueError):
    """A malformed custom function or check_function argument: one line, naming it (a TypeError and a
    ValueError, whichever a caller expects)."""


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def _owner(fn) -> Any:
    """The class a function was defined in (MyFn for MyFn.forward), when it can be found."""
    qual = getattr(fn, "__qualname__", "")
    if "." not in qual or "<locals>" in qual:
        return None
    obj = sys.modules.get(getattr(fn, "__module__", ""), None)
    for part in qual.split(".")[:-1]:
        obj = getattr(obj, part, None)
    return obj


def adapt(fn, args: tuple, name: str):
    """The adapter for `fn` (see the module docstring); a one-line TypeError for anything else."""
    import torch

    base = torch.autograd.Function
    if isinstance(fn, type) and issubclass(fn, base):
        return TorchAdapter(fn, args, name)
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type) and issubclass(owner, base) and getattr(fn, "__name__", "") == "apply":
        return TorchAdapter(owner, args, name)
    if isinstance(fn, base):
        raise BadFunction(f"{name}: fn is an instance of {type(fn).__name__}; pass the class {type(fn).__name__} "
                        f"or {type(fn).__name__}.apply")
    cls = _owner(fn)
    if isinstance(cls, type) and issubclass(cls, base):
        raise BadFunction(f"{name}: fn={cls.__name__}.{fn.__name__} is a method of the Function; pass "
                        f"{cls.__name__} or {cls.__name__}.apply")
    import jax

    if isinstance(fn, (jax.custom_vjp, jax.custom_jvp)):
        return JaxAdapter(fn, args, name)
    params = list(inspect.signature(fn).parameters) if callable(fn) else []
    if params[:1] == ["ctx"]:
        raise BadFunction(f"{name}: fn={getattr(fn, '__qualname__', fn)!r} takes ctx: it is a Function's "
                        f"forward or backward; pass the Function class or its .apply")
    raise BadFunction(f"{name}: fn={fn!r} has no custom gradient to check; {_FN_HELP} "
                    f"(a jitted or wrapped one: pass the custom_vjp / custom_jvp object itself)")


def _one_array(out, name: str, framework: str):
    """The single array output check_function compares; a one-line TypeError for anything else."""
    import torch

    ok = isinstance(out, torch.Tensor) if framework == "torch" else hasattr(out, "shape") and hasattr(out, "dtype")
    if not ok:
        kind = type(out).__name__ + (f" of {len(out)}" if isinstance(out, (tuple, list, dict)) else "")
        raise BadFunction(f"{name}: forward returned a {kind}, not one array: check_function checks functions "
                        f"with one array output (pytree outputs: check each output as its own function)")
    return out


# --- PyTorch ------------------------------------------------------------------------------------------------
class TorchAdapter:
    framework = "torch"

    def __init__(self, cls, args: tuple, name: str):
        import torch
        from torch.autograd.function import once_differentiable

        base = torch.autograd.Function
        if cls.backward is base.backward and cls.vjp is base.vjp:
            raise BadFunction(f"{name}: {cls.__name__} defines no backward: nothing to check")
        self.cls, self.args, self.name, self.kind = cls, tuple(args), name, "torch.autograd.Function"
        self.not_applicable = {}
        # once_differentiable wraps every backward in the same code object (a closure over the original)
        once = once_differentiable(lambda ctx, g: g).__code__
        if getattr(cls.backward, "__code__", None) is once:
            self.not_applicable["grad2"] = f"{cls.__name__}.backward is marked @once_differentiable"
        if cls.jvp is base.jvp:
            self.not_applicable["jvp"] = f"{cls.__name__} defines no jvp (forward mode)"

    def tensors(self, arrays, diff, share: bool = False) -> list:
        """Tensors of `arrays`, the `diff` positions requiring grad. `share`: the same memory, so an
        in-place change by the function shows in the caller's arrays (reference_run compares them)."""
        import torch

        ts = [torch.from_numpy(a if share else np.array(a, copy=True)) for a in arrays]
        return [t.requires_grad_(True) if i in diff else t for i, t in enumerate(ts)]

    def call(self, ts):
        return _one_array(self.cls.apply(*ts, *self.args), self.name, "torch")

    def forward(self, arrays) -> np.ndarray:
        """The output as a new array; the caller's arrays are used in place (the numerical oracle's own,
        a few thousand calls per example: no copies)."""
        import torch

        with torch.no_grad():
            return self.call([torch.from_numpy(np.asarray(a)) for a in arrays]).numpy().copy()

    def forward_fn(self, arrays) -> Callable[[], np.ndarray]:
        """A no-argument forward over `arrays`, which the caller changes in place between calls (the
        numerical oracle: thousands of calls, so tensors are made once, sharing the arrays' memory)."""
        import torch

        ts = [torch.from_numpy(a) for a in arrays]
        self.call(ts)  # a pytree output raises here, once

        def f() -> np.ndarray:
            with torch.no_grad():
                return self.cls.apply(*ts, *self.args).numpy().copy()
        return f

    def layer(self, diff) -> "_TorchLayer":
        return _TorchLayer(self, diff)

    def raw_backward(self, out, ct, ts) -> tuple:
        """The Function's own backward on `ct`, as written (torch's engine would sum a broadcast-shaped
        gradient and cast a wrong dtype silently): one entry per array input."""
        import torch

        node = out.grad_fn
        if node is None:
            raise ValueError("the output does not require grad (marked non-differentiable?): nothing to check")
        with torch.no_grad():
            raw = node.apply(torch.from_numpy(ct)) if isinstance(node, self.cls._backward_cls) else None
        if raw is None:  # the output is not the Function's own node (e.g. a view): ask the engine
            got = iter(torch.autograd.grad(out, [t for t in ts if t.requires_grad], torch.from_numpy(ct), allow_unused=True))
            return tuple(next(got) if t.requires_grad else None for t in ts)
        raw = raw if isinstance(raw, tuple) else (raw,)
        n = len(ts)
        expected = n + len(self.args)
        if len(raw) < n or len(raw) > expected or any(g is not None for g in raw[expected:]):
            raise BadFunction(f"{self.cls.__name__}.backward returned {len(raw)} gradient(s) for {expected} "
                             f"argument(s) of forward: return one per argument (None where there is none)")
        return tuple(raw[:n])

    def second_order(self, arrays, diff, ct, ws) -> dict[int, np.ndarray]:
        import torch

        ts = self.tensors(arrays, diff)
        out = self.call(ts)
        c = torch.from_numpy(np.array(ct, copy=True)).requires_grad_(True)
        gs = torch.autograd.grad(out, [ts[i] for i in diff], c, create_graph=True, allow_unused=True)
        if not any(g is not None and g.requires_grad for g in gs):
            raise ValueError("the gradients from the custom backward carry no graph (computed without autograd, "
                             "detached or under no_grad): double backward would raise or be silently zero; mark "
                             "backward @once_differentiable if that is intended")
        s = sum((g * torch.from_numpy(w)).sum() for g, w in zip(gs, ws) if g is not None)
        g2 = torch.autograd.grad(s, [ts[i] for i in diff], allow_unused=True)
        return {i: (np.zeros_like(arrays[i]) if g is None else g.detach().numpy()) for i, g in zip(diff, g2)}

    def jvp(self, arrays, diff, ts) -> np.ndarray:
        import torch
        import torch.autograd.forward_ad as fwAD

        with fwAD.dual_level(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # forward AD's first use: torch.jit.script's
            tensors = self.tensors(arrays, ())
            duals = [fwAD.make_dual(t, torch.from_numpy(ts[diff.index(i)])) if i in diff else t
                     for i, t in enumerate(tensors)]
            tangent = fwAD.unpack_dual(self.call(duals)).tangent
            return np.zeros(np.shape(tangent), arrays[0].dtype) if tangent is None else tangent.detach().numpy().copy()


class _TorchLayer:
    """The reference-layer protocol over a Function: forward on the caller's arrays (shared memory, so
    in-place changes show), backward = the Function's own backward, as written."""

    def __init__(self, adapter: TorchAdapter, diff):
        self.adapter, self.diff = adapter, list(diff)

    def forward(self, *arrays):
        self.ts = self.adapter.tensors(arrays, self.diff, share=True)
        self.out = self.adapter.call(self.ts)
        return self.out.detach().numpy()

    def backward(self, dout):
        raw = self.adapter.raw_backward(self.out, dout, self.ts)
        # a gradient for an input that needs none is fine (PyTorch drops it): not passed on to be judged
        return tuple(None if g is None or i not in self.diff else g.detach().numpy() for i, g in enumerate(raw))


# --- JAX ----------------------------------------------------------------------------------------------------
class JaxAdapter:
    framework = "jax"

    def __init__(self, fn, args: tuple, name: str):
        import jax

        self.fn, self.args, self.name = fn, tuple(args), name
        vjp = isinstance(fn, jax.custom_vjp)
        self.kind = "jax.custom_vjp" if vjp else "jax.custom_jvp"
        if vjp and (getattr(fn, "fwd", None) is None or getattr(fn, "bwd", None) is None):
            raise BadFunction(f"{name}: the custom_vjp function has no rule: call fn.defvjp(fwd, bwd) first")
        if not vjp and getattr(fn, "jvp", None) is None:
            raise BadFunction(f"{name}: the custom_jvp function has no rule: call fn.defjvp(rule) first")
        self.not_applicable = {"jvp": "JAX cannot apply forward mode to a custom_vjp function"} if vjp else {}
        self._jit: dict = {}

    def _f(self, diff, others):
        def f(*d):
            vals = list(others)
            for i, v in zip(diff, d):
                vals[i] = v
            return self.fn(*vals, *self.args)
        return f

    def _compiled(self, what: str, diff: tuple) -> Callable:
        key = (what, diff)
        if key not in self._jit:
            import jax

            build = {"forward": lambda a: self.fn(*a, *self.args),
                     "vjp": lambda a, ct: jax.vjp(self._f(diff, a), *[a[i] for i in diff])[1](ct),
                     "grad2": lambda a, ct, ws: jax.grad(lambda d: sum(
                         (g * w).sum() for g, w in zip(jax.vjp(self._f(diff, a), *d)[1](ct), ws)))(
                         tuple(a[i] for i in diff)),
                     "jvp": lambda a, ts: jax.jvp(self._f(diff, a), tuple(a[i] for i in diff), tuple(ts))[1]}[what]
            self._jit[key] = jax.jit(build)
        return self._jit[key]

    def forward(self, arrays) -> np.ndarray:
        return np.asarray(_one_array(self._compiled("forward", ())(list(arrays)), self.name, "jax"))

    def forward_fn(self, arrays) -> Callable[[], np.ndarray]:
        return lambda: self.forward(arrays)

    def layer(self, diff) -> "_JaxLayer":
        return _JaxLayer(self, diff)

    def backward(self, arrays, diff, ct) -> tuple:
        return tuple(self._compiled("vjp", tuple(diff))(list(arrays), ct))

    def second_order(self, arrays, diff, ct, ws) -> dict[int, np.ndarray]:
        g2 = self._compiled("grad2", tuple(diff))(list(arrays), ct, tuple(ws))
        return {i: np.asarray(g) for i, g in zip(diff, g2)}

    def jvp(self, arrays, diff, ts) -> np.ndarray:
        return np.asarray(self._compiled("jvp", tuple(diff))(list(arrays), tuple(ts)))


class _JaxLayer:
    def __init__(self, adapter: JaxAdapter, diff):
        self.adapter, self.diff = adapter, list(diff)

    def forward(self, *arrays):
        self.arrays = [np.array(a, copy=True) for a in arrays]
        return self.adapter.forward(self.arrays)

    def backward(self, dout):
        g = iter(self.adapter.backward(self.arrays, self.diff, np.asarray(dout)))
        return tuple(np.asarray(next(g)) if i in self.diff else None for i in range(len(self.arrays)))
