"""What views cost: slice-write loops, and the ordinary path (W1, W2) that never writes through a view.

    python benchmarks/views.py [--wrapgrad PATH] [--label NAME] [--rounds 7] [--no-timing] [--json FILE]

Run it once on the checkout to measure and once with ``--wrapgrad`` pointing at an older checkout (the
"before"), on a quiet machine for the timings. Two kinds of numbers come out:

- deterministic counts, valid on any machine: Python-level function calls per run (``sys.setprofile``),
  and the bytes that ``__setitem__`` copies per run (copy-on-write). These show the quadratic copying of
  slice-write loops before, and that W1/W2 make the calls they made before;
- timings (median of ``--rounds`` after a warm-up), which need an otherwise idle machine.

Workloads:

- ``slice-add N``: the overlap-add loop of ``scipy.signal.oaconvolve`` by hand: an output of ``N*64 + 16``
  elements, and for each of the ``N`` blocks ``out[i*64 : i*64 + 80] += block`` (no gradient); N = 16 ... 1024;
- ``slice-add-grad fwd N``: the same with blocks that require grad (the graph recorded, then dropped);
  ``fwd+bwd`` adds ``backward``, whose ``__setitem__`` and ``__getitem__`` rules make a cotangent as large as
  the output for every write (torch's CopySlices does too), so backward stays O(N) per write;
- ``view-add N``: ``v = out[...]; v += block`` (the form that lost its writes before views existed: its
  result is then wrong, but the cost is still measured);
- ``oaconvolve``: ``scipy.signal.oaconvolve`` of 4096 by 64 samples (when SciPy is installed);
- ``W1``: the 200-op elementwise chain on 10 elements, forward+backward; ``W2``: the MLP step of
  ``workloads.py`` (batch 64, 784-256-256-10), forward+backward.
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

BLOCK, OVERLAP = 64, 16


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wrapgrad", default=None, help="import wrapgrad from this checkout instead of this one")
    p.add_argument("--label", default=None, help="name of this run in the output (default: the checkout)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--no-timing", action="store_true", help="only the deterministic counts")
    p.add_argument("--json", default=None, help="also write the results to this file")
    return p.parse_args()


def _workloads(xp: Any, np: Any) -> dict[str, Callable[[], Any]]:
    import workloads

    rng = np.random.default_rng(0)
    out: dict[str, Callable[[], Any]] = {}
    for n in (16, 64, 256, 1024):
        length = n * BLOCK + OVERLAP
        blocks = [xp.asarray(rng.standard_normal(BLOCK + OVERLAP)) for _ in range(n)]

        def slice_add(blocks: list[Any] = blocks, length: int = length) -> Any:
            out = xp.zeros(length)
            for i, block in enumerate(blocks):
                out[i * BLOCK:i * BLOCK + BLOCK + OVERLAP] += block
            return out

        def view_add(blocks: list[Any] = blocks, length: int = length) -> Any:
            out = xp.zeros(length)
            for i, block in enumerate(blocks):
                v = out[i * BLOCK:i * BLOCK + BLOCK + OVERLAP]
                v += block
            return out

        x = xp.asarray(rng.standard_normal((n, BLOCK + OVERLAP)), requires_grad=True)

        def slice_add_grad(x: Any = x, length: int = length, n: int = n, backward: bool = True) -> Any:
            x.grad = None
            out = xp.zeros(length)
            for i in range(n):
                out[i * BLOCK:i * BLOCK + BLOCK + OVERLAP] += x[i, :] * 2.0
            loss = xp.sum(out * out)
            if backward:
                loss.backward()
            return loss

        out[f"slice-add {n}"] = slice_add
        out[f"view-add {n}"] = view_add
        out[f"slice-add-grad fwd {n}"] = lambda f=slice_add_grad: f(backward=False)
        out[f"slice-add-grad fwd+bwd {n}"] = slice_add_grad
    try:
        os.environ.setdefault("SCIPY_ARRAY_API", "1")
        import scipy.signal

        a, b = xp.asarray(rng.standard_normal(4096)), xp.asarray(rng.standard_normal(64))
        out["oaconvolve 4096x64"] = lambda: scipy.signal.oaconvolve(a, b)
    except ImportError:
        pass

    (w1x,), _ = workloads.chain_inputs(np.float64, 10)
    w1 = xp.asarray(w1x, requires_grad=True)

    def run_w1() -> Any:
        w1.grad = None
        workloads.chain(xp, w1, 200).backward()
        return w1.grad

    diff, const = workloads.mlp_inputs(np.float64)
    params = [xp.asarray(p, requires_grad=True) for p in diff]
    consts = [xp.asarray(c) for c in const]

    def run_w2() -> Any:
        for p in params:
            p.grad = None
        workloads.mlp_loss(xp, *params, *consts).backward()
        return params[0].grad

    out["W1 fwd+bwd"] = run_w1
    out["W2 fwd+bwd"] = run_w2
    return out


def _calls(fn: Callable[[], Any]) -> int:
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


def _bytes_copied(fn: Callable[[], Any]) -> int:
    """Bytes of the new arrays that the funnel's ``__setitem__`` made during one run (copy-on-write copies;
    an in-place write makes none). Counted by wrapping ``Backend.set_item``, which both checkouts have."""
    from wrapgrad import _backend

    original = _backend.Backend.set_item
    copied = 0

    def counting(self: Any, data: Any, key: Any, value: Any) -> Any:
        nonlocal copied
        out = original(self, data, key, value)
        if out is not data:
            copied += int(out.nbytes)
        return out

    _backend.Backend.set_item = counting  # type: ignore[method-assign]
    try:
        fn()
    finally:
        _backend.Backend.set_item = original  # type: ignore[method-assign]
    return copied


def _time(fn: Callable[[], Any], rounds: int) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        reps, elapsed = 0, 0.0
        start = time.perf_counter()
        while elapsed < 0.02:
            fn()
            reps += 1
            elapsed = time.perf_counter() - start
        samples.append(elapsed / reps)
    return statistics.median(samples)


def main() -> None:
    args = _parse()
    if args.wrapgrad:
        sys.path.insert(0, os.path.abspath(args.wrapgrad))
    import numpy as np

    import wrapgrad
    import wrapgrad.numpy as xp

    source = os.path.dirname(os.path.dirname(os.path.abspath(wrapgrad.__file__)))
    label = args.label or source
    has_views = _has_views(xp)
    _env.limit_threadpools()
    results: dict[str, dict[str, Any]] = {}
    for name, fn in _workloads(xp, np).items():
        fn()  # warm-up: first-use caches (function tables, imports) are not part of the cost
        row: dict[str, Any] = {"python calls": _calls(fn)}
        row["setitem bytes copied"] = _bytes_copied(fn)
        if not args.no_timing:
            row["seconds"] = _time(fn, args.rounds)
        results[name] = row
    print(f"## {label} (wrapgrad from {source}; writes through views: {'yes' if has_views else 'no'})\n")
    columns = ["python calls", "setitem bytes copied"] + ([] if args.no_timing else ["seconds"])
    print("| workload | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in results.items():
        cells = [f"{row[c]:.3g}" if c == "seconds" else str(row[c]) for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"label": label, "source": source, "views": has_views, "results": results}, f, indent=1)


def _has_views(xp: Any) -> bool:
    a = xp.zeros(2)
    v = a[0:1]
    v += 1.0
    return float(a[0]) == 1.0


if __name__ == "__main__":
    main()
