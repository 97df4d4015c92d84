"""``xp.special`` forward and forward+backward, beside SciPy and jax, in one run.

    python benchmarks/special.py [--size 1000000] [--rounds 15]

For ``erf`` and ``gammaln`` on ``--size`` float64 elements (default 10^6), one thread, median of interleaved
rounds:

- ``scipy``: ``scipy.special.<name>`` on the raw numpy array (with ``SCIPY_ARRAY_API=1``, as wrapgrad's
  users run SciPy), the floor;
- ``wrapgrad fwd``: ``wrapgrad.numpy.special.<name>`` on a Tensor that requires grad (the node is recorded);
- ``wrapgrad fwd+bwd``: the forward, a ``sum`` and ``backward``;
- ``jax fwd`` / ``jax grad``: ``jax.jit`` of ``jax.scipy.special.<name>`` and of ``jax.grad`` of its sum
  (jax eager would time dispatch, not the function), and ``jax.jit(wrapgrad.grad(...))`` over jax arrays.

The aim (issue 12): wrapgrad's forward within 1.1x of SciPy's. Gradients are checked against each other
before anything is timed.
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import os
import sys

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
from harness import Task, fmt_time, run_interleaved

FUNCTIONS = ("erf", "gammaln")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--min-sample", type=float, default=0.05, help="seconds per timing sample")
    args = p.parse_args()

    import scipy.special

    import wrapgrad
    import wrapgrad.numpy as wnp

    _env.limit_threadpools()
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 3.0, args.size)
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.special as jsp
    except ImportError:
        jax = None

    tasks: list[Task] = []
    bad = []
    for name in FUNCTIONS:
        sp_fn = getattr(scipy.special, name)
        wg_fn = getattr(wnp.special, name)
        t = wnp.asarray(x, requires_grad=True)

        def fwd_bwd(t=t, wg_fn=wg_fn):
            t.grad = None
            wnp.sum(wg_fn(t)).backward()
            return t.grad

        expected = {"erf": 2 / np.sqrt(np.pi) * np.exp(-x * x), "gammaln": scipy.special.psi(x)}[name]
        if not np.allclose(np.asarray(fwd_bwd().detach()), expected, rtol=1e-12):
            bad.append(f"wrapgrad {name}")
        tasks += [
            Task((name, "scipy"), lambda sp_fn=sp_fn: sp_fn(x)),
            Task((name, "wrapgrad fwd"), lambda t=t, wg_fn=wg_fn: wg_fn(t)),
            Task((name, "wrapgrad fwd+bwd"), fwd_bwd),
        ]
        if jax is not None:
            xj = jnp.asarray(x)
            j_fn = getattr(jsp, name)
            j_fwd = jax.jit(j_fn)
            j_grad = jax.jit(jax.grad(lambda v, j_fn=j_fn: jnp.sum(j_fn(v))))
            wj = wrapgrad.namespace(jnp)
            wg_jit = jax.jit(wrapgrad.grad(lambda v, name=name, wj=wj: wj.sum(getattr(wj.special, name)(v))))
            for label, fn in (("jax grad", j_grad), ("jit(wrapgrad.grad) on jax", wg_jit)):
                if not np.allclose(np.asarray(fn(xj)), expected, rtol=1e-10):
                    bad.append(f"{label} {name}")
            tasks += [
                Task((name, "jax fwd (jit)"), lambda j_fwd=j_fwd, xj=xj: j_fwd(xj).block_until_ready()),
                Task((name, "jax grad (jit)"), lambda j_grad=j_grad, xj=xj: j_grad(xj).block_until_ready()),
                Task((name, "jit(wrapgrad.grad) on jax"), lambda wg_jit=wg_jit, xj=xj: wg_jit(xj).block_until_ready()),
            ]
    for b in bad:
        print(f"GRADIENT MISMATCH: {b}")

    print(f"special functions on {args.size} float64 elements, 1 thread, median of {args.rounds} interleaved rounds")
    run_interleaved(tasks, args.rounds, args.min_sample)
    medians = {t.key: t.median for t in tasks if t.median is not None}
    for t in tasks:
        if t.error:
            print(f"{t.key}: {t.error}")
    for name in FUNCTIONS:
        floor = medians.get((name, "scipy"))
        print(f"\n{name}")
        for (fname, label), m in medians.items():
            if fname == name:
                ratio = f"{m / floor:.3f}x scipy" if floor else ""
                print(f"  {label:28s} {fmt_time(m):>10s}  {ratio}")
        fwd = medians.get((name, "wrapgrad fwd"))
        if fwd and floor:
            r = fwd / floor
            print(f"  wrapgrad forward / scipy = {r:.3f}x   (target <= 1.1x: {'PASS' if r <= 1.1 else 'FAIL'})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
