"""``scipy.optimize.minimize`` with the exact gradient from wrapgrad: ``jac=wrapgrad.grad(loss)``.

    python examples/scipy_minimize.py [--dim 10] [--small]

Minimizes the extended Rosenbrock function and a logistic regression with BFGS, checks wrapgrad's gradient
against SciPy's own finite-difference gradient (``approx_fprime``) and that both runs reach the same minimum
(SciPy's numeric ``jac`` run as the reference), and prints how many evaluations each needed.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import scipy.optimize
from array_api_compat import array_namespace

import wrapgrad


def rosenbrock(x: Any) -> Any:
    """The extended Rosenbrock function, written against the array API (numpy in, a 0-D array out)."""
    xp = array_namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def logistic_loss(w: Any, X: Any, y: Any) -> Any:
    """Mean logistic loss with a small L2 penalty."""
    xp = array_namespace(w, X)
    z = X @ w
    return xp.mean(xp.logaddexp(0.0, -y * z)) + 1e-3 * xp.sum(w * w)


def compare(name: str, fun: Any, x0: np.ndarray, args: tuple[Any, ...] = ()) -> dict[str, Any]:
    jac = wrapgrad.grad(fun)
    ours = scipy.optimize.minimize(fun, x0, args=args, jac=jac, method="BFGS", options={"gtol": 1e-8})
    numeric = scipy.optimize.minimize(fun, x0, args=args, method="BFGS", options={"gtol": 1e-6})  # SciPy's jac
    fd = scipy.optimize.approx_fprime(x0, lambda x: float(fun(x, *args)), 1e-7)
    gradient_error = float(np.max(np.abs(jac(x0, *args) - fd)) / max(1.0, float(np.max(np.abs(fd)))))
    print(f"{name}: wrapgrad jac  f={ours.fun:.3e} nfev={ours.nfev} njev={ours.njev} success={ours.success}")
    print(f"{name}: numeric jac   f={numeric.fun:.3e} nfev={numeric.nfev} success={numeric.success}")
    print(f"{name}: gradient at x0 vs approx_fprime, relative error {gradient_error:.1e}")
    return {"ours": ours, "numeric": numeric, "gradient_error": gradient_error}


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--small", action="store_true", help="a quick run (smoke tests)")
    args = parser.parse_args(argv)
    if args.small:
        args.dim, args.samples = 4, 40
    rng = np.random.default_rng(0)
    start = np.full(args.dim, 0.5) + 0.1 * rng.standard_normal(args.dim)
    results = {"rosenbrock": compare("rosenbrock", rosenbrock, start)}
    X = rng.standard_normal((args.samples, 3))
    y = np.where(X @ [1.5, -2.0, 0.5] + 0.3 * rng.standard_normal(args.samples) > 0, 1.0, -1.0)
    results["logistic"] = compare("logistic", logistic_loss, np.zeros(3), (X, y))
    for name, r in results.items():  # the checks a smoke test relies on: a wrong gradient fails the script
        if r["gradient_error"] > 1e-5:
            raise SystemExit(f"{name}: wrapgrad's gradient differs from approx_fprime by {r['gradient_error']:.1e}")
        if not r["ours"].success or not np.allclose(r["ours"].x, r["numeric"].x, atol=1e-4):
            raise SystemExit(f"{name}: the minimum with wrapgrad's jac, {r['ours'].x}, is not SciPy's, "
                             f"{r['numeric'].x}")
    print("OK: the same minima as SciPy's numeric jac, with fewer evaluations")
    return results


if __name__ == "__main__":
    main()
