"""PyTorch's autograd tutorial, cell by cell, on wrapgrad.

Run it on any backend:  python examples/autograd_tutorial.py --backend numpy|array_api_strict|jax

Where the tutorial uses torch-only spellings, this uses the array API's: ``xp.linalg.vector_norm(y.detach())``
for ``y.data.norm()``, ``xp.asarray(x.grad, copy=True)`` for ``x.grad.clone()``, ``x.grad = None`` for
``x.grad.zero_()``, ``xp.all(x == y)`` for ``x.eq(y).all()``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import numpy as np

import wrapgrad


def load_namespace(backend: str) -> Any:
    """The wrapgrad namespace for a backend name (jax runs in float64, like the other two)."""
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    return importlib.import_module(f"wrapgrad.{backend}")


def main(backend: str = "numpy", seed: int = 0) -> dict[str, Any]:
    """Run every cell, print what the tutorial prints, and return the numbers a test checks."""
    xp = load_namespace(backend)
    rng = np.random.default_rng(seed)
    results: dict[str, Any] = {}

    # In [2]: tensors initialized with data do not have their gradients computed automatically
    x = xp.asarray([2, 2])
    print(x)
    print(x.requires_grad)
    results["data_requires_grad"] = x.requires_grad

    # In [3]
    x = xp.ones((2, 2), requires_grad=True)
    print(x)

    # In [4]
    y = x + 2
    print(y)

    # In [5]: y was created by an operation, so it has a grad_fn; x was not
    print(y.grad_fn)
    print(x.grad_fn)
    results["y_grad_fn"] = y.grad_fn.type_name()
    results["x_grad_fn"] = x.grad_fn

    # In [6]
    z = y * y * 3
    out = xp.mean(z)
    print(z, out, sep="\n")
    results["out"] = float(out)

    # In [7]: requires_grad_() changes a tensor's requires_grad flag in place
    a = xp.asarray(rng.standard_normal((2, 2)))
    a = (a * 3) / (a - 1)
    print(a.requires_grad)
    a.requires_grad_(True)
    print(a.requires_grad)
    b = xp.sum(a * a)
    print(b.grad_fn)
    results["b_grad_fn"] = b.grad_fn.type_name()

    # In [8]: backprop through a single scalar
    print(out)
    out.backward()

    # In [9]: d(out)/dx
    print(x)
    print(x.grad)
    results["x_grad"] = np.asarray(x.grad)

    # In [10]: the Jacobian of y = 2^n x, one retain_graph backward per row
    x = xp.asarray(rng.standard_normal(3), requires_grad=True)
    y = 2 * x
    while float(xp.linalg.vector_norm(y.detach())) < 1000:
        y = y * 2
    print(y, end="\n\n")
    rows = []
    for i in range(y.shape[0]):
        y[i].backward(retain_graph=True)
        rows.append(xp.asarray(x.grad, copy=True))
        x.grad = None  # gradients accumulate by default
    jacobian = xp.stack(rows)
    print(jacobian)
    results["jacobian"] = np.asarray(jacobian)
    results["scale"] = float(y[0] / x[0])

    # In [11]: the vector-Jacobian product with v
    v = xp.asarray([0.1, 1.0, 0.0001], dtype=x.dtype)
    y.backward(v, retain_graph=True)
    print(x.grad)
    results["vjp"] = np.asarray(x.grad)

    # In [12]: stop tracking history with no_grad
    print(x.requires_grad)
    print((x**2).requires_grad)
    with wrapgrad.no_grad():
        print((x**2).requires_grad)
        results["no_grad_requires_grad"] = (x**2).requires_grad

    # In [13]: or get a copy that does not require gradients
    print(x.requires_grad)
    y = x.detach()
    print(y.requires_grad)
    print(xp.all(x == y))
    results["detach_requires_grad"] = y.requires_grad
    results["detach_equal"] = bool(xp.all(x == y))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "array_api_strict", "jax"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.backend, args.seed)
