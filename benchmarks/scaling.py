"""Scaling picture: forward+backward time as the graph grows and as the arrays grow, in one run.

    python benchmarks/scaling.py --quick   # ~1-2 min on a 2-core box; provisional numbers
    python benchmarks/scaling.py           # full sweeps, ~5-8 min
    python benchmarks/scaling.py --libs wrapgrad,torch --out /tmp/scaling

Two one-dimensional sweeps of W4's residual chain ``y = y + sin(y) * 1e-4`` (three ops a step; its
gradient stays O(1) at any length, so the gradient check means something and no denormals slow a long
chain down), then a sum, in float64 on one thread:

- **length**: 10^2 to 10^5 ops on 10 elements (tape overhead alone; the per-op cost should stay flat);
- **size**: a 30-op chain on 10 to 10^7 elements (10^6 with ``--quick``).

Columns: wrapgrad over numpy, torch eager, HIPS autograd (forward+backward each) and numpy's forward (the
floor: what the arithmetic of the forward alone costs). Every (library, point) is checked against torch's
gradients first, then timed in interleaved rounds (the order rotated each round); the tables give the
median and the best of the rounds. The process's gc settings are left as they are, as an application
would have them.

The **crossover** is the array size from which backend compute outweighs tape overhead: a library's
fixed per-chain cost is its time at the smallest size, and the crossover is where its time has doubled
(size-dependent work = fixed work), interpolated on the log-log curve of the best-of-rounds times.

Writes ``scaling.md`` (tables), ``scaling.json`` and ``scaling.png`` (log-log; needs matplotlib) into
``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import itertools
import json
import math
import os
import platform
import sys
import time

import numpy as np
import peers
import workloads
from harness import HERE, Task, compare_grads, exc_summary, fmt_time, run_interleaved

LIBS = ("wrapgrad", "torch", "autograd", "numpy")
LENGTHS = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)
LENGTHS_QUICK = (100, 1_000, 10_000, 100_000)
SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
SIZES_QUICK = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
SHORT_CHAIN = 30  # ops of the size sweep's chain
SMALL = 10  # elements of the length sweep


def _inputs(size):
    return [np.random.default_rng(7).uniform(-1.0, 1.0, size)]


def _measure_point(adapters, n_ops, size, rounds, min_sample):
    """One sweep point: check every library's gradient against torch's, then time all in interleaved rounds."""
    fn = lambda xp, x: workloads.residual_chain(xp, x, n_ops)
    diff = _inputs(size)
    tasks, grads, errors = [], {}, {}
    for a in adapters:
        try:
            b = a.bind(fn, diff, [])
            if a.has_grad:
                grads[a.name] = [a.to_numpy(g) for g in b.fwd_bwd()]
                tasks.append(Task(a.name, b.fwd_bwd))
            else:
                tasks.append(Task(a.name, b.fwd))
        except Exception as e:  # a library that fails here is a cell, not a crash
            errors[a.name] = exc_summary(e)
    ref = next((n for n in ("torch", "autograd", "wrapgrad") if n in grads), None)
    for name, g in grads.items():
        if name != ref and ref is not None:
            bad = compare_grads(grads[ref], g, np.float64)
            if bad:
                errors[name] = f"GRADIENT MISMATCH vs {ref}: {bad}"
    del grads
    run_interleaved(tasks, rounds, min_sample, time_budget_s=60.0)
    cells = {}
    for t in tasks:
        if t.error:
            errors.setdefault(t.key, t.error)
        if t.samples and t.key not in errors:
            cells[t.key] = {"median_s": t.median, "best_s": min(t.samples), "rounds": len(t.samples)}
    for name, err in errors.items():
        cells[name] = {"error": err}
    return cells


def _crossover(sizes, times):
    """The size where ``times`` first reaches twice its value at the smallest size (log-log interpolation)."""
    pts = [(s, t) for s, t in zip(sizes, times, strict=True) if t is not None]
    if len(pts) < 2:
        return None
    base = pts[0][1]
    for (s0, t0), (s1, t1) in itertools.pairwise(pts):
        if t1 >= 2 * base:
            if t0 >= 2 * base or t1 == t0:
                return float(s1)
            frac = (math.log(2 * base) - math.log(t0)) / (math.log(t1) - math.log(t0))
            return float(math.exp(math.log(s0) + frac * (math.log(s1) - math.log(s0))))
    return None


def _table(title, axis_name, points, key, libs, per_op):
    lines = [f"## {title}", ""]
    head = [axis_name] + [f"{lib} median (best)" for lib in libs]
    if per_op:
        head += [f"{lib} µs/op" for lib in libs]
    head += ["wrapgrad ÷ torch", "wrapgrad ÷ numpy fwd"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in points:
        row = [f"{p[key]:,}"]
        cells = p["cells"]
        for lib in libs:
            c = cells.get(lib, {})
            timed = f"{fmt_time(c.get('median_s'))} ({fmt_time(c.get('best_s'))})"
            row.append(c["error"][:60] if "error" in c else timed)
        if per_op:
            for lib in libs:
                m = cells.get(lib, {}).get("median_s")
                row.append("—" if m is None else f"{m / p['n_ops'] * 1e6:.2f}")
        wg = cells.get("wrapgrad", {}).get("median_s")
        for other in ("torch", "numpy"):
            o = cells.get(other, {}).get("median_s")
            row.append("—" if wg is None or o is None else f"{wg / o:.2f}×")  # noqa: RUF001
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _plot(result, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    labels = {"wrapgrad": "wrapgrad (numpy)", "torch": "torch eager", "autograd": "HIPS autograd",
              "numpy": "numpy forward (floor)"}
    for ax, sweep, key, xlabel in ((ax1, "length", "n_ops", f"ops in the chain ({SMALL} elements)"),
                                   (ax2, "size", "size", f"elements ({SHORT_CHAIN}-op chain)")):
        for lib in result["libs"]:
            xs, ys = [], []
            for p in result[sweep]:
                m = p["cells"].get(lib, {}).get("median_s")
                if m is not None:
                    xs.append(p[key])
                    ys.append(m)
            if xs:
                ax.loglog(xs, ys, marker="o", label=labels.get(lib, lib), linestyle="--" if lib == "numpy" else "-")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("forward+backward time (s)")
        ax.grid(True, which="both", alpha=0.3)
    cross = result.get("crossover", {}).get("wrapgrad")
    if cross:
        ax2.axvline(cross, color="grey", linestyle=":", label=f"wrapgrad crossover ≈ {cross:,.0f}")
    ax1.set_title("graph length")
    ax2.set_title("array size")
    ax2.legend(fontsize=8)
    fig.suptitle(f"wrapgrad scaling ({result['mode']}, {result['when']}, load {result['load_before'][0]:.2f})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer points and rounds, sizes up to 10^6")
    p.add_argument("--libs", default=",".join(LIBS))
    p.add_argument("--rounds", type=int, default=None, help="timing rounds per point (quick 3, full 7)")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    min_sample = 0.005 if args.quick else 0.02
    adapters = [a for a in peers.load_adapters(args.libs.split(",")) if a.available]
    missing = {a.name: a.reason for a in peers.load_adapters(args.libs.split(",")) if not a.available}
    _env.limit_threadpools()
    libs = [a.name for a in adapters]
    result = {
        "mode": "quick" if args.quick else "full",
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "versions": {a.name: a.version() for a in adapters},
        "missing": missing,
        "load_before": list(os.getloadavg()),
        "libs": libs,
        "rounds": rounds,
        "length": [],
        "size": [],
    }
    t_start = time.perf_counter()
    for n in LENGTHS_QUICK if args.quick else LENGTHS:
        cells = _measure_point(adapters, n, SMALL, rounds, min_sample)
        result["length"].append({"n_ops": n // 3 * 3, "size": SMALL, "cells": cells})
        print(f"length {n:>7,}: " + "  ".join(f"{k} {fmt_time(v.get('median_s'))}" for k, v in cells.items()),
              flush=True)
    for s in SIZES_QUICK if args.quick else SIZES:
        cells = _measure_point(adapters, SHORT_CHAIN, s, rounds, min_sample)
        result["size"].append({"n_ops": SHORT_CHAIN, "size": s, "cells": cells})
        print(f"size {s:>10,}: " + "  ".join(f"{k} {fmt_time(v.get('median_s'))}" for k, v in cells.items()),
              flush=True)
    result["load_after"] = list(os.getloadavg())
    result["seconds"] = time.perf_counter() - t_start
    sizes = [p["size"] for p in result["size"]]
    result["crossover"] = {
        lib: _crossover(sizes, [p["cells"].get(lib, {}).get("best_s") for p in result["size"]]) for lib in libs
    }
    # Flatness of the length sweep: µs/op at the longest chain over µs/op at 10^3 ops. This and the crossover
    # use the best of the rounds, which a shared machine's load spikes disturb least.
    per_op = {}
    for lib in libs:
        by_n = {p["n_ops"]: p["cells"].get(lib, {}).get("best_s") for p in result["length"]}
        short, long_ = by_n.get(999), by_n.get(max(by_n))
        if short and long_:
            per_op[lib] = (long_ / max(by_n)) / (short / 999)
    result["growth_1e3_to_longest"] = per_op

    os.makedirs(args.out, exist_ok=True)
    lines = [
        "# wrapgrad scaling",
        "",
        f"{result['when']}, `python benchmarks/scaling.py{' --quick' if args.quick else ''}` ({result['mode']}), "
        f"{result['machine']}, Python {result['python']}, one thread, float64; "
        f"load average {result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after; "
        f"{rounds} interleaved rounds per point; {result['seconds']:.0f} s.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + ("; not available: " + ", ".join(f"{k} ({v})" for k, v in missing.items()) if missing else ""),
        "",
        "W4's residual chain `y = y + sin(y) * 1e-4` then a sum: forward+backward time (numpy: forward only), "
        "median of the rounds (best of the rounds in brackets).",
        "",
    ]
    lines += _table(f"Graph length ({SMALL} elements)", "ops", result["length"], "n_ops", libs, per_op=True)
    lines += ["", "Per-op cost at the longest chain ÷ per-op cost at 999 ops (best of rounds): "
              + (", ".join(f"{k} {v:.2f}×" for k, v in per_op.items()) or "—"), ""]  # noqa: RUF001
    lines += _table(f"Array size ({SHORT_CHAIN}-op chain)", "elements", result["size"], "size", libs, per_op=False)
    lines += ["", "Crossover (the size from which backend compute outweighs tape overhead: the library's time is "
              "twice its time at the smallest size; best of rounds): "
              + ", ".join(f"{k} ≈ {v:,.0f} elements" if v else f"{k} not reached" for k, v in
                          result["crossover"].items()), ""]
    why = _plot(result, os.path.join(args.out, "scaling.png"))
    lines.append("![scaling](scaling.png)" if why is None else f"(no plot: {why})")
    with open(os.path.join(args.out, "scaling.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "scaling.json"), "w") as f:
        json.dump(result, f, indent=1)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
