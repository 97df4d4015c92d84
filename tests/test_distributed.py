"""A gradient on a real dask.distributed cluster: 2 worker processes on the loopback, a memory limit each.

wrapgrad builds the graph of the loss and its gradient here; the workers compute it. The result is checked
against the same gradient in closed form, computed with numpy in this process. Every wait has a timeout, so
the test ends by itself even if the cluster hangs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("dask.array", reason="dask[array] is not installed")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 120
MEMORY_LIMIT = 512 * 2**20


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=MEMORY_LIMIT,
                                       host="127.0.0.1", dashboard_address=None, timeout=TIMEOUT_S)
    client = distributed.Client(cluster, timeout=TIMEOUT_S)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


def test_gradient_on_a_local_cluster(client: Any) -> None:
    import dask.array as da

    import wrapgrad
    import wrapgrad.dask as xp

    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(w["memory_limit"] == MEMORY_LIMIT for w in workers.values())
    rng = np.random.default_rng(0)
    X_np, y_np, w_np = rng.standard_normal((400, 6)), rng.standard_normal(400), rng.standard_normal(6)

    def loss(w: Any, X: Any, y: Any) -> Any:
        residual = xp.tanh(X @ w) - y
        # the masked term sends wrapgrad's own block functions (the write back through the mask) to the workers
        return xp.mean(residual * residual) + 0.1 * xp.sum(residual[residual > 0])

    X, y = xp.asarray(da.from_array(X_np, chunks=(50, 6))), xp.asarray(da.from_array(y_np, chunks=50))
    w = xp.asarray(w_np, requires_grad=True)
    value = loss(w, X, y)
    value.backward()
    g = wrapgrad.grad(loss)(xp.asarray(w_np), X, y)
    futures = client.compute([value._data, w.grad._data, g._data])
    loss_value, grad, functional_grad = client.gather(futures)
    assert all(f.status == "finished" for f in futures)
    # closed form, numpy only, with r = tanh(Xw) - y: d/dw [mean(r^2) + 0.1 sum(r[r > 0])]
    # = X^T ((2/n r + 0.1 [r > 0]) (1 - tanh(Xw)^2))
    t = np.tanh(X_np @ w_np)
    r = t - y_np
    expected = X_np.T @ ((2 / len(y_np) * r + 0.1 * (r > 0)) * (1 - t**2))
    np.testing.assert_allclose(loss_value, np.mean(r**2) + 0.1 * r[r > 0].sum(), rtol=1e-13)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(functional_grad, expected, rtol=1e-12, atol=1e-14)


def test_example_runs_small() -> None:
    """The example's smoke test: a small size, its own cluster, its progress bar and its own check."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_distributed.py"), "--rows", "3000", "--chunk-rows", "500"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gradient matches" in result.stdout
    assert "100% Completed" in result.stdout + result.stderr
