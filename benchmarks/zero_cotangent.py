"""What the zero-cotangent guard costs (issue 10, section 2), guard on against guard off in one run.

    python benchmarks/zero_cotangent.py [--rounds 21] [--min-sample 0.05] [--workloads W1,W3] [--dtype float64]

For each workload, forward+backward on wrapgrad-over-numpy is timed twice in the same interleaved rounds:
with the default rule (a cotangent element that is exactly 0 contributes 0) and inside
``wrapgrad.ieee_cotangents()`` (plain IEEE products, the rules as they were before the guard). It prints the
best and the median of the rounds and the ratio on/off; the issue aims at <= 1.15 for W3.

It also prints the deterministic costs, which need no quiet machine: the nodes of one backward, how many of
their rules went through the guard (``Backend.times`` / ``Backend.over``), the numpy calls that adds (two
per guard on numpy: ``equal`` and ``copyto(where=)``), and the elements those calls touch. Gradients with
the guard on and off are checked to be bitwise equal first (no cotangent of these workloads is 0).
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import math

import numpy as np
import workloads
from harness import Task, fmt_time, run_interleaved

import wrapgrad
import wrapgrad.numpy as wnp
from wrapgrad import _backend

NUMPY_CALLS_PER_GUARD = 2  # np.equal(g, 0) and np.copyto(out, 0, where=...): see Backend.times


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
    """Count the guard's calls in one backward, and the elements they touch."""
    calls = {"times": 0, "over": 0}
    elements = [0]
    real = {name: getattr(_backend.Backend, name) for name in calls}

    def counting(name):
        def call(self, g, d):
            out = real[name](self, g, d)
            calls[name] += 1
            elements[0] += math.prod(out.shape)
            return out

        return call

    nodes = count_nodes(forward())
    for name in calls:
        setattr(_backend.Backend, name, counting(name))
    try:
        guarded()
    finally:
        for name, fn in real.items():
            setattr(_backend.Backend, name, fn)
    n_guards = calls["times"] + calls["over"]
    return {"nodes": nodes, "guards": n_guards, "times": calls["times"], "over": calls["over"],
            "numpy_calls": NUMPY_CALLS_PER_GUARD * n_guards, "elements": elements[0]}


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
        tasks += [Task((key, "guard"), guarded), Task((key, "ieee"), ieee)]

    print(f"zero-cotangent guard, wrapgrad over numpy, {args.dtype}, forward+backward, 1 thread, "
          f"{args.rounds} interleaved rounds")
    print("\ndeterministic, per backward:")
    print(f"{'workload':9s} {'nodes':>6s} {'guarded rules':>14s} {'extra numpy calls':>18s} {'elements guarded':>17s}")
    for key in keys:
        c = costs[key]
        print(f"{key:9s} {c['nodes']:6d} {c['guards']:>6d} ({c['times']} x, {c['over']} /) "
              f"{c['numpy_calls']:>11d} {c['elements']:>17,d}")

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
