"""A gradient through an unchanged scikit-learn pipeline, checked against finite differences.

    python examples/sklearn_gradients.py [--samples 40] [--small]

The pipeline (MinMaxScaler, PCA, Ridge) is fit on training data held as wrapgrad Tensors, with
scikit-learn's array-API dispatch on; scikit-learn's own code then records a tape. The script differentiates
the held-out mean squared error with respect to every training value (how much each one moves the test
error: a data-influence map) and with respect to the training targets, and compares both with central finite
differences of the same pipeline run on plain numpy.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # scikit-learn calls SciPy, which must dispatch too

from typing import Any

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import wrapgrad
import wrapgrad.numpy as xp


def held_out_error(X_train: Any, y_train: Any, X_test: np.ndarray, y_test: np.ndarray) -> Any:
    """Fit the pipeline on the training data and return its mean squared error on the test data."""
    with sklearn.config_context(array_api_dispatch=True):
        pipe = make_pipeline(MinMaxScaler(), PCA(n_components=3, svd_solver="full"), Ridge(alpha=0.1, solver="svd"))
        pipe.fit(X_train, y_train)
        return xp.mean((pipe.predict(xp.asarray(X_test)) - xp.asarray(y_test)) ** 2)


def finite_differences(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        out[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--small", action="store_true", help="a quick run (smoke tests)")
    args = parser.parse_args(argv)
    n = 8 if args.small else args.samples
    rng = np.random.default_rng(0)
    coef = np.asarray([1.0, -2.0, 0.5, 0.0])
    X_train, X_test = rng.standard_normal((n, 4)), rng.standard_normal((n // 2, 4))
    y_train = X_train @ coef + 0.1 * rng.standard_normal(n)
    y_test = X_test @ coef

    gx, gy = wrapgrad.grad(held_out_error, argnums=(0, 1))(xp.asarray(X_train), xp.asarray(y_train), X_test, y_test)
    gx, gy = np.asarray(gx), np.asarray(gy)
    fd_x = finite_differences(lambda X: float(held_out_error(xp.asarray(X), xp.asarray(y_train), X_test, y_test)),
                              X_train)
    fd_y = finite_differences(lambda y: float(held_out_error(xp.asarray(X_train), xp.asarray(y), X_test, y_test)),
                              y_train)
    errors = {"X": float(np.max(np.abs(gx - fd_x)) / np.max(np.abs(fd_x))),
              "y": float(np.max(np.abs(gy - fd_y)) / np.max(np.abs(fd_y)))}
    print(f"held-out error {float(held_out_error(xp.asarray(X_train), xp.asarray(y_train), X_test, y_test)):.4f}")
    print("d error / d X_train, largest |value| per training row:", np.round(np.max(np.abs(gx), axis=1), 4))
    print("d error / d y_train:", np.round(gy, 4))
    print(f"relative difference to finite differences: X {errors['X']:.1e}, y {errors['y']:.1e}")
    if max(errors.values()) > 1e-6:  # what a smoke test relies on: a wrong gradient fails the script
        raise SystemExit("the gradient through the pipeline does not match finite differences")
    print("OK: the gradient through the pipeline matches finite differences")
    return errors


if __name__ == "__main__":
    main()
