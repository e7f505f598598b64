"""How fast is helpers.batchnorm, next to the memory floor and to TensorFlow?

A report, not a test: it prints a table and the targets, and always exits with code 0.
Run it from the repository root:

    .venv/bin/python benchmarks/bench_batchnorm.py        (or: make bench)

For each float32 shape it times, on the same data:

  ours fwd     helpers.batchnorm_forward(z, gamma, beta, axes=...)
  ours bwd     helpers.batchnorm_backward(dz_tilde, cache)
  floor        np.copyto(out, z) + z.sum(0): one read and one write of the array plus one
               reduction over the batch, the least any batch norm forward pass must do
               (for NHWC: z.reshape(-1, C).sum(0))
  TF fwd       a tf.function of tf.nn.moments + tf.nn.batch_normalization, TensorFlow's
               "unfused" path (no XLA: jit_compile=False)
  TF fwd+bwd   the same inside a tf.GradientTape, in the same tf.function, returning the
               output and the gradients with respect to z, gamma and beta

TensorFlow gets its inputs as tf tensors already, and its outputs are NOT converted with
.numpy(): the TF times are the op time only (on CPU, eager calls of a tf.function run
synchronously, so the result is computed when the call returns).
"ours fwd+bwd" is the sum of the two medians "ours fwd" and "ours bwd".

Every time is a median over repeated rounds. In each round every implementation runs once
(round-robin, in a rotating order) so that a slow drift of the machine (turbo, another
process) hits all of them alike. Warm-up runs (which include TensorFlow's tracing) are not
counted. Fast cases repeat each call several times per sample so that a sample lasts about
5 ms; the number of rounds is chosen so that each shape takes a few seconds.
"""

import gc
import math
import os
import platform
import statistics
import sys
import time

# TensorFlow reads this when it is imported: hide its start-up INFO/WARNING chatter.
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import numpy as np
import tensorflow as tf

from helpers.batchnorm import batchnorm_backward, batchnorm_forward

EPS = 1e-5
CASES = [  # (shape, axes reduced over)
    ((64, 100), (0,)),
    ((256, 1024), (0,)),
    ((4096, 1024), (0,)),
    ((65536, 256), (0,)),
    ((32, 32, 32, 64), (0, 1, 2)),  # NHWC: one mean and variance per channel
]
SECONDS_PER_CASE = 14.0  # timing budget per shape, warm-up excluded
MIN_ROUNDS, MAX_ROUNDS = 7, 301
# A sample of a fast call repeats it until it lasts about this long. TensorFlow's worker threads
# keep spinning for a moment after each call and, on a 2-core machine, slow down whatever runs
# next: with 1 ms samples that cost ~20 us per call to ours at 64x100; 5 ms samples dilute it.
SAMPLE_SECONDS = 5e-3
WARMUP_CALLS = 3

# Targets (see the end of the report).
FLOOR_RATIO_MAX = 3.0  # ours fwd <= 3x the memory floor ...
FLOOR_MIN_MIB = 1.0  # ... for arrays of at least 1 MiB
SMALL_SHAPE = (64, 100)
SMALL_SPEEDUP_MIN = 10.0  # at 64x100 TF must take at least 10x as long as ours


# ----------------------------------------------------------------------------- set-up
def print_environment():
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"NumPy {np.__version__}, TensorFlow {tf.__version__}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print(f"threadpoolctl not installed; os.cpu_count() = {os.cpu_count()}")
    else:
        pools = threadpool_info()
        if not pools:
            print("threadpoolctl: no BLAS/OpenMP pool loaded (NumPy elementwise ops use 1 thread)")
        for pool in pools:
            print(
                f"threadpoolctl: {pool['internal_api']} {pool.get('version')} "
                f"({pool['user_api']}), {pool['num_threads']} threads"
            )
    # 0 means "TensorFlow chooses", which is one thread per core.
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    print(f"TF threads: intra_op={intra}, inter_op={inter} (0 = TF default, one per core)")
    for var in (
        "OPENBLAS_CORETYPE",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "TF_ENABLE_ONEDNN_OPTS",
    ):
        print(f"{var}={os.environ.get(var, '<unset>')}")
    print()


def make_tf_functions(axes):
    """TensorFlow's unfused batch norm, forward and forward+backward, for one `axes`."""
    axes = list(axes)

    def forward(z, gamma, beta):
        mean, var = tf.nn.moments(z, axes=axes)
        return tf.nn.batch_normalization(z, mean, var, beta, gamma, EPS)

    @tf.function(jit_compile=False)
    def tf_fwd(z, gamma, beta):
        return forward(z, gamma, beta)

    @tf.function(jit_compile=False)
    def tf_fwd_bwd(z, gamma, beta, dz_tilde):
        with tf.GradientTape() as tape:
            tape.watch([z, gamma, beta])
            z_tilde = forward(z, gamma, beta)
        dz, dgamma, dbeta = tape.gradient(z_tilde, [z, gamma, beta], output_gradients=dz_tilde)
        return z_tilde, dz, dgamma, dbeta

    return tf_fwd, tf_fwd_bwd


def check_agreement(z, gamma, beta, dz_tilde, axes, tf_fwd_bwd):
    """Stop if ours and TF compute different things: their timings would mean nothing."""
    out, cache = batchnorm_forward(z, gamma, beta, eps=EPS, axes=axes)
    ours = (out, *batchnorm_backward(dz_tilde, cache))
    theirs = [t.numpy() for t in tf_fwd_bwd(*map(tf.constant, (z, gamma, beta, dz_tilde)))]
    for name, a, b in zip(("z_tilde", "dz", "dgamma", "dbeta"), ours, theirs):
        scale = max(1.0, float(np.max(np.abs(b))))
        if not np.allclose(a, b, rtol=1e-3, atol=1e-3 * scale):
            sys.exit(
                f"ours and TF disagree on {name} for shape {z.shape}: "
                f"max |diff| = {np.max(np.abs(a - b)):.3g}"
            )


# ----------------------------------------------------------------------------- timing
def time_round_robin(functions, budget):
    """Median seconds per call of each function, sampled in interleaved rounds."""
    names = list(functions)
    for name in names:  # warm-up: tracing, first-touch page faults, caches
        for _ in range(WARMUP_CALLS):
            functions[name]()

    # Calibrate: how many calls per sample, and how many rounds fit in the budget.
    calls = {}
    round_seconds = 0.0
    for name in names:
        start = time.perf_counter()
        functions[name]()
        one = time.perf_counter() - start
        calls[name] = max(1, math.ceil(SAMPLE_SECONDS / one))
        round_seconds += one * calls[name]
    rounds = min(MAX_ROUNDS, max(MIN_ROUNDS, int(budget / round_seconds)))

    samples = {name: [] for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: no collector pauses inside a sample
    try:
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # rotate the order
            for name in order:
                f, n = functions[name], calls[name]
                start = time.perf_counter()
                for _ in range(n):
                    f()
                samples[name].append((time.perf_counter() - start) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}, rounds


def bench_case(shape, axes, rng):
    z = (rng.standard_normal(shape) * 2.0 + 3.0).astype(np.float32)
    n_units = shape[-1]
    gamma = (1.0 + 0.1 * rng.standard_normal(n_units)).astype(np.float32)
    beta = (0.1 * rng.standard_normal(n_units)).astype(np.float32)
    dz_tilde = rng.standard_normal(shape).astype(np.float32)

    tf_fwd, tf_fwd_bwd = make_tf_functions(axes)
    check_agreement(z, gamma, beta, dz_tilde, axes, tf_fwd_bwd)
    tz, tgamma, tbeta, tdz = map(tf.constant, (z, gamma, beta, dz_tilde))

    _, cache = batchnorm_forward(z, gamma, beta, eps=EPS, axes=axes)
    out = np.empty_like(z)
    z2d = z.reshape(-1, n_units)  # a view: the floor reduces over everything but the units

    def floor():
        np.copyto(out, z)
        z2d.sum(axis=0)

    functions = {
        "ours fwd": lambda: batchnorm_forward(z, gamma, beta, eps=EPS, axes=axes),
        "ours bwd": lambda: batchnorm_backward(dz_tilde, cache),
        "floor": floor,
        "TF fwd": lambda: tf_fwd(tz, tgamma, tbeta),
        "TF fwd+bwd": lambda: tf_fwd_bwd(tz, tgamma, tbeta, tdz),
    }
    medians, rounds = time_round_robin(functions, SECONDS_PER_CASE)
    medians["ours fwd+bwd"] = medians["ours fwd"] + medians["ours bwd"]
    return medians, rounds, z.nbytes / 2**20


# ----------------------------------------------------------------------------- report
def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main():
    started = time.perf_counter()
    print_environment()
    rng = np.random.default_rng(0)

    header = (
        "shape",
        "axes",
        "MiB",
        "ours fwd",
        "ours bwd",
        "floor",
        "TF fwd",
        "TF fwd+bwd",
        "fwd/floor",
        "fwd/TF",
        "f+b/TF",
        "rounds",
    )
    widths = (18, 9, 8, 10, 10, 10, 10, 11, 10, 8, 8, 7)
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths))
    print("float32; times are medians per call; ratios < 1 mean ours is faster")
    print(line)
    print("-" * len(line))

    results = []
    for shape, axes in CASES:
        t, rounds, mib = bench_case(shape, axes, rng)
        ratios = (
            t["ours fwd"] / t["floor"],
            t["ours fwd"] / t["TF fwd"],
            t["ours fwd+bwd"] / t["TF fwd+bwd"],
        )
        results.append((shape, mib, t))
        cells = (
            "x".join(map(str, shape)),
            str(axes).replace(" ", ""),
            f"{mib:.2f}",
            *(fmt_time(t[k]) for k in ("ours fwd", "ours bwd", "floor", "TF fwd", "TF fwd+bwd")),
            *(f"{r:.2f}" for r in ratios),
            str(rounds),
        )
        print("  ".join(f"{c:>{w}}" for c, w in zip(cells, widths)), flush=True)

    print("\nTargets")
    misses = 0

    def target(ok, text):
        nonlocal misses
        misses += not ok
        print(f"  {'ok  ' if ok else 'FAIL'}  {text}")

    for shape, mib, t in results:
        name = "x".join(map(str, shape))
        if mib >= FLOOR_MIN_MIB:
            ratio = t["ours fwd"] / t["floor"]
            target(
                ratio <= FLOOR_RATIO_MAX,
                f"{name}: ours fwd = {ratio:.2f}x the memory floor (<= {FLOOR_RATIO_MAX:g}x)",
            )
        target(
            t["ours fwd"] <= t["TF fwd"],
            f"{name}: ours fwd {fmt_time(t['ours fwd'])} <= TF fwd {fmt_time(t['TF fwd'])}",
        )
        target(
            t["ours fwd+bwd"] <= t["TF fwd+bwd"],
            f"{name}: ours fwd+bwd {fmt_time(t['ours fwd+bwd'])} "
            f"<= TF fwd+bwd {fmt_time(t['TF fwd+bwd'])}",
        )
        if shape == SMALL_SHAPE:
            for ours, theirs in (("ours fwd", "TF fwd"), ("ours fwd+bwd", "TF fwd+bwd")):
                speedup = t[theirs] / t[ours]
                target(
                    speedup >= SMALL_SPEEDUP_MIN,
                    f"{name}: {ours} is {speedup:.1f}x faster than {theirs} "
                    f"(>= {SMALL_SPEEDUP_MIN:g}x)",
                )
    print(f"\n{misses} target(s) missed; whole run took {time.perf_counter() - started:.0f} s")
    # A report, never a test: the exit code is 0 whatever the numbers.


if __name__ == "__main__":
    main()
