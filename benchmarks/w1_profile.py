"""What bounds W1: wrapgrad's per-op cost taken apart, beside torch and the minimal tape, in one run.

    python benchmarks/w1_profile.py                 # ~1 min: the ladder below, interleaved rounds
    python benchmarks/w1_profile.py --profile       # and cProfile's top functions of wrapgrad's W1

W1 is the chain of 200 element-wise ops on 10 float64 elements (``workloads.chain``). Each row is µs per op,
forward+backward (best of rounds, and the median), and its ratio to torch's in the same run:

- ``torch``: the reference.
- ``minimal tape``: one numpy call, one object, one closure per op (``minimal_tape.py``): the floor.
- ``minimal tape + zero guard``: the same tape, with wrapgrad's zero-cotangent guard
  (``Backend.guarded_product``, the function wrapgrad's rules call) in each product of a cotangent and a local
  derivative: what that one feature costs at the floor.
- ``wrapgrad, ieee_cotangents()``: wrapgrad without the guard.
- ``wrapgrad, general funnel only``: wrapgrad without the fast path (``_fast.general_funnel_only``).
- ``wrapgrad``: as users run it. Then the forward alone, wrapgrad's and torch's.

Gradients of every row are checked against torch's before anything is timed.
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys

import minimal_tape
import numpy as np
import workloads
from harness import Task, run_interleaved

N_OPS = 200


class _GuardedTape:
    """``minimal_tape``'s ops, with each product of a cotangent and a data-dependent derivative guarded by
    wrapgrad's own zero-cotangent guard, as wrapgrad's rules do (products by a finite constant are not)."""

    def __init__(self, guard):
        self.guard = guard
        self.sum = minimal_tape.sum

    def sin(self, x):
        value, guard = x.value, self.guard
        return minimal_tape.Var(np.sin(value), x, lambda g: guard(g, np.cos(value)))

    def tanh(self, x):
        ans, guard = np.tanh(x.value), self.guard
        return minimal_tape.Var(ans, x, lambda g: guard(g, 1 - ans * ans))

    def exp(self, x):
        ans, guard = np.exp(x.value), self.guard
        return minimal_tape.Var(ans, x, lambda g: guard(g, ans))


def _tasks(x0):
    import torch

    import wrapgrad
    import wrapgrad.numpy as wnp
    from wrapgrad import _fast

    torch.set_num_threads(1)
    guarded = _GuardedTape(wnp.asarray(x0)._backend.guarded_product)

    def run_torch():
        x = torch.from_numpy(x0.copy()).requires_grad_(True)
        workloads.chain(torch, x, N_OPS).backward()
        return x.grad.numpy()

    def fwd_torch():
        x = torch.from_numpy(x0.copy()).requires_grad_(True)
        return workloads.chain(torch, x, N_OPS)

    def run_minimal(xp=minimal_tape):
        x = minimal_tape.Var(x0.copy())
        workloads.chain(xp, x, N_OPS).backward()
        return x.grad

    def run_wrapgrad():
        x = wnp.asarray(x0, requires_grad=True)
        workloads.chain(wnp, x, N_OPS).backward()
        return np.asarray(x.grad)

    def fwd_wrapgrad():
        x = wnp.asarray(x0, requires_grad=True)
        return workloads.chain(wnp, x, N_OPS)

    def run_ieee():
        with wrapgrad.ieee_cotangents():
            return run_wrapgrad()

    def run_general():
        with _fast.general_funnel_only():
            return run_wrapgrad()

    return {
        "torch": run_torch,
        "minimal tape": run_minimal,
        "minimal tape + zero guard": lambda: run_minimal(guarded),
        "wrapgrad, ieee_cotangents()": run_ieee,
        "wrapgrad, general funnel only": run_general,
        "wrapgrad": run_wrapgrad,
        "wrapgrad forward": fwd_wrapgrad,
        "torch forward": fwd_torch,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--min-sample", type=float, default=0.02, help="seconds per timing sample")
    p.add_argument("--profile", action="store_true", help="also print cProfile's top functions of wrapgrad's W1")
    args = p.parse_args(argv)
    _env.limit_threadpools()

    x0 = np.random.default_rng(1).uniform(-1.0, 1.0, 10)
    fns = _tasks(x0)
    reference = fns["torch"]()
    for key, fn in fns.items():
        if "forward" not in key:
            got = fn()
            if not np.allclose(got, reference, rtol=1e-10, atol=1e-300):
                print(f"{key}: gradient differs from torch's (max |diff| {np.max(np.abs(got - reference)):.3g})")
                return 1

    load = os.getloadavg()[0]
    tasks = run_interleaved([Task(k, f) for k, f in fns.items()], args.rounds, args.min_sample)
    best = {t.key: min(t.samples) / N_OPS * 1e6 for t in tasks}
    median = {t.key: statistics.median(t.samples) / N_OPS * 1e6 for t in tasks}
    print(f"W1 ({N_OPS} ops, 10 float64 elements), {args.rounds} interleaved rounds; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    print(f"{'':32s} {'best µs/op':>10s} {'÷ torch':>8s} {'median µs/op':>13s} {'÷ torch':>8s}")
    for key in fns:
        ref = "torch forward" if "forward" in key else "torch"
        print(f"{key:32s} {best[key]:10.2f} {best[key] / best[ref]:8.2f} {median[key]:13.2f} "
              f"{median[key] / median[ref]:8.2f}")
    guard = median["minimal tape + zero guard"] - median["minimal tape"]
    in_wrapgrad = median["wrapgrad"] - median["wrapgrad, ieee_cotangents()"]
    print(f"\nthe zero-cotangent guard: {guard:.2f} µs/op at the floor ({guard / median['torch']:.2f} of torch's "
          f"time), {in_wrapgrad:.2f} µs/op in wrapgrad")
    print(f"the fast path saves {median['wrapgrad, general funnel only'] - median['wrapgrad']:.2f} µs/op")

    if args.profile:
        run = fns["wrapgrad"]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(300):
            run()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(16)
        print("\ncProfile of wrapgrad's W1, 300 runs (profiling inflates every Python call):")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-2400:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
