"""Every layer of the tricky corpus (tests/tricky) is correct, proved without the harness: its forward
and backward against PyTorch float64 autograd of its plain math, on 2 fixed random inputs per entry (the largest sizes, then random ones),
norm-wise: ||reference - torch|| / ||torch|| <= 1e-6 (float64 layers) or 1e-3 (float32-only layers, which
round in float32 inside while PyTorch runs the same float32 inputs in float64)."""
from __future__ import annotations

import array_api_compat.torch as xp
import numpy as np
import pytest
import torch

from oracles.spec import Arg, resolve
from tricky import TRICKY

DEFAULT_POOL = (1, 2, 3, 5)
PARAM_RANGE = (-2.0, 2.0)  # LayerSpec's default param_domain


def _args(entry) -> list[Arg]:
    ins = entry["inputs"]
    return [Arg(n, s) for n, s in ins.items()] if isinstance(ins, dict) else list(ins)


def _draw(entry, rng, dtype, largest: bool):
    """Sizes: the largest of each pool, or a random one; values uniform in the domains (params in param_domain)."""
    pools = entry.get("sizes", {})
    names = {p.strip() for a in _args(entry) for d in a.shape if isinstance(d, str) for p in d.split("*")}
    names |= {p.strip() for s in entry.get("params", {}).values() for d in s if isinstance(d, str) for p in d.split("*")}
    sizes = {n: int(max(pools.get(n, DEFAULT_POOL)) if largest else rng.choice(pools.get(n, DEFAULT_POOL)))
             for n in sorted(names)}
    inputs = {}
    for a in _args(entry):
        dom = a.domain or entry["domain"]
        inputs[a.name] = rng.uniform(dom.low, dom.high, resolve(a.shape, sizes)).astype(dtype)
    pdom = entry.get("param_domain")
    lo, hi = (pdom.low, pdom.high) if pdom else PARAM_RANGE
    params = {k: rng.uniform(lo, hi, resolve(s, sizes)).astype(dtype) for k, s in entry.get("params", {}).items()}
    return inputs, params


def _relerr(ref, want) -> float:
    ref, want = np.asarray(ref, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert ref.shape == want.shape, (ref.shape, want.shape)
    return float(np.linalg.norm(ref - want) / max(np.linalg.norm(want), 1e-300))


@pytest.mark.parametrize("name", sorted(TRICKY))
@pytest.mark.parametrize("draw", [0, 1])
def test_tricky_layer_matches_torch_float64(name, draw):
    entry = TRICKY[name]
    f32 = entry.get("dtypes") == ("float32",)
    dtype, bound = (np.float32, 1e-3) if f32 else (np.float64, 1e-6)
    rng = np.random.default_rng(1000 * draw + sum(map(ord, name)))
    inputs, params = _draw(entry, rng, dtype, largest=draw == 0)
    order = [a.name for a in _args(entry)]

    layer = entry["make"]({k: v.copy() for k, v in params.items()})
    out = np.asarray(layer.forward(*[inputs[n].copy() for n in order]))
    ct = rng.standard_normal(out.shape).astype(dtype)
    dxs = layer.backward(ct.copy())
    dxs = dxs if isinstance(dxs, tuple) else (dxs,)
    ref = {"forward": out, **{f"grad_{n}": g for n, g in zip(order, dxs)},
           **{f"grad_{k}": getattr(layer, "d" + k) for k in params}}
    assert out.dtype == dtype and all(np.asarray(g).dtype == dtype for g in ref.values())

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in {**inputs, **params}.items()}
    t_out = entry["fn"](xp, *[t[n] for n in order], **{k: t[k] for k in params})
    wrt = order + list(params)
    grads = torch.autograd.grad(t_out, [t[n] for n in wrt], torch.tensor(ct, dtype=torch.float64))
    want = {"forward": t_out.detach().numpy(), **{f"grad_{n}": g.numpy() for n, g in zip(wrt, grads)}}

    errors = {stage: _relerr(ref[stage], want[stage]) for stage in want}
    assert max(errors.values()) <= bound, errors
