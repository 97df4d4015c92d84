"""Instructions per op of W1, counted by valgrind: a measure of per-op overhead that a loaded machine does not move.

    python benchmarks/icount.py                       # wrapgrad, torch, minimal-tape, numpy: W1 fwd+bwd
    python benchmarks/icount.py --libs wrapgrad --mode fwd --runs 20
    python benchmarks/icount.py --long 999,99999 --libs wrapgrad,torch   # W4's chain: forward per op, growth

For each library, the W1 chain (200 elementwise ops on 10 float64 elements, then a sum) runs under
``valgrind --tool=cachegrind --cache-sim=no`` twice in fresh interpreters: once with 0 calls and once with
``--runs`` calls after the same imports and warm-up. The difference, divided by ``runs * 200``, is the
number of machine instructions one op costs (forward+backward, or the forward alone), including the
interpreter and the backend's own work. Counts are reproducible to about 0.1 % and independent of load,
so they compare two versions of the code where wall-clock timings on a shared machine cannot; they do
not see cache misses or branch mispredictions, so the ratios between libraries are only indicative.
Needs valgrind; takes ~1 min per library.

``--long N1,N2`` counts one forward of W4's residual chain of N ops instead (after a 30-op warm-up), with
the process's gc settings as they are and again with ``gc.disable()`` in the probe, so the difference is
the cyclic collector's work: how per-op cost grows with the graph, in instructions.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

import peers

HERE = os.path.dirname(os.path.abspath(__file__))

_CHILD = r"""
import sys
sys.path.insert(0, {here!r})
import _env
import numpy as np
import peers, workloads
a = peers.ADAPTER_BY_NAME[{lib!r}]()
assert a.available, a.reason
diff, const = workloads.chain_inputs(np.float64, 10)
b = a.bind(workloads.chain200, diff, const)
fn = b.fwd_bwd if {mode!r} == "fwd_bwd" and a.has_grad else b.fwd
for _ in range(3):
    fn()
for _ in range({runs}):
    fn()
"""


_LONG_CHILD = r"""
import sys, gc
sys.path.insert(0, {here!r})
import _env
import numpy as np
import peers, workloads
a = peers.ADAPTER_BY_NAME[{lib!r}]()
assert a.available, a.reason
x = a.leaf(np.linspace(-1.0, 1.0, 10))
workloads.residual_chain(a.xp, x, 30)
if {no_gc}:
    gc.disable()
if {n_ops}:
    loss = workloads.residual_chain(a.xp, x, {n_ops})
"""


def count_long(lib, n_ops, no_gc):
    return _run(_LONG_CHILD.format(here=HERE, lib=lib, n_ops=n_ops, no_gc=no_gc))


def count(lib, mode, runs):
    return _run(_CHILD.format(here=HERE, lib=lib, mode=mode, runs=runs))


def _run(code):
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, "-c", code]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    m = re.search(r"I\s+refs:\s+([\d,]+)", p.stderr)
    if not m or p.returncode != 0:  # valgrind counts a child that failed too: that count means nothing
        child = [line for line in p.stderr.splitlines() if line.strip() and not line.startswith("==")]
        raise RuntimeError(child[-1] if child else f"exit {p.returncode}")  # the child's own last words
    return int(m.group(1).replace(",", ""))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--libs", default="wrapgrad,torch,minimal-tape,numpy")
    p.add_argument("--mode", default="fwd_bwd", choices=("fwd_bwd", "fwd"))
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--long", default=None, help="comma list of W4 chain lengths: count one forward each")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed")
        return 1
    unknown = [lib for lib in args.libs.split(",") if lib not in peers.ADAPTER_BY_NAME]
    if unknown:
        p.error(f"unknown --libs {', '.join(unknown)}; choose from {', '.join(peers.ADAPTER_BY_NAME)}")
    if args.long:
        for lib in args.libs.split(","):
            try:
                base = {no_gc: count_long(lib, 0, no_gc) for no_gc in (False, True)}
                for n in (int(v) for v in args.long.split(",")):
                    n_ops = n // 3 * 3
                    on, off = ((count_long(lib, n, no_gc) - base[no_gc]) / n_ops for no_gc in (False, True))
                    print(f"{lib:10s} {n_ops:>7,} ops: {on:10,.0f} instructions/op forward, {off:10,.0f} with gc "
                          f"disabled (gc: {on - off:,.0f})", flush=True)
            except Exception as e:
                print(f"{lib:10s} failed: {e}")
        return 0
    per_op = {}
    for lib in args.libs.split(","):
        try:
            base = count(lib, args.mode, 0)
            total = count(lib, args.mode, args.runs)
        except Exception as e:
            print(f"{lib:14s} failed: {e}")
            continue
        per_op[lib] = (total - base) / (args.runs * 200)
        print(f"{lib:14s} {per_op[lib]:10,.0f} instructions/op ({args.mode})", flush=True)
    if "wrapgrad" in per_op and "torch" in per_op:
        print(f"wrapgrad / torch = {per_op['wrapgrad'] / per_op['torch']:.3f} (instructions, not time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
