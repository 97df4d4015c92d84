"""What the zero-cotangent guard costs (issue 10, section 2), guard on against guard off in one run.

    python benchmarks/zero_cotangent.py [--rounds 21] [--min-sample 0.05] [--workloads W1,W3] [--dtype float64]

For each workload, forward+backward on wrapgrad-over-numpy is timed twice in the same interleaved rounds:
with the default rule (a cotangent element that is exactly 0 contributes 0) and inside
``wrapgrad.ieee_cotangents()`` (plain IEEE products, the rules as they were before the guard). It prints the
best and the median of the rounds and the ratio on/off; the issue aims at <= 1.15 for W3.

It also prints the deterministic costs, which need no quiet machine: the nodes of one backward, how many of
their rules went through the guard (``Backend.guarded_product``), the numpy calls that adds
(``equal`` and ``copyto(where=)``: two per guard, two per chunk of 2**16 elements on large arrays, which
keeps the mask small), the elements those calls touch, and the peak memory of
one forward+backward as tracemalloc counts it (the guard's boolean mask is its only temporary). Gradients with
the guard on and off are checked to be bitwise equal first (no cotangent of these workloads is 0).
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import math
import tracemalloc

import numpy as np
import workloads
from harness import Task, fmt_time, run_interleaved

import wrapgrad
import wrapgrad.numpy as wnp
from wrapgrad import _backend


def bind(key: str, dtype: type) -> tuple:
    """(forward+backward with the guard, the same inside ieee_cotangents, the loss's graph builder)."""
    w = workloads.WORKLOADS[key]
    diff, const = w.make_inputs(dtype)
    leaves = [wnp.asarray(a, requires_grad=True) for a in diff]
    consts = [wnp.asarray(a) for a in const]

    def forward():
        for t in leaves:
            t.grad = None
        return w.fn(wnp, *leaves, *consts)

    def guarded():
        forward().backward()
        return [np.asarray(t.grad) for t in leaves]

    def ieee():
        with wrapgrad.ieee_cotangents():
            forward().backward()
        return [np.asarray(t.grad) for t in leaves]

    return guarded, ieee, forward


def count_nodes(loss) -> int:
    """The nodes of the graph behind ``loss`` (an iterative walk, as the engine's)."""
    seen, stack = set(), [loss._node]
    while stack:
        node = stack.pop()
        if node is None or node in seen or not hasattr(node, "next"):
            continue
        seen.add(node)
        stack.extend(edge[0] for edge in node.next if edge is not None)
    return len(seen)


def deterministic_costs(guarded, forward) -> dict:
    """Count the guard's calls in one backward, the numpy calls they make, and the elements they touch."""
    calls = {"times": 0, "over": 0}
    elements = [0]
    numpy_calls = [0]
    real = _backend.Backend.guarded_product
    numpy_backend = _backend.backend_for(np)

    def counting(self, g, d, quotient=False, conj=False):
        out = real(self, g, d, quotient, conj)
        calls["over" if quotient else "times"] += 1
        elements[0] += math.prod(out.shape)
        return out

    def counting_numpy(fn):
        def call(*args, **kwargs):
            numpy_calls[0] += 1
            return fn(*args, **kwargs)

        return call

    nodes = count_nodes(forward())
    _backend.Backend.guarded_product = counting
    real_copyto, real_equal = numpy_backend._copyto, numpy_backend._equal
    numpy_backend._copyto, numpy_backend._equal = counting_numpy(real_copyto), counting_numpy(real_equal)
    try:
        guarded()
    finally:
        _backend.Backend.guarded_product = real
        numpy_backend._copyto, numpy_backend._equal = real_copyto, real_equal
    n_guards = calls["times"] + calls["over"]
    return {"nodes": nodes, "guards": n_guards, "times": calls["times"], "over": calls["over"],
            "numpy_calls": numpy_calls[0], "elements": elements[0]}


def traced_peak(fn) -> int:
    """Peak bytes allocated during ``fn()`` as tracemalloc sees them (numpy reports its buffers to it)."""
    fn()  # warm: first-call allocations are not the guard's
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--min-sample", type=float, default=0.05, help="seconds per timing sample")
    p.add_argument("--workloads", default="W1,W3")
    p.add_argument("--dtype", default="float64", choices=list(workloads.DTYPES))
    args = p.parse_args()
    dtype = workloads.DTYPES[args.dtype]
    keys = [k.strip() for k in args.workloads.split(",") if k.strip()]
    _env.limit_threadpools()

    tasks, costs = [], {}
    for key in keys:
        guarded, ieee, forward = bind(key, dtype)
        for a, b in zip(guarded(), ieee(), strict=True):
            if not np.array_equal(a, b):
                raise SystemExit(f"{key}: the gradients with the guard on and off differ")
        costs[key] = deterministic_costs(guarded, forward)
        costs[key]["peak_guard"], costs[key]["peak_ieee"] = traced_peak(guarded), traced_peak(ieee)
        tasks += [Task((key, "guard"), guarded), Task((key, "ieee"), ieee)]

    print(f"zero-cotangent guard, wrapgrad over numpy, {args.dtype}, forward+backward, 1 thread, "
          f"{args.rounds} interleaved rounds")
    print("\ndeterministic, per backward:")
    print(f"{'workload':9s} {'nodes':>6s} {'guarded rules':>22s} {'extra numpy calls':>18s} {'elements guarded':>17s} "
          f"{'peak MiB guard / ieee':>22s}")
    for key in keys:
        c = costs[key]
        guards = f"{c['guards']} ({c['times']} times, {c['over']} over)"
        peaks = f"{c['peak_guard'] / 2**20:.2f} / {c['peak_ieee'] / 2**20:.2f}"
        print(f"{key:9s} {c['nodes']:6d} {guards:>22s} {c['numpy_calls']:>18d} {c['elements']:>17,d} {peaks:>22s}")

    run_interleaved(tasks, args.rounds, args.min_sample)
    by_key = {t.key: t for t in tasks}
    print(f"\n{'workload':9s} {'guard best':>11s} {'ieee best':>11s} {'ratio':>6s}   "
          f"{'guard median':>12s} {'ieee median':>12s} {'ratio':>6s}")
    for key in keys:
        on, off = by_key[(key, "guard")], by_key[(key, "ieee")]
        if on.error or off.error:
            print(f"{key:9s} error: {on.error or off.error}")
            continue
        best_on, best_off = min(on.samples), min(off.samples)
        print(f"{key:9s} {fmt_time(best_on):>11s} {fmt_time(best_off):>11s} {best_on / best_off:6.3f}   "
              f"{fmt_time(on.median):>12s} {fmt_time(off.median):>12s} {on.median / off.median:6.3f}")


if __name__ == "__main__":
    main()
