"""What the tape costs Python's cyclic garbage collector: deterministic counts, plus timings.

    python benchmarks/gcprobe.py                 # wrapgrad and torch, W4's residual chain
    python benchmarks/gcprobe.py --n-ops 30000 --libs wrapgrad --json

For each library, in one process:

- **GC-tracked objects per op** that outlive the forward call: ``len(gc.get_objects())`` after a
  full collection with the graph alive, minus the same count before the forward, divided by the number
  of recorded ops. A full collection first, so tuples that the collector would untrack (those holding
  only untracked atoms: arrays, ints, strings) are not counted; that is what later collections see.
- **Collections during the forward**, per generation, and the seconds they took (``gc.callbacks``),
  for one forward of ``--n-ops`` ops with the process's own gc settings untouched.
- **Forward µs/op** at 10^3 and at ``--n-ops`` ops, best of ``--repeat`` (the first count is
  deterministic; the timings need a quiet machine).

The counts do not depend on the machine's load; the timings do.
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import gc
import json
import sys
import time

import numpy as np
import peers
import workloads


def _make(lib, x0):
    adapter = peers.ADAPTER_BY_NAME[lib]()
    if not adapter.available:
        raise RuntimeError(adapter.reason)
    return adapter, adapter.leaf(x0)


def _forward(adapter, x, n_ops):
    return workloads.residual_chain(adapter.xp, x, n_ops)


class _GCWatch:
    """Counts collections per generation and the time spent in them, through ``gc.callbacks``."""

    def __init__(self):
        self.counts = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._t0 = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            gen = info["generation"]
            self.counts[gen] += 1
            self.seconds[gen] += time.perf_counter() - self._t0

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def tracked_per_op(lib, n_ops=3000):
    """GC-tracked objects that the recorded graph holds, per op (after a full collection)."""
    adapter, x = _make(lib, np.linspace(-1.0, 1.0, 10))
    _forward(adapter, x, 30)  # warm caches (dispatch tables, lazy imports)
    gc.collect()
    before = len(gc.get_objects())
    loss = _forward(adapter, x, n_ops)
    gc.collect()
    after = len(gc.get_objects())
    del loss
    return (after - before) / (n_ops // 3 * 3)


def forward_profile(lib, n_ops, repeat):
    """Collections and their time during forwards of ``n_ops`` ops (gc settings untouched), best-of timings."""
    adapter, x = _make(lib, np.linspace(-1.0, 1.0, 10))
    _forward(adapter, x, 30)
    best = float("inf")
    watch_best = None
    for _ in range(repeat):
        gc.collect()
        with _GCWatch() as watch:
            t0 = time.perf_counter()
            loss = _forward(adapter, x, n_ops)
            t = time.perf_counter() - t0
        del loss
        if t < best:
            best, watch_best = t, watch
    assert watch_best is not None
    return {
        "n_ops": n_ops,
        "us_per_op": best / n_ops * 1e6,
        "collections": watch_best.counts,
        "gc_seconds": [round(s, 4) for s in watch_best.seconds],
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--libs", default="wrapgrad,torch")
    p.add_argument("--n-ops", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    _env.limit_threadpools()
    out = {"threshold": gc.get_threshold(), "objects_at_start": len(gc.get_objects())}
    for lib in args.libs.split(","):
        try:
            row = {"tracked_per_op": round(tracked_per_op(lib), 3)}
            small = forward_profile(lib, 999, max(args.repeat, 20))
            large = forward_profile(lib, args.n_ops, args.repeat)
            row.update(small=small, large=large, growth=large["us_per_op"] / small["us_per_op"])
        except Exception as exc:  # a missing peer is a row, not a crash
            row = {"error": f"{type(exc).__name__}: {exc}"}
        out[lib] = row
    if args.json:
        print(json.dumps(out))
        return
    print(f"gc threshold {out['threshold']}, {out['objects_at_start']} tracked objects at start")
    for lib in args.libs.split(","):
        row = out[lib]
        if "error" in row:
            print(f"{lib:10s} {row['error']}")
            continue
        s, g = row["small"], row["large"]
        print(f"{lib:10s} tracked/op {row['tracked_per_op']:5.2f} | fwd µs/op {s['us_per_op']:6.2f} @{s['n_ops']} "
              f"{g['us_per_op']:6.2f} @{g['n_ops']} (x{row['growth']:.2f}) | collections gen0/1/2 "
              f"{g['collections']} in {sum(g['gc_seconds']):.3f} s")


if __name__ == "__main__":
    sys.exit(main())
