"""Networks drawn by Hypothesis from the registry, checked layer by layer against PyTorch and JAX, with
the layer where a divergence begins named, and a planted bug found and shrunk."""
from dataclasses import replace

import pytest

from oracles import DTYPES, REGISTRY
from oracles.networks import FAMILIES, NetDesc, build, check_network, networks, run_network_check

from broken_layers import SigmoidDerivFromInput

GATE = [pytest.param(f, o, d, id=f"network_{f}-{o}-{d}") for f in FAMILIES for d in DTYPES for o in ("torch", "jax")]


@pytest.mark.oracle
@pytest.mark.parametrize("family, oracle, dtype", GATE)
def test_oracle_network(family, oracle, dtype, oracle_network_check):
    oracle_network_check(family, dtype, oracle=oracle).assert_passed(oracle)


def _deep(n_mid=8, dtype="float64", seed=0):
    """affine, then n_mid x (activation, affine); the one sigmoid sits in the middle (block 2*(n_mid//2)+1)."""
    blocks = [("affine", {"o": 5})]
    for i in range(n_mid):
        act = "sigmoid" if i == n_mid // 2 else ("tanh" if i % 2 else "gelu")
        blocks += [(act, {}), ("affine", {"o": 5})]
    return NetDesc("mlp", dtype, (3, 3), tuple(blocks), "softmax_with_loss", seed)


def test_every_layer_is_compared():
    r = check_network(_deep(3))
    sites = [n.name for n in r.net.sites()]
    for oracle in ("torch", "jax"):
        seen = {(c.extra["site"], c.extra["stage"]) for c in r.comparisons if c.oracle == oracle}
        for node in r.net.sites():
            assert (node.name, "forward") in seen and (node.name, "grad_in") in seen
            for p in node.spec.params:
                assert (node.name, f"grad_{p}") in seen
    assert r.passed, r.message()
    assert sites[-1] == "head:softmax_with_loss" and len(sites) == 8


BROKEN = {**REGISTRY, "sigmoid": replace(REGISTRY["sigmoid"], name="sigmoid_broken", make=lambda p: SigmoidDerivFromInput())}


def test_planted_bug_in_the_middle_of_a_deep_network_is_named():
    """Block 9 (a sigmoid) of a 17-block network has a wrong derivative: every layer below it gets wrong
    gradients too, and the biggest error is elsewhere; the culprit named is still block 9."""
    desc = _deep(8)
    net = build(desc, BROKEN)
    r = check_network(net)
    assert not r.passed
    for oracle in ("torch", "jax"):
        assert r.culprit[oracle] == "9:sigmoid_broken grad_in", r.summary()
        wrong = {c.extra["site"] for c in r.comparisons if c.oracle == oracle and not c.passed}
        assert len(wrong) > 3, "the error propagates to the layers below: localization is not trivial"
    msg = r.message()
    assert "divergence begins at 9:sigmoid_broken grad_in" in msg and "NetDesc(" in msg


def test_planted_bug_is_shrunk_to_a_small_network():
    from hypothesis import strategies as st

    result = run_network_check("mlp", "float64", max_examples=30, registry=BROKEN, record=False,
                               strategy=networks("mlp", "float64").filter(lambda d: any(b[0] == "sigmoid" for b in d.blocks)))
    assert result.failure is not None
    sites = [n.name for n in result.failure.net.sites()]
    assert result.failure.culprit["torch"].split()[0].endswith("sigmoid_broken")
    assert len(sites) <= 4, f"not shrunk: {sites}"  # sigmoid, the closing affine, the head (+ at most one)
    assert "NetDesc(" in result.failure.message()
    del st


def test_forward_divergence_is_blamed_on_the_first_layer_that_diverges():
    import numpy as np

    import reference as R

    class TanhWrongForward(R.Tanh if hasattr(R, "Tanh") else object):
        def forward(self, x):
            out = np.tanh(x) * 1.01
            self.out = out
            return out

    reg = {**REGISTRY, "tanh": replace(REGISTRY["tanh"], name="tanh_broken", make=lambda p: TanhWrongForward())}
    r = check_network(_deep(4), registry=reg)
    assert r.culprit["torch"] == "3:tanh_broken forward", r.summary()


def test_repro_rebuilds_the_same_network():
    desc = _deep(2, seed=7)
    ns = {}
    exec(desc.repro().split("print(")[0], ns)
    assert ns["net"] == desc
    a, b = build(desc), build(ns["net"])
    assert (a.x == b.x).all() and all((p == q).all() for n, m in zip(a.nodes, b.nodes) for p, q in zip(n.params.values(), m.params.values()))


def test_a_researchers_layer_joins_generated_networks():
    """A custom layer registered for networks is drawn into them and checked layer by layer there; its
    broken twin is named as the culprit."""
    import sys
    from pathlib import Path

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from oracles import layer_spec
    from oracles.networks import register_network_layer, unregister_network_layer

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from custom_layer import RMSNorm, RMSNormNormConstant, rmsnorm_math

    def spec(cls, name):
        return layer_spec(lambda p: cls(p["g"]), inputs={"x": ("n", "d")}, params={"g": ("d",)},
                          fn=rmsnorm_math, name=name)

    seen = []
    for cls, name in ((RMSNorm, "my_rmsnorm"), (RMSNormNormConstant, "my_rmsnorm_broken")):
        register_network_layer(spec(cls, name))
        try:
            desc = NetDesc("mlp", "float64", (3, 3), (("affine", {"o": 5}), (name, {}), ("tanh", {}), ("affine", {"o": 2})),
                           "softmax_with_loss", seed=4)
            r = check_network(desc)
            seen.append((name, r.passed, r.culprit.get("torch")))

            @settings(max_examples=80, database=None, deadline=None)
            @given(networks("mlp", "float64"))
            def draws(d):
                drawn.append(any(b[0] == name for b in d.blocks))

            drawn = []
            draws()
            assert any(drawn), f"{name} never drawn into a network"
        finally:
            unregister_network_layer(name)
    assert seen[0] == ("my_rmsnorm", True, None)
    assert seen[1] == ("my_rmsnorm_broken", False, "1:my_rmsnorm_broken grad_in")
    assert "my_rmsnorm" not in REGISTRY and "my_rmsnorm_broken" not in FAMILIES["mlp"].blocks
    del st


def _deep_plain(act: str, dtype: str) -> NetDesc:
    """The seeds' vanishing-gradient setting: 10 affine layers of width 5, one activation between each."""
    blocks = [("affine", {"o": 5})]
    for _ in range(9):
        blocks += [(act, {}), ("affine", {"o": 5})]
    return NetDesc("mlp", dtype, (3, 5), tuple(blocks), "softmax_with_loss", seed=11, name=f"deep_{act}")


@pytest.mark.oracle
@pytest.mark.parametrize("act", ["sigmoid", "relu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_oracle_network_deep(act, dtype):
    """10-layer sigmoid and ReLU networks, float64 and float32, every layer against both frameworks with
    the default tolerances; the per-layer gradient norms go to the records (the report plots them)."""
    from oracles import records

    r = check_network(_deep_plain(act, dtype))
    records.emit(r.comparisons, "networks")
    r.assert_passed()
    norms = [n["norms"]["W"] for n in r.grad_norms()]
    assert len(norms) == 10
    if act == "sigmoid":  # the seeds' observation: the gradient shrinks towards the input
        assert norms[0] < norms[-1] / 4, norms


def test_ill_conditioned_float32_batchnorm_is_not_a_false_alarm():
    """Found by the soak (seed 1): max-pooled ReLU zeros give BatchNorm2d a near-constant channel; in
    float32 PyTorch rounds dgamma to exactly 0, JAX to -1e-5, the reference to 3e-5 (true value ~0). The
    float32 budget samples both frameworks' rounding, so this is within tolerance."""
    net = NetDesc(family="conv", dtype="float32", input_shape=(2, 2, 6, 5),
                  blocks=(("relu", {}), ("batchnorm2d", {}), ("maxpool", {}), ("batchnorm2d", {}), ("flatten", {}),
                          ("affine", {"o": 2})), head="softmax_with_loss", seed=1271)
    r = check_network(net)
    assert r.passed, r.message()
    gamma = [c for c in r.comparisons if c.stage == "3:batchnorm2d_train.grad_gamma"]
    assert gamma and all(c.extra["float32_noise"] > 1e-6 for c in gamma)


def test_a_bug_inside_a_residual_block_is_blamed_on_the_layer_not_the_join():
    reg = {**REGISTRY, "tanh": replace(REGISTRY["tanh"], name="tanh_broken", make=lambda p: _TanhDerivFromInput())}
    desc = NetDesc("mlp", "float64", (2, 3), (("affine", {"o": 3}), ("residual", ("affine_same", "tanh")), ("affine", {"o": 2})),
                   "softmax_with_loss", seed=5)
    r = check_network(desc, registry=reg)
    assert r.culprit["torch"] == "1.r1:tanh_broken grad_in", r.summary()


def _TanhDerivFromInput():
    import numpy as np

    import reference as R

    class T(R.Tanh):
        def forward(self, x):
            self.x = x
            return super().forward(x)

        def backward(self, dout):
            return dout * (1 - np.tanh(self.x) ** 2) * 1.01

    return T()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_training_a_generated_network_matches_both_frameworks_step_by_step(optimizer, dtype):
    """K = 5 steps of a Hypothesis-generated network: reference optimizers against torch.optim and a
    hand-written JAX update, every parameter after every step, under the tolerance table."""
    from hypothesis import given, settings

    from oracles.networks import train_network

    worst = []

    @settings(max_examples=4, deadline=None, database=None, derandomize=True)
    @given(networks("mlp", dtype, max_blocks=5))
    def run(desc):
        drift = train_network(desc, optimizer, steps=5)
        worst.append(max(max(r["torch"], r["jax"]) for r in drift))
        assert all(r["passed"] for r in drift), (desc.repro(), drift)

    run()
    assert len(worst) == 4
    print(f"{optimizer} [{dtype}] largest drift per run: {worst}")


def test_training_check_catches_a_wrong_optimizer():
    """A reference momentum that forgets to decay its velocity drifts from both frameworks by step 2."""
    from reference.optimizers import Momentum

    from oracles.networks import train_network

    class NoDecay(Momentum):
        def update(self, params, grads):
            self.momentum = 1.0  # v <- v - lr * g: the velocity never decays
            super().update(params, grads)

    desc = _deep(2, seed=3)
    good = train_network(desc, "momentum", steps=3)
    bad = train_network(desc, "momentum", steps=3, reference_optimizer=NoDecay(0.05, 0.9))
    assert all(r["passed"] for r in good)
    assert bad[0]["passed"] and not bad[1]["passed"] and bad[1]["torch"] > 1e-6


def test_exactly_constant_float32_batchnorm_channel_is_not_a_false_alarm():
    """Found by the soak (seed 1, after the fix above): here the channel is exactly constant, both
    frameworks give dgamma = 0.0 with no rounding to sample, and the reference's float32 mean of equal
    values was not exact (dgamma 1.3e-5 > atol 1e-5). The reference now accumulates the mean in float64."""
    net = NetDesc(family="conv", dtype="float32", input_shape=(2, 2, 6, 5),
                  blocks=(("relu", {}), ("batchnorm2d", {}), ("maxpool", {}), ("batchnorm2d", {}),
                          ("global_avg_pool", {}), ("affine", {"o": 2})), head="mean_squared_error", seed=3319)
    r = check_network(net)
    assert r.passed, r.message()
