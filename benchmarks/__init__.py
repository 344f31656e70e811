"""Benchmarks (issue 7): numbers printed and written to JSON, never asserted.

    python -m benchmarks [--quick] [--skip-gate] [--out build/benchmarks/benchmarks.json]

Every figure is the median of repeated runs, with min and max. Comparisons are ratios taken inside the
same repetition (interleaved), then summarized the same way: the machine's speed drifts up to 2x over
seconds, so a ratio of two medians taken at different times would mostly measure the drift.

Experiments: seeds (backprop vs central differences, full and directional, by parameter count),
frameworks (784-50-10 forward+backward: reference vs PyTorch eager vs JAX jit, and the GEMM peak),
harness (the layer-by-layer three-oracle network check vs torch.autograd.gradcheck), gate (examples per
second per oracle, JAX compile cache, gate wall time with and without pytest-xdist).
"""
