"""(c) The harness against what users use today, on the same float64 network of affine/tanh blocks:

- harness: oracles.networks.check_network (build, reference, PyTorch as one graph, JAX per-layer vjps,
  every layer's forward, input gradient and parameter gradients compared), plus the directional
  numerical oracle on every layer (k = 3, with the layer's own input and its upstream gradient from the
  reference run); all must pass.
- torch.autograd.gradcheck on the same network (PyTorch's math for each registry entry), default
  (full numerical Jacobian: 2 forwards per input element) and fast_mode=True (one random projection).

Once warm: everything runs once before timing (JAX compiles per shape). Where gradcheck default would
take too long, it is run with only a sample of the tensors requiring grad (the smallest, up to a cap on
elements) and its time scaled by (all elements / sampled elements): its cost is 2 forwards per element.
"""
from __future__ import annotations

import numpy as np

from oracles.directional import directional_check, reference_grads
from oracles.networks import NetDesc, build, check_network, net_reference
from oracles.strategies import Case

from .timing import interleaved, ratios, summary

NETS = {
    # name: (input shape, affine widths); affine - tanh - affine - ... ; head softmax_with_loss
    "~40": ((4, 3), (5, 3)),
    "~2,400": ((8, 20), (40, 30, 10)),
    "~40,000": ((16, 100), (150, 150, 10)),
}


def desc_for(input_shape, widths) -> NetDesc:
    blocks = []
    for j, w in enumerate(widths):
        blocks.append(("affine", {"o": w}))
        if j < len(widths) - 1:
            blocks.append(("tanh", {}))
    return NetDesc("mlp", "float64", tuple(input_shape), tuple(blocks), "softmax_with_loss", seed=0)


def numerical_layers(net, ref=None) -> list:
    """The directional oracle on every layer of a built (plain-chain) network; returns all probes."""
    ref = ref if ref is not None else net_reference(net)
    sites = net.nodes + [net.head]
    probes = []
    a = net.x
    for j, node in enumerate(sites):
        if node.inner is not None:
            raise ValueError("numerical_layers handles plain chains only")
        ct = net.ct if node is net.head else ref[sites[j + 1].path]["grad_in"]
        first = node.spec.inputs[0].name
        case = Case(node.spec.name, net.desc.dtype, {}, {first: a, **node.extras}, node.params, seed=j)
        mine = {first: ref[node.path]["grad_in"], **{p: ref[node.path].get(f"grad_{p}") for p in node.spec.params}}
        if set(mine) != set(node.spec.diff_inputs) | set(node.spec.params):
            mine = {**reference_grads(node.spec, case, ct), **mine}
        probes += directional_check(node.spec, case, np.asarray(ct), mine, k=3)
        a = ref[node.path]["forward"]
    return probes


def torch_fn(net):
    """(f, inputs): the network as a function of (x, *params) in PyTorch, for gradcheck."""
    import torch

    from oracles.backends import _torch_fn

    names = [(node, p) for node in net.nodes for p in node.spec.params]
    inputs = [torch.from_numpy(net.x.copy())] + [torch.from_numpy(node.params[p].copy()) for node, p in names]

    def f(x, *ps):
        it = iter(ps)
        a = x
        for node in net.nodes:
            kw = {p: next(it) for p in node.spec.params}
            ex = [torch.from_numpy(np.array(node.extras[arg.name])) for arg in node.spec.inputs[1:]]
            a = _torch_fn(node.spec)(a, *ex, **kw, **node.spec.config)
        ex = [torch.from_numpy(np.array(net.head.extras[arg.name])) for arg in net.head.spec.inputs[1:]]
        return _torch_fn(net.head.spec)(a, *ex, **net.head.spec.config)

    return f, inputs


def run(quick: bool = False, repeats: int = 5) -> dict:
    import torch
    from torch.autograd import gradcheck

    from oracles.backends import configure

    configure()
    cap = 600 if quick else 6_000  # elements gradcheck default differentiates before it is sampled
    nets = {k: v for k, v in NETS.items() if not quick or k != "~40,000"}
    rows = []
    for name, (shape, widths) in nets.items():
        desc = desc_for(shape, widths)
        net = build(desc)
        n_params = sum(v.size for node in net.nodes for v in node.params.values())
        f, inputs = torch_fn(net)
        elements = sum(t.numel() for t in inputs)
        # sample for gradcheck default: the smallest tensors first, up to `cap` elements
        order = sorted(range(len(inputs)), key=lambda i: inputs[i].numel())
        chosen, total = set(), 0
        for i in order:
            if total + inputs[i].numel() <= cap or not chosen:
                chosen.add(i)
                total += inputs[i].numel()
        sampled = total < elements
        full_in = [t.clone().requires_grad_(True) for t in inputs]
        samp_in = [t.clone().requires_grad_(i in chosen) for i, t in enumerate(inputs)]

        def harness():
            r = check_network(desc)
            probes = numerical_layers(r.net, r.reference)
            return r, probes

        def gc_default():
            return gradcheck(f, samp_in if sampled else full_in, eps=1e-6, atol=1e-5, rtol=1e-3)

        def gc_fast():
            return gradcheck(f, full_in, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)

        r, probes = harness()  # warm: JAX compiles, torch first-call costs
        ok = {"harness_passed": bool(r.passed and all(p.passed for p in probes)),
              "gradcheck_default_passed": bool(gc_default()), "gradcheck_fast_passed": bool(gc_fast())}
        times = interleaved({"harness": harness, "gradcheck_default": gc_default, "gradcheck_fast": gc_fast},
                            repeats, number={"gradcheck_default": 1})
        scale = elements / total if sampled else 1.0
        times["gradcheck_default"] = [s * scale for s in times["gradcheck_default"]]
        rows.append({
            "network": name, "layers": " -> ".join(n.name for n in net.sites()), "params": int(n_params),
            "input_elements": int(net.x.size), "comparisons": len(r.comparisons), "directional_probes": len(probes),
            "harness_s": summary(times["harness"]), "gradcheck_default_s": summary(times["gradcheck_default"]),
            "gradcheck_fast_s": summary(times["gradcheck_fast"]),
            "gradcheck_default_extrapolated": sampled, "gradcheck_default_sampled_elements": int(total),
            "gradcheck_default_over_harness": ratios(times, "gradcheck_default", "harness"),
            "harness_over_gradcheck_fast": ratios(times, "harness", "gradcheck_fast"),
            **ok,
        })
    return {"title": "(c) full layer-by-layer check (reference vs PyTorch, JAX, directional numerical) vs torch.autograd.gradcheck, float64, warm",
            "note": "gradcheck default is extrapolated (sampled tensors x all elements / sampled elements) where "
                    "gradcheck_default_extrapolated is true; PyTorch intra-op threads: 1 (oracles.configure)",
            "rows": rows}


def table(res: dict):
    from .report import fmt_s, fmt_x

    head = ["network", "params", "harness (3 oracles)", "gradcheck default", "gradcheck fast", "default/harness", "harness/fast", "all passed"]
    body = []
    for r in res["rows"]:
        body.append([r["network"], f"{r['params']:,}", fmt_s(r["harness_s"]),
                     fmt_s(r["gradcheck_default_s"]) + (f" *extrap. from {r['gradcheck_default_sampled_elements']:,} el." if r["gradcheck_default_extrapolated"] else ""),
                     fmt_s(r["gradcheck_fast_s"]), fmt_x(r["gradcheck_default_over_harness"]), fmt_x(r["harness_over_gradcheck_fast"]),
                     str(r["harness_passed"] and r["gradcheck_default_passed"] and r["gradcheck_fast_passed"])])
    return head, body
