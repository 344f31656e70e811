"""pytest plugin of the decision code's mutation run (mutation/decision.toml: `-p mutation.decision_warm`).

The tests of the decision code ask JAX, whose threads do not survive a fork: mutmut's default (fork every
mutant from the process that ran the tests once) deadlocks there. decision.toml uses mutmut's fork server,
which only collects the tests; this warms up there, once, what every mutant would otherwise pay (PyTorch's
first autograd call, Hypothesis's and the oracles' lazy imports), without starting JAX's backend.
"""


def pytest_collection_finish(session):
    import oracles

    if not getattr(oracles, "_decision_warm", False):
        from oracles import REGISTRY, run_check

        run_check(REGISTRY["affine"], "float64", ("torch", "numerical"), max_examples=1, record=False)
        oracles._decision_warm = True
