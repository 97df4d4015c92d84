"""wrapgrad on a dask.distributed cluster: peak memory of each worker and wall time against the array's size.

For each size, the loss ``mean((tanh(X @ w) - y)**2)`` and its gradient are recorded with ``wrapgrad.dask``
and computed in one ``client.compute`` on a ``LocalCluster`` (fresh workers for each size, so each worker's
peak resident memory, ``ru_maxrss``, belongs to that size alone). The same loss and gradient with
``wrapgrad.numpy`` on the whole array, in a fresh process on this machine, is the reference.

    python benchmarks/dask_cluster.py                          # sizes 64, 256, 1024 MiB; 2 workers of 512 MiB
    python benchmarks/dask_cluster.py --sizes-mib 16,64 --workers 2 --memory-limit 256MiB
    python benchmarks/dask_cluster.py --no-numpy              # skip the one-machine reference

Run it on a quiet machine: wall times on a loaded one say little. Memory peaks are stable across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(1, REPO_ROOT)

COLS = 32

NUMPY_PROBE = r"""
import json, resource, sys, time
import numpy as np
import wrapgrad, wrapgrad.numpy as xp
rows, cols = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.standard_normal((rows, cols)); y = rng.standard_normal(rows)
start = time.perf_counter()
w = xp.asarray(np.zeros(cols), requires_grad=True)
r = xp.tanh(xp.asarray(X) @ w) - xp.asarray(y)
loss = xp.mean(r * r)
loss.backward()
float(loss)
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_cluster(rows: int, chunk_rows: int, workers: int, memory_limit: str) -> dict[str, Any]:
    """One size on a fresh LocalCluster: wall time of the compute and each worker's peak memory."""
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    import wrapgrad.dask as xp

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        base = client.run(_peak_rss_mib)
        X = da.random.default_rng(0).standard_normal((rows, COLS), chunks=(chunk_rows, COLS))
        y = da.random.default_rng(1).standard_normal(rows, chunks=chunk_rows)
        start = time.perf_counter()
        w = xp.asarray(da.zeros(COLS), requires_grad=True)
        r = xp.tanh(xp.asarray(X) @ w) - xp.asarray(y)
        loss = xp.mean(r * r)
        loss.backward()
        recorded = time.perf_counter() - start
        assert w.grad is not None
        client.gather(client.compute([loss._data, w.grad._data]))
        wall = time.perf_counter() - start
        peaks = client.run(_peak_rss_mib)
    return {"wall_s": wall, "record_s": recorded, "worker_peak_mib": sorted(peaks.values()),
            "worker_start_mib": sorted(base.values())}


def run_numpy(rows: int) -> dict[str, Any]:
    """The same loss and gradient with wrapgrad.numpy on the whole array, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    out = subprocess.run([sys.executable, "-c", NUMPY_PROBE, str(rows), str(COLS)], capture_output=True, text=True,
                         env=env, timeout=3600)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", default="64,256,1024", help="sizes of X in MiB, comma-separated")
    parser.add_argument("--chunk-mib", type=float, default=8.0, help="size of one chunk of X in MiB")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="512MiB", help="memory limit of each worker")
    parser.add_argument("--no-numpy", action="store_true", help="skip the one-machine numpy reference")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    chunk_rows = max(1, int(args.chunk_mib * 2**20 / (8 * COLS)))
    results = []
    print(f"{args.workers} workers, memory limit {args.memory_limit} each; X is rows x {COLS} float64, "
          f"{chunk_rows} rows ({args.chunk_mib} MiB) a chunk")
    print("| X (MiB) | rows | cluster wall (s) | worker peak RSS (MiB) | numpy wall (s) | numpy peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for size in (float(s) for s in args.sizes_mib.split(",")):
        rows = int(size * 2**20 / (8 * COLS))
        cluster = run_cluster(rows, chunk_rows, args.workers, args.memory_limit)
        reference = {} if args.no_numpy else run_numpy(rows)
        results.append({"size_mib": size, "rows": rows, "cluster": cluster, "numpy": reference})
        peaks = " / ".join(f"{p:.0f}" for p in cluster["worker_peak_mib"])
        numpy_wall = f"{reference['wall_s']:.2f}" if "wall_s" in reference else reference.get("error", "-")
        numpy_peak = f"{reference['peak_mib']:.0f}" if "peak_mib" in reference else "-"
        print(f"| {size:.0f} | {rows} | {cluster['wall_s']:.2f} | {peaks} | {numpy_wall} | {numpy_peak} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"workers": args.workers, "memory_limit": args.memory_limit, "chunk_rows": chunk_rows,
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
