"""wrapgrad over dask: lazy forward and backward, the spec functions compat's dask lacks, unknown sizes.

Each gradient is checked against something independent of wrapgrad's rules: the closed form computed in
numpy, or central finite differences of the raw numpy function. Laziness is counted with a dask callback:
building a loss and its gradient must start no computation at all.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask[array] is not installed")
dask = pytest.importorskip("dask")
pytest.importorskip("array_api_compat.dask.array", reason="array_api_compat has no dask namespace")

from dask.callbacks import Callback  # noqa: E402

import wrapgrad  # noqa: E402


@pytest.fixture(scope="module")
def xp() -> Any:
    import wrapgrad.dask as xp

    return xp


class ComputeCounter(Callback):  # type: ignore[misc]
    """Counts the computations dask starts (one per ``compute`` call, whatever it evaluates)."""

    def __init__(self) -> None:
        super().__init__()
        self.computes = 0

    def _start(self, dsk: Any) -> None:
        self.computes += 1


@pytest.fixture
def counter() -> Iterator[ComputeCounter]:
    with ComputeCounter() as c:
        yield c


def chunked(values: Any, chunks: Any = 2) -> Any:
    return da.from_array(np.asarray(values, dtype=np.float64), chunks=chunks)


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of a numpy function, one coordinate at a time (float64)."""
    out = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        out[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return out


X = np.array([[0.5, -1.5, 2.0, -0.25], [1.25, -2.0, 0.75, 3.0], [-0.5, 1.0, -3.0, 0.25]])


def loss_np(x: np.ndarray) -> float:
    return float(np.sum(np.tanh(x) * x) + np.sum(x**2) / 3)


def loss(xp: Any, x: Any) -> Any:
    ns = x.__array_namespace__()
    return ns.sum(ns.tanh(x) * x) + ns.sum(x**2) / 3


# -- laziness -------------------------------------------------------------------------------------------


def test_forward_backward_are_lazy_and_one_compute_evaluates_both(xp: Any, counter: ComputeCounter) -> None:
    x = xp.asarray(chunked(X, (2, 2)), requires_grad=True)
    out = loss(xp, x)
    out.backward()
    assert counter.computes == 0, "recording the loss or running backward computed something"
    assert isinstance(out._data, da.Array) and isinstance(x.grad._data, da.Array)
    value, grad = dask.compute(out._data, x.grad._data)
    assert counter.computes == 1, "dask.compute(loss, grad) should be one computation"
    np.testing.assert_allclose(value, loss_np(X), rtol=1e-13)
    np.testing.assert_allclose(grad, numeric_grad(loss_np, X), rtol=1e-7, atol=1e-8)


def test_functional_transforms_are_lazy(xp: Any, counter: ComputeCounter) -> None:
    x = xp.asarray(chunked(X, (2, 2)))
    t = xp.asarray(chunked(np.ones_like(X), (2, 2)))
    g = wrapgrad.grad(lambda v: loss(xp, v))(x)
    value, pullback = wrapgrad.vjp(lambda v: xp.sin(v) * v, x)
    (pulled,) = pullback(xp.ones_like(value))
    _, tangent_out = wrapgrad.jvp(lambda v: loss(xp, v), (x,), (t,))
    small = xp.asarray(chunked([0.5, -1.0, 2.0]))
    h = wrapgrad.hessian(lambda v: xp.sum(xp.sin(v) * v**2))(small)
    assert counter.computes == 0, "grad, vjp, jvp or hessian computed something"
    results = dask.compute(g._data, pulled._data, tangent_out._data, h._data)
    assert counter.computes == 1
    expected_grad = numeric_grad(loss_np, X)
    np.testing.assert_allclose(results[0], expected_grad, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(results[1], np.cos(X) * X + np.sin(X), rtol=1e-13)
    np.testing.assert_allclose(results[2], expected_grad.sum(), rtol=1e-7)
    v = np.array([0.5, -1.0, 2.0])
    # d^2/dv^2 of sin(v) v^2, a diagonal Hessian, in closed form
    np.testing.assert_allclose(results[3], np.diag(-np.sin(v) * v**2 + 4 * v * np.cos(v) + 2 * np.sin(v)),
                               rtol=1e-12, atol=1e-12)


# -- rules that need what compat's dask lacks -----------------------------------------------------------


def test_sort_gradient(xp: Any, counter: ComputeCounter) -> None:
    # sort's rule needs take_along_axis, which array_api_compat.dask.array does not have.
    weights = np.array([[1.0, -2.0, 3.0, 0.5]])

    def f_np(v: np.ndarray) -> float:
        return float(np.sum(np.sort(v, axis=1) * weights))

    x = xp.asarray(chunked(X, (2, 2)), requires_grad=True)
    xp.sum(xp.sort(x, axis=1) * xp.asarray(weights)).backward()
    assert counter.computes == 0
    np.testing.assert_allclose(x.grad._data.compute(), numeric_grad(f_np, X), rtol=1e-7, atol=1e-8)


def test_take_along_axis_forward_and_gradient_with_duplicates(xp: Any) -> None:
    indices = np.array([[0, 0, 3], [2, 2, 2], [1, 3, 1]])
    x = xp.asarray(chunked(X, (2, 2)), requires_grad=True)
    out = xp.take_along_axis(x, xp.asarray(da.from_array(indices, chunks=(2, 2))), axis=1)
    np.testing.assert_array_equal(out._data.compute(), np.take_along_axis(X, indices, axis=1))
    xp.sum(out * out).backward()

    def f_np(v: np.ndarray) -> float:
        return float(np.sum(np.take_along_axis(v, indices, axis=1) ** 2))

    np.testing.assert_allclose(x.grad._data.compute(), numeric_grad(f_np, X), rtol=1e-7, atol=1e-8)


def test_take_gradient_adds_duplicates(xp: Any) -> None:
    x = xp.asarray(chunked([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    xp.sum(xp.take(x, xp.asarray(da.from_array(np.array([0, 0, 3, 0]), chunks=2))) * xp.asarray([1.0, 2.0, 3.0, 4.0])
           ).backward()
    np.testing.assert_allclose(x.grad._data.compute(), [7.0, 0.0, 0.0, 3.0])


# -- unknown sizes: a gradient through a boolean mask, or an error when the op is recorded ---------------


@pytest.mark.parametrize("shape, chunks", [((12,), 5), ((3, 4), (2, 3))])
def test_gradient_through_a_boolean_mask(xp: Any, counter: ComputeCounter, shape: tuple[int, ...],
                                         chunks: Any) -> None:
    values = X.reshape(shape)
    x = xp.asarray(chunked(values, chunks), requires_grad=True)
    picked = x[x > 0]
    assert np.isnan(picked.shape[0])  # the size is known only when dask computes
    out = xp.sum(picked**3) + xp.sum(xp.exp(picked) * 2)
    out.backward()
    assert counter.computes == 0

    def f_np(v: np.ndarray) -> float:
        return float(np.sum(v[values > 0] ** 3) + np.sum(np.exp(v[values > 0]) * 2))

    value, grad = dask.compute(out._data, x.grad._data)
    np.testing.assert_allclose(value, f_np(values), rtol=1e-13)
    np.testing.assert_allclose(grad, numeric_grad(f_np, values), rtol=1e-7, atol=1e-7)


def test_hessian_through_a_boolean_mask(xp: Any, counter: ComputeCounter) -> None:
    v = np.array([0.5, -1.0, 2.0, 1.5, -0.2, 3.0])
    h = wrapgrad.hessian(lambda x: xp.sum(x[x > 0] ** 3))(xp.asarray(chunked(v, 4)))
    assert counter.computes == 0
    np.testing.assert_allclose(h._data.compute(), np.diag(6 * v * (v > 0)), rtol=1e-14)


def test_write_through_a_mask_keeps_both_gradients(xp: Any) -> None:
    v, w = np.array([0.5, -1.0, 2.0, 1.5, -0.2]), np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    x = xp.asarray(chunked(v), requires_grad=True)
    other = xp.asarray(chunked(w), requires_grad=True)
    y = x * 1.0
    mask = x > 0
    y[mask] = other[mask] ** 2  # a value of unknown size, written back through the same mask
    xp.sum(y * xp.asarray(chunked(np.arange(1.0, 6.0)))).backward()
    weights = np.arange(1.0, 6.0)
    np.testing.assert_allclose(x.grad._data.compute(), weights * (v <= 0))
    np.testing.assert_allclose(other.grad._data.compute(), weights * 2 * w * (v > 0))


def test_gradient_through_a_row_mask(xp: Any) -> None:
    rows = np.array([True, False, True])
    x = xp.asarray(chunked(X, (2, 3)), requires_grad=True)
    mask = xp.asarray(da.from_array(rows, chunks=2))
    xp.sum(x[mask] ** 2).backward()
    np.testing.assert_allclose(x.grad._data.compute(), 2 * X * rows[:, None], rtol=1e-13)


def test_unknown_size_without_a_rule_fails_when_recorded(xp: Any) -> None:
    x = xp.asarray(chunked(X[0]), requires_grad=True)
    picked = x[x > 0]
    with pytest.raises(ValueError, match=r"mean: no gradient through an array of unknown shape.*xp\.where"):
        xp.mean(picked)
    with pytest.raises(ValueError, match="unknown shape"):
        xp.prod(picked)
    with wrapgrad.no_grad():  # the forward alone is fine
        np.testing.assert_allclose(xp.mean(picked)._data.compute(), X[0][X[0] > 0].mean())
    # the way out that the message names keeps the gradient, with known shapes
    xp.sum(xp.where(x > 0, x, 0.0) ** 2).backward()
    np.testing.assert_allclose(x.grad._data.compute(), 2 * X[0] * (X[0] > 0))


def test_nonzero_index_fails_when_recorded(xp: Any) -> None:
    x = xp.asarray(chunked(X[1]), requires_grad=True)
    (where,) = xp.nonzero(x > 0)
    with pytest.raises(ValueError, match=r"__getitem__: no gradient through an array of unknown shape"):
        x[where]


def test_import_is_lazy_and_the_module_is_the_namespace() -> None:
    code = (
        "import sys, wrapgrad; assert 'dask' not in sys.modules, 'import wrapgrad imported dask'\n"
        "import wrapgrad.dask as xp; assert 'dask' in sys.modules\n"
        "assert xp.__name__ == 'wrapgrad.dask', xp.__name__\n"
        "assert xp.take_along_axis is not None\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_unique_fails_when_recorded_and_works_untracked(xp: Any) -> None:
    x = xp.asarray(chunked([1.0, 2.0, 1.0, 3.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"unique_values: no gradient through an array of unknown shape"):
        xp.unique_values(x)
    np.testing.assert_array_equal(np.sort(xp.unique_values(x.detach())._data.compute()), [1.0, 2.0, 3.0])
