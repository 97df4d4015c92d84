"""Fresh-process probe: peak memory of one (library, workload), or the W4 long chain.

    python benchmarks/memprobe.py peak --lib torch --workload W3 [--dtype float64]
    python benchmarks/memprobe.py w4   --lib wrapgrad [--n-ops 100000]

Prints one JSON line.  Memory is measured as resident set size (RSS) from
/proc/self/status, not tracemalloc: tracemalloc only sees allocations that
go through Python's allocator hooks (numpy registers its buffers, torch and
XLA do not), so it cannot compare libraries fairly.  The peak high-water mark
(VmHWM) is reset via /proc/self/clear_refs right before the measured call,
after one warm-up call, so imports, lazy initialisation and jit compilation
are not counted; the number reported is VmHWM - VmRSS(before the call).
The parent runs us with MALLOC_MMAP_THRESHOLD_=65536 so freed arrays are
returned to the OS and RSS follows live memory.
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import gc
import json
import resource
import sys
import time

import numpy as np
import peers
import workloads
from harness import exc_summary


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def rss():
    return _status("VmRSS")


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_since(baseline, hwm_reset):
    if hwm_reset:
        return _status("VmHWM") - baseline
    # fallback: lifetime maximum (includes imports / warm-up), an over-estimate
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline


def get_adapter(name):
    a = peers.ADAPTER_BY_NAME[name]()
    if not a.available:
        print(json.dumps({"ok": False, "error": a.reason}))
        sys.exit(0)
    return a


def probe_peak(lib, wkey, dtype):
    a = get_adapter(lib)
    w = workloads.WORKLOADS[wkey]
    diff, const = w.make_inputs(workloads.DTYPES[dtype])
    reset = lambda: None
    if w.kind == "jacobian":
        op = a.jacobian(w.fn, diff[0], "vjp")
    else:
        b = a.bind(w.fn, diff, const)
        op = b.fwd_bwd if a.has_grad else b.fwd
        reset = b.reset
    op()  # warm-up: lazy init, jit compile, allocator pools
    reset()  # the warm-up's gradients stay in .grad otherwise, and would be freed inside the measured call
    gc.collect()
    base = rss()
    hw = reset_hwm()
    out = op()
    peak = peak_since(base, hw)
    del out
    return {
        "ok": True,
        "peak_bytes": peak,
        "baseline_rss": base,
        "hwm_reset": hw,
        "what": "fwd+bwd" if a.has_grad else "fwd",
    }


def probe_w4(lib, n_ops, dtype):
    a = get_adapter(lib)
    diff, const = workloads.chain_inputs(workloads.DTYPES[dtype])
    fn = lambda xp, x: workloads.residual_chain(xp, x, n_ops)
    b = a.bind(fn, diff, const)
    res = {"ok": False, "n_ops": n_ops}
    gc.collect()
    base = rss()
    hw = reset_hwm()
    if b.split is None:  # numpy floor: forward only
        t0 = time.perf_counter()
        b.fwd()
        res.update(ok=True, fwd_s=time.perf_counter() - t0)
        return res
    forward_keep, backward = b.split
    stage = "forward"
    try:
        t0 = time.perf_counter()
        h = forward_keep()
        res["fwd_s"] = time.perf_counter() - t0
        graph = rss() - base
        res["graph_bytes"] = graph
        res["graph_bytes_per_op"] = graph / n_ops
        stage = "backward"
        t0 = time.perf_counter()
        grads = backward(h)
        res["bwd_s"] = time.perf_counter() - t0
        res["peak_bytes"] = peak_since(base, hw)
        g = a.to_numpy(grads[0])
        res["grad"] = [float(v) for v in np.asarray(g, dtype=np.float64)]
        res["ok"] = True
    except RecursionError as e:
        res["error"] = f"{stage}: {exc_summary(e)}"
    except Exception as e:
        res["error"] = f"{stage}: {exc_summary(e)}"
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["peak", "w4"])
    p.add_argument("--lib", required=True)
    p.add_argument("--workload", default="W3")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--n-ops", type=int, default=workloads.W4_OPS)
    args = p.parse_args()
    _env.limit_threadpools()
    try:
        if args.mode == "peak":
            res = probe_peak(args.lib, args.workload, args.dtype)
        else:
            res = probe_w4(args.lib, args.n_ops, args.dtype)
    except Exception as e:
        res = {"ok": False, "error": exc_summary(e)}
    print(json.dumps(res))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
