"""A gradient over a chunked array larger than one worker's memory, on a dask.distributed cluster.

wrapgrad records the loss and its backward pass as one lazy dask graph; the cluster runs it chunk by chunk,
so no worker ever holds the whole array. Run it as::

    python examples/dask_distributed.py               # 2 workers of 256 MiB each, a 0.5 GiB array
    python examples/dask_distributed.py --rows 4000    # a small run (CI's smoke test)

The loss is a least-squares fit ``mean((X @ w - y)**2)`` over rows of ``X`` drawn on the workers
(``dask.array.random``), so the data never exists in this process either.
"""

from __future__ import annotations

import argparse
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster, progress

import wrapgrad
import wrapgrad.dask as xp


def loss(w: wrapgrad.Tensor, X: wrapgrad.Tensor, y: wrapgrad.Tensor) -> wrapgrad.Tensor:
    """Mean squared error of a linear model, written against the array API only."""
    ns = w.__array_namespace__()
    residual = X @ w - y
    return ns.mean(residual * residual)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of X (default: 2e6, about 0.5 GiB)")
    parser.add_argument("--cols", type=int, default=32, help="columns of X")
    parser.add_argument("--chunk-rows", type=int, default=50_000, help="rows per chunk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="256MiB", help="memory limit of each worker")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    nbytes = args.rows * args.cols * 8
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, memory_limit=args.memory_limit,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        limit = client.run(lambda dask_worker: dask_worker.memory_manager.memory_limit)
        print(f"X: {args.rows} x {args.cols} float64 = {nbytes / 2**20:.0f} MiB in chunks of {args.chunk_rows} rows; "
              f"{args.workers} workers, memory limit {min(limit.values()) / 2**20:.0f} MiB each")
        X = da.random.default_rng(0).standard_normal((args.rows, args.cols), chunks=(args.chunk_rows, args.cols))
        true_w = np.linspace(-1.0, 1.0, args.cols)
        y = X @ true_w + 0.01 * da.random.default_rng(1).standard_normal(args.rows, chunks=args.chunk_rows)
        w = xp.asarray(np.zeros(args.cols), requires_grad=True)  # a small parameter vector (one chunk)

        start = time.perf_counter()
        value = loss(w, xp.asarray(X), xp.asarray(y))
        value.backward()  # lazy: this builds the graph of the gradient, nothing runs yet
        print(f"recorded forward and backward in {time.perf_counter() - start:.2f} s")
        assert w.grad is not None
        # One graph for both: dask shares the work (X @ w, the residual) between the loss and its gradient.
        futures = client.compute([value._data, w.grad._data])
        if not args.no_progress:
            progress(futures)
            print()
        loss_value, grad = client.gather(futures)
        print(f"loss {float(loss_value):.6f}, |grad| {np.linalg.norm(grad):.6f}, computed in "
              f"{time.perf_counter() - start:.2f} s")
        # At w = 0 the gradient is -2 X^T y / n: check it with dask alone (an independent computation).
        expected = dask.compute(-2 * (X.T @ y) / args.rows)[0]
        np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)
        print("gradient matches -2 X^T y / n")


if __name__ == "__main__":
    main()
