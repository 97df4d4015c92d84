"""Backward calls from several threads: accumulation into a shared ``.grad`` never loses an update.

numpy drops the GIL inside large operations, so without a guard the read-add-write of a shared leaf's
``.grad`` races (four threads once ended at about half the true sum). torch promises atomic accumulation;
so does wrapgrad, without one global lock for unrelated graphs.
"""

from __future__ import annotations

import threading
import time
from types import ModuleType

import numpy as np
import pytest

N_THREADS = 4
CALLS = 300
SIZE = 100_000


def _run_threads(worker, n: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            worker(k)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread did not finish"
    return errors


def test_concurrent_backward_into_one_shared_leaf_loses_no_update(xp: ModuleType) -> None:
    w = xp.ones((SIZE,), dtype=xp.float64, requires_grad=True)
    # Thread k multiplies by k + 1, so the exact total is CALLS * (1 + 2 + ... + N_THREADS) in every element:
    # small integers, exact in float64 whatever the order of the additions.
    data = [xp.full((SIZE,), float(k + 1), dtype=xp.float64) for k in range(N_THREADS)]

    def worker(k: int) -> None:
        for _ in range(CALLS):
            xp.sum(w * data[k]).backward()

    assert not _run_threads(worker, N_THREADS)
    expected = CALLS * N_THREADS * (N_THREADS + 1) / 2
    got = np.asarray(w.grad)
    assert np.all(got == expected), f"lost updates: min {got.min()}, max {got.max()}, expected {expected}"


def test_mixed_concurrent_forward_and_backward_stay_exact(xp: ModuleType) -> None:
    """Threads build their own graphs (some through a shared leaf) and run backward until a deadline; every
    gradient, shared or private, equals the count of calls times the gradient of one call."""
    shared = xp.ones((64,), dtype=xp.float64, requires_grad=True)
    deadline = time.monotonic() + 2.0
    counts = [0] * N_THREADS
    private = [xp.full((64,), float(k), dtype=xp.float64, requires_grad=True) for k in range(N_THREADS)]

    def worker(k: int) -> None:
        own = private[k]
        while time.monotonic() < deadline:
            # d/dshared sum(shared * (own + 1) + own ** 2) = own + 1 = k + 1 (own is constant: only .grad grows);
            # d/down = shared + 2 own = 1 + 2k.
            y = shared * (own + 1.0) + own ** 2
            if counts[k] % 2:
                xp.sum(y).backward()
            else:  # every other call goes through a retained graph and a second root
                z = xp.sum(y * 0.5)
                (z + z).backward(retain_graph=True)
            counts[k] += 1

    assert not _run_threads(worker, N_THREADS)
    assert all(c > 0 for c in counts)
    expected_shared = sum(c * (k + 1) for k, c in enumerate(counts))
    assert np.all(np.asarray(shared.grad) == expected_shared)
    for k, own in enumerate(private):
        assert np.all(np.asarray(own.grad) == counts[k] * (1 + 2 * k))


def test_grad_mode_is_per_thread(xp: ModuleType) -> None:
    """no_grad in one thread leaves recording on in another (grad mode is a ContextVar)."""
    import wrapgrad

    x = xp.ones((3,), requires_grad=True)
    inside = threading.Event()
    release = threading.Event()
    seen: dict[str, bool] = {}

    def quiet() -> None:
        with wrapgrad.no_grad():
            inside.set()
            release.wait(timeout=30)
            seen["quiet"] = (x * 2).requires_grad

    t = threading.Thread(target=quiet, daemon=True)
    t.start()
    assert inside.wait(timeout=30)
    seen["main"] = (x * 2).requires_grad
    release.set()
    t.join(timeout=30)
    assert seen == {"quiet": False, "main": True}


@pytest.mark.parametrize("n", [1])
def test_threads_helper_reports_errors(n: int) -> None:
    def boom(k: int) -> None:
        raise ValueError("from a worker")

    errors = _run_threads(boom, n)
    assert [type(e) for e in errors] == [ValueError]
