"""A short benchmark for one backend on one device: wrapgrad's gradient against the library's own.

    python benchmarks/device_bench.py --backend torch --device cuda
    python benchmarks/device_bench.py --backend jax --device cuda      # set JAX_PLATFORMS=cuda too
    python benchmarks/device_bench.py --backend cupy --device cuda     # cupy has no autodiff: forward only

The workload is a two-layer MLP loss, ``mean((tanh(x @ w1) @ w2 - y) ** 2)``, at a few batch sizes. For each
it times the forward alone, ``wrapgrad.grad`` and the library's own gradient (``torch.autograd``,
``jax.grad``, and both under ``jax.jit``), synchronising the device after every call, and checks that the
gradients agree. conformance/device_check.sh runs it; it prints one Markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import array_namespace


def loss(w1: Any, w2: Any, x: Any, y: Any) -> Any:
    xp = array_namespace(w1, w2, x, y)
    return xp.mean((xp.tanh(x @ w1) @ w2 - y) ** 2)


def _timed(fn: Callable[[], Any], sync: Callable[[Any], None], rounds: int) -> float:
    sync(fn())  # warm-up (and compilation under jax.jit)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        sync(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _library(backend: str, device: str) -> tuple[Any, Callable[[Any], None], dict[str, Callable[..., Any]]]:
    """(raw namespace, a device sync, the library's own gradients of ``loss`` w.r.t. w1)."""
    import wrapgrad

    if backend == "torch":
        import array_api_compat.torch as xp
        import torch

        torch.set_default_device(device)

        def sync(out: Any) -> None:
            if device.startswith("cuda"):
                torch.cuda.synchronize()

        def torch_grad(w1: Any, w2: Any, x: Any, y: Any) -> Any:
            w1 = w1.detach().requires_grad_()
            (g,) = torch.autograd.grad(loss(w1, w2, x, y), w1)
            return g

        return xp, sync, {"torch.autograd": torch_grad}
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as xp

        if device.startswith("cuda") and jax.default_backend() != "gpu":
            raise SystemExit(f"jax runs on {jax.default_backend()}, not a GPU: set JAX_PLATFORMS=cuda")

        def sync(out: Any) -> None:
            jax.block_until_ready(out)

        return xp, sync, {"jax.grad": jax.grad(loss), "jax.jit(jax.grad)": jax.jit(jax.grad(loss)),
                          "jax.jit(wrapgrad.grad)": jax.jit(wrapgrad.grad(loss))}
    if backend == "cupy":
        import array_api_compat.cupy as xp
        import cupy

        def sync(out: Any) -> None:
            cupy.cuda.Device().synchronize()

        return xp, sync, {}
    if backend == "numpy":
        import array_api_compat.numpy as xp

        return xp, lambda out: None, {}
    raise SystemExit(f"unknown backend {backend!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True, choices=("torch", "jax", "cupy", "numpy"))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (torch: any torch device string)")
    parser.add_argument("--sizes", default="256,4096", help="comma-separated batch sizes")
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)

    import wrapgrad

    xp, sync, references = _library(args.backend, args.device)
    rng = np.random.default_rng(0)
    d = args.features
    print(f"backend {args.backend}, device {args.device}, float64, MLP {d}-{d}-1, median of {args.rounds}")
    print("| batch | forward | wrapgrad.grad | " + " | ".join(references) + " | max |grad diff| |")
    print("|---|---|---|" + "---|" * len(references) + "---|")
    for n in [int(s) for s in args.sizes.split(",")]:
        kw = {"device": args.device} if args.backend == "torch" else {}
        w1 = xp.asarray(rng.standard_normal((d, d)) / np.sqrt(d), **kw)
        w2 = xp.asarray(rng.standard_normal((d, 1)) / np.sqrt(d), **kw)
        x = xp.asarray(rng.standard_normal((n, d)), **kw)
        y = xp.asarray(rng.standard_normal((n, 1)), **kw)
        ours = wrapgrad.grad(loss)
        cells = [_timed(lambda: loss(w1, w2, x, y), sync, args.rounds),
                 _timed(lambda: ours(w1, w2, x, y), sync, args.rounds)]
        diff = 0.0
        g = ours(w1, w2, x, y)
        for reference in references.values():
            cells.append(_timed(lambda r=reference: r(w1, w2, x, y), sync, args.rounds))
            diff = max(diff, float(xp.max(xp.abs(reference(w1, w2, x, y) - g))))
        print(f"| {n} | " + " | ".join(f"{c * 1e3:.3f} ms" for c in cells) + f" | {diff:.1e} |")
        if diff > 1e-10:
            print(f"gradients disagree by {diff}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
