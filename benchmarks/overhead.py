"""Per-op autograd overhead, in one short run.

    python benchmarks/overhead.py [--rounds 21] [--ops 200] [--size 10] [--dtype float64]

Forward+backward microseconds per op for the W1 chain (200 cheap elementwise
ops on a 10-element float64 array, then a sum) on wrapgrad-over-numpy, torch
eager and HIPS autograd (each if installed), with raw numpy's forward and the
minimal Python tape (``minimal_tape.py``: one numpy call, one object and one
closure per op) as floors, and the ratio wrapgrad / torch.  Gradients are
checked against each other before anything is timed.
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import sys

import peers
import workloads
from harness import Task, compare_grads, exc_summary, run_interleaved

LIBS = ("wrapgrad", "torch", "autograd", "numpy", "minimal-tape")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--ops", type=int, default=200)
    p.add_argument("--size", type=int, default=10)
    p.add_argument("--dtype", default="float64", choices=list(workloads.DTYPES))
    p.add_argument("--min-sample", type=float, default=0.01, help="seconds per timing sample")
    args = p.parse_args()

    dtype = workloads.DTYPES[args.dtype]
    diff, const = workloads.chain_inputs(dtype, args.size)
    fn = lambda xp, x: workloads.chain(xp, x, args.ops)
    adapters = peers.load_adapters(LIBS)
    _env.limit_threadpools()

    print(
        f"{args.ops}-op elementwise chain on {args.size} {args.dtype} elements, forward+backward, "
        f"1 thread, median of {args.rounds} interleaved rounds"
    )
    tasks, grads, errors = [], {}, {}
    for a in adapters:
        if not a.available:
            continue
        try:
            b = a.bind(fn, diff, const)
            if a.has_grad:
                grads[a.name] = [a.to_numpy(g) for g in b.fwd_bwd()]
                tasks.append(Task((a.name, "fwd_bwd"), b.fwd_bwd))
            tasks.append(Task((a.name, "fwd"), b.fwd))
        except Exception as e:
            errors[a.name] = exc_summary(e)

    ref = next((n for n in ("torch", "autograd", "wrapgrad") if n in grads), None)
    bad_libs = set()
    for name, g in grads.items():
        if name != ref:
            bad = compare_grads(grads[ref], g, dtype)
            if bad:
                bad_libs.add(name)
                print(f"GRADIENT MISMATCH: {name} vs {ref}: {bad}")

    run_interleaved(tasks, args.rounds, args.min_sample)
    med = {}
    for t in tasks:
        if t.error:
            errors.setdefault(t.key[0], t.error)
        elif t.median is not None:
            med[t.key] = t.median * 1e6 / args.ops

    print(f"\n{'library':22s} {'µs/op fwd+bwd':>14s} {'µs/op fwd':>10s}  note")
    for a in adapters:
        if not a.available:
            print(f"{a.label:22s} {'—':>14s} {'—':>10s}  {a.reason}")
            continue
        fb, fw = med.get((a.name, "fwd_bwd")), med.get((a.name, "fwd"))
        note = errors.get(a.name, "")
        if a.name in bad_libs:
            note = "WRONG GRADIENT " + note
        if a.name == "numpy":
            note = note or "forward only (floor)"
        if a.name == "minimal-tape":
            note = note or "the least any Python tape over numpy costs"
        print(
            f"{a.label:22s} {'—' if fb is None else f'{fb:.3f}':>14s} {'—' if fw is None else f'{fw:.3f}':>10s}  {note}"
        )

    wg, to = med.get(("wrapgrad", "fwd_bwd")), med.get(("torch", "fwd_bwd"))
    ag = med.get(("autograd", "fwd_bwd"))
    print()
    if wg and to:
        r = wg / to
        print(f"wrapgrad / torch    = {r:.3f}x   (target <= 0.5x: {'PASS' if r <= 0.5 else 'FAIL'})")
    else:
        print(
            "wrapgrad / torch    = n/a ("
            + ", ".join(
                f"{n}: {errors.get(n) or next((a.reason for a in adapters if a.name == n), '')}"
                for n in ("wrapgrad", "torch")
                if not med.get((n, "fwd_bwd"))
            )
            + ")"
        )
    if wg and ag:
        print(f"wrapgrad / autograd = {wg / ag:.3f}x")
    floor = med.get(("minimal-tape", "fwd_bwd"))
    if floor and to:
        print(f"minimal tape / torch = {floor / to:.3f}x   (the floor of a Python tape on this machine)")
    return 1 if bad_libs or "wrapgrad" in errors else 0


if __name__ == "__main__":
    sys.exit(main())
