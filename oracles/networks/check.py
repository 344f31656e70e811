"""Checking a network layer by layer against the oracles, naming where a divergence begins
(`check_network`), and the randomized check over networks Hypothesis draws (`run_network_check`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import budget
from ..comparison import Comparison
from ..judge import Verdict, compare, decide_networks
from ..names import FORWARD, FRAMEWORKS, Stage
from ..protocol import spurious_blas_flags
from ..tolerances import tolerance_for
from .building import Network, Node, build
from .describe import NetDesc, networks
from .run import GRAD_IN, NET_RUNNERS, net_reference, net_torch


# --- comparing and blaming ---------------------------------------------------------------------------------
@dataclass
class NetworkResult:
    net: Network
    comparisons: list[Comparison]
    culprit: dict[str, str] = field(default_factory=dict)  # oracle -> "site stage"
    reference: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not any(c.failed for c in self.comparisons)

    def summary(self) -> str:
        d = self.net.desc
        lines = [f"network {d.family} [{d.dtype}] input {d.input_shape}: "
                 + " -> ".join(n.name for n in self.net.sites())]
        if self.net.skipped:
            lines.append(f"  (blocks that did not fit and were left out: {', '.join(self.net.skipped)})")
        for oracle in NET_RUNNERS:
            bad = [c for c in self.comparisons if c.oracle == oracle and c.failed]
            if not bad:
                lines.append(f"  vs {oracle}: every layer agrees ({sum(c.oracle == oracle for c in self.comparisons)} comparisons)")
                continue
            lines.append(f"  vs {oracle}: divergence begins at {self.culprit[oracle]}; "
                         f"{len(bad)} comparison(s) diverge in all (errors propagate from there)")
        return "\n".join(lines)

    def message(self) -> str:
        first = {o: next(c for c in self.comparisons if c.oracle == o and c.failed and _site_stage(c) == self.culprit[o])
                 for o in self.culprit}
        return (self.summary() + "\n" + "\n".join(c.message() for c in first.values())
                + "\n  reproduce with:\n    " + self.net.desc.repro().replace("\n", "\n    "))

    def assert_passed(self) -> None:
        if not self.passed:
            raise NetworkMismatch(self.message())

    def grad_norms(self) -> list[dict]:
        """Per parameterized layer: ||dW|| of every parameter gradient, from the reference."""
        out = []
        for node in self.net.sites():
            g = self.reference.get(node.path, {})
            norms = {Stage(k).wrt: float(np.linalg.norm(np.asarray(v, dtype=np.float64))) for k, v in g.items()
                     if Stage(k).kind == "grad" and k != GRAD_IN and v is not None}
            if norms:
                out.append({"site": node.name, "norms": norms})
        return out


class NetworkMismatch(AssertionError):
    """A generated network's layer disagreed with an oracle."""


def _site_stage(c: Comparison) -> str:
    return f"{c.extra['site']} {c.extra['stage']}"


def check_network(net: NetDesc | Network, oracles=FRAMEWORKS, registry=None, *, example: int = 0) -> NetworkResult:
    """Build the network, run it three ways, compare every layer's output, input gradient and parameter
    gradients, and name where a divergence begins. example: this network's index in a randomized run
    (recorded on its comparisons)."""
    if isinstance(net, NetDesc):
        net = build(net, registry)
    try:
        with spurious_blas_flags():
            ref, note = net_reference(net), ""
    except Exception as e:  # a layer that raises inside a network is blamed like any other divergence
        ref, note = {}, f"the reference network raised {type(e).__name__}: {e}"
    comps: list[Comparison] = []
    culprit: dict[str, str] = {}
    sites = net.sites()
    got = {oracle: NET_RUNNERS[oracle](net) for oracle in oracles}
    noise = _float32_noise(net, got) if net.desc.dtype == "float32" else {}
    for oracle in oracles:
        mine = [_site_comparison(net, node, stage, oracle, ref, got[oracle], noise, note, example)
                for node in sites for stage in _stages(node)]
        comps += mine
        where = blame(mine, sites)
        if where:
            culprit[oracle] = where
    return NetworkResult(net, comps, culprit, ref)


def _stages(node: Node) -> list[Stage]:
    """What is compared at a site: its output, its input gradient, a layer's parameter gradients."""
    return [FORWARD, GRAD_IN, *[Stage.grad(p) for p in (node.spec.params if node.inner is None else ())]]


def _site_comparison(net: Network, node: Node, stage: Stage, oracle: str, ref: dict, theirs: dict, noise: dict,
                     note: str, example: int) -> Comparison:
    """Everything known about one site comparison, gathered before it is judged: the values, the
    tolerance (widened by the site's float32 noise), the reference's error if it raised, and the extras
    the report reads (site, stage, float32 noise, the gradient norms of a parameter stage)."""
    dtype = net.desc.dtype
    actual, expected = ref.get(node.path, {}).get(stage), theirs[node.path].get(stage)
    site_noise = noise.get((node.path, stage))
    tol = budget.widen(tolerance_for(dtype, oracle, stage, node.spec.tolerances), site_noise)
    extra = {"site": node.name, "stage": stage}
    if site_noise is not None:
        extra["float32_noise"] = budget.noise_summary(site_noise)
    if stage.kind == "grad" and stage != GRAD_IN:  # the report's per-layer gradient norms
        extra["norms"] = {"reference": _norm(actual), oracle: _norm(expected)}
    meta = dict(layer=f"network_{net.desc.name or net.desc.family}", dtype=dtype, stage=f"{node.name}.{stage}",
                oracle=oracle, shapes={"in": list(node.in_shape), "out": list(node.out_shape)})
    return _judge_site(actual, expected, tol, meta, note=note, extra=extra, example=example, desc=net.desc)


def _judge_site(actual, expected, tol, meta: dict, *, note: str, extra: dict, example: int, desc: NetDesc) -> Comparison:
    """A network comparison, judged once (oracles/judge.py); a failing one carries the network's repro."""
    return compare(actual, expected, tol, note=note, extra=extra, repro=desc.repro, example=example, **meta)


def _float32_noise(net: Network, got: dict) -> dict[tuple[str, str], np.ndarray]:
    """(site path, stage) -> the float32 noise measured on this network, as oracles/budget.py's docstring
    defines it (budget.measured_noise); PyTorch runs here in float32 too when it was not asked."""
    try:
        truth = net_torch(_float64(net))
        answers = {"torch": got["torch"] if "torch" in got else net_torch(net), **got}
    except Exception:
        return {}
    truth = {(path, stage): t for path, stages in truth.items() for stage, t in stages.items()}
    found = {(path, stage): [a[path][stage] for a in answers.values() if stage in a.get(path, {})]
             for path, stage in truth}
    return budget.measured_noise(truth, found, at_least=1.0)  # the loss's cotangent: 1


def _float64(net: Network) -> Network:
    """The same network in float64 (float32 values are exact there): the float32 noise's truth."""
    return Network(net.desc, budget.upcast(net.x), [_up_node(n) for n in net.nodes], _up_node(net.head), budget.upcast(net.ct))


def _up_node(n: Node) -> Node:
    up = budget.upcast
    return Node(n.path, n.spec, {k: up(v) for k, v in n.params.items()}, {k: up(v) for k, v in n.extras.items()},
                n.in_shape, n.out_shape, None if n.inner is None else [_up_node(m) for m in n.inner])


def _norm(v) -> float | None:
    try:
        return float(np.linalg.norm(np.asarray(v, dtype=np.float64)))
    except (TypeError, ValueError):
        return None


def blame(comps: list[Comparison], sites: list[Node]) -> str | None:
    """Where divergence begins: the first site (forward order) whose output diverges; else the last
    site (the first backward) whose input or parameter gradients diverge."""
    order = {n.name: i for i, n in enumerate(sites)}
    bad = [c for c in comps if c.failed]
    if not bad:
        return None
    fwd = [c for c in bad if c.extra["stage"] == FORWARD]
    if fwd:
        c = min(fwd, key=lambda c: order[c.extra["site"]])
    else:
        # a residual block's own gradient is d + (its branch's): harness arithmetic, wrong only when
        # something inside or above it is; blame a reference layer whenever one diverges
        layers = [c for c in bad if not c.extra["site"].endswith(":residual")] or bad
        c = max(layers, key=lambda c: (order[c.extra["site"]], c.extra["stage"] != GRAD_IN))
    return f"{c.extra['site']} {c.extra['stage']}"


# --- the randomized check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkCheck:
    """Every network one Hypothesis run drew, the smallest failing one (after shrinking) if any, and the
    judge's verdict per oracle (oracles/judge.py: decide_networks)."""

    family: str
    dtype: str
    verdicts: dict[str, Verdict]
    examples: int = 0
    comparisons: dict = field(default_factory=dict)  # oracle -> count
    failure: NetworkResult | None = None
    records: list[Comparison] = field(default_factory=list)

    def passed(self, oracle: str) -> bool:
        return self.verdicts[oracle].passed

    def assert_passed(self, oracle: str | None = None) -> None:
        bad = [v for o, v in self.verdicts.items() if oracle in (None, o) and not v.passed]
        if bad:
            raise NetworkMismatch("\n\n".join(v.message() for v in bad))


@dataclass
class _Tally:
    """What the Hypothesis loop has seen so far (no verdict: the judge decides at the end)."""

    examples: int = 0
    comparisons: dict = field(default_factory=dict)
    failure: NetworkResult | None = None
    records: list = field(default_factory=list)


def run_network_check(family: str, dtype: str, *, max_examples: int | None = None, registry=None,
                      strategy=None, record: bool = True, oracles=FRAMEWORKS) -> NetworkCheck:
    """Draw networks of one family with Hypothesis and check each layer by layer; Hypothesis shrinks a
    failing network to a minimal one."""
    from hypothesis import HealthCheck, given, settings

    from .. import records as rec

    tally = _Tally()
    kw = dict(deadline=None, report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    # A network holds 5-20 layers, each checked at every stage: 2/5 of the profile's examples per family
    # and dtype (ci: 10 networks, ~150 layer checks) keeps the network gate within its time budget.
    kw["max_examples"] = max_examples if max_examples is not None else max(3, settings.default.max_examples * 2 // 5)

    @settings(settings.default, **kw)
    @given(desc=strategy if strategy is not None else networks(family, dtype))
    def check(desc: NetDesc) -> None:
        # once a failure is known Hypothesis is shrinking: ask only the oracle(s) that failed (PyTorch alone
        # spares JAX a compile per new shape); the minimal network is re-checked by every oracle at the end
        shrink_with = tuple(o for o in oracles if tally.failure is not None and o in tally.failure.culprit)
        r = check_network(desc, shrink_with or oracles, registry, example=tally.examples)
        tally.examples += 1
        for c in r.comparisons:
            tally.comparisons[c.oracle] = tally.comparisons.get(c.oracle, 0) + 1
        if r.passed:
            tally.records += r.comparisons
        else:
            tally.failure = r  # the last failure Hypothesis reports is the shrunk one
            r.assert_passed()

    try:
        check()
    except Exception:  # NetworkMismatch, or Hypothesis's own error if a failure did not replay
        if tally.failure is None:
            raise
        tally.failure = check_network(tally.failure.net.desc, oracles, registry)
    failure = tally.failure
    verdicts = decide_networks(f"network {family}", dtype, oracles, tally.comparisons, tally.examples,
                               failure.culprit if failure else {}, failure.message() if failure else "")
    if record:  # the failing comparisons carry their repro (_judge_site)
        rec.emit(tally.records + (failure.comparisons if failure is not None else []), "networks")
    return NetworkCheck(family, dtype, verdicts, tally.examples, tally.comparisons, failure, tally.records)
