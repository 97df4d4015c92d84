"""Conventions and degenerate inputs of the statistical, sorting, set, indexing-function and diff rules.

The case table (conformance/cases.py) checks these ops against finite differences at generic inputs; here
are the points it cannot express: ties (sort, unique), zeros (prod, cumulative_prod), zero variance (std),
duplicate indices, and second derivatives. Each test runs on every backend and compares with a closed form
computed in plain numpy or with finite differences.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import wrapgrad


def _grad(xp, fn, values, cotangent=None):
    """The gradient of sum(cotangent * fn(x)) at x = values, as numpy."""
    x = xp.asarray(np.asarray(values, dtype=np.float64), requires_grad=True)
    out = fn(x)
    if isinstance(out, tuple):
        out = out[0]
    weights = np.ones(out.shape) if cotangent is None else np.asarray(cotangent, dtype=np.float64)
    xp.sum(out * xp.asarray(weights)).backward()
    return np.asarray(x.grad)


# -- sort: the stable permutation ------------------------------------------------------------------------


def _stable_order(values, descending):
    # Python's sorted is stable: equal keys keep their original order, ascending or descending.
    return sorted(range(len(values)), key=lambda i: -values[i] if descending else values[i])


@pytest.mark.parametrize("descending", [False, True])
def test_sort_ties_follow_the_stable_permutation(xp, descending) -> None:
    values = [1.0, 3.0, 1.0, 0.0, 3.0, 1.0]
    g = np.arange(1.0, 7.0)  # a different cotangent per output position, so a swapped tie shows
    got = _grad(xp, lambda x: xp.sort(x, descending=descending), values, g)
    expected = np.zeros(6)
    for position, i in enumerate(_stable_order(values, descending)):
        expected[i] = g[position]
    np.testing.assert_array_equal(got, expected)


def test_sort_ties_follow_the_stable_permutation_even_when_unstable_was_asked(xp) -> None:
    values = [2.0, 2.0, 2.0, 1.0]
    got = _grad(xp, lambda x: xp.sort(x, stable=False), values, [10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(got, [20.0, 30.0, 40.0, 10.0])


def test_sort_ties_along_axis_0(xp) -> None:
    values = np.array([[1.0, 5.0], [1.0, 4.0], [0.0, 5.0]])
    g = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    got = _grad(xp, lambda x: xp.sort(x, axis=0, descending=True), values, g)
    expected = np.zeros((3, 2))
    for column in range(2):
        for position, i in enumerate(_stable_order(list(values[:, column]), True)):
            expected[i, column] = g[position, column]
    np.testing.assert_array_equal(got, expected)


# -- unique_*: tied elements share their value's cotangent evenly -------------------------------------------


def _unique_expected(values, g):
    _, inverse, counts = np.unique(np.asarray(values), return_inverse=True, return_counts=True)
    inverse = inverse.reshape(np.shape(values))
    return np.asarray(g)[inverse] / counts[inverse]


@pytest.mark.parametrize("name", ["unique_values", "unique_counts", "unique_inverse", "unique_all"])
def test_unique_values_gradient_is_the_cotangent_shared_by_the_copies(xp, name) -> None:
    values = np.array([[2.0, -1.0, 2.0], [5.0, 2.0, -1.0]])  # 2.0 three times, -1.0 twice, 5.0 once
    g = np.array([10.0, 1.0, 100.0])  # weights of the values -1, 2, 5: a wrong scatter shows
    got = _grad(xp, getattr(xp, name), values, g)
    np.testing.assert_allclose(got, _unique_expected(values, g), rtol=1e-15)
    np.testing.assert_allclose(got, [[1 / 3, 5, 1 / 3], [100, 1 / 3, 5]], rtol=1e-15)


def test_unique_gradient_matches_finite_differences_when_ties_stay_tied(xp) -> None:
    base = xp.asarray([0.3, -1.2, 2.0], requires_grad=True)

    def f(b):
        repeated = xp.concat([b, b[:2], b[1:2]])  # -1.2 three times, 0.3 twice: ties move together
        values = xp.unique_values(repeated)
        return values * xp.asarray([1.0, -3.0, 7.0]) * values

    assert wrapgrad.gradcheck(f, [base])


# -- std and var at zero variance ------------------------------------------------------------------------


@pytest.mark.parametrize("correction", [0, 1])
def test_std_at_zero_variance_has_the_subgradient_zero(xp, correction) -> None:
    values = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])  # row 0 is constant
    got = _grad(xp, lambda x: xp.std(x, axis=1, correction=correction), values)
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got[0], 0.0)
    row = values[1]
    expected_row = (row - row.mean()) / ((3 - correction) * row.std(ddof=correction))
    np.testing.assert_allclose(got[1], expected_row, rtol=1e-14)


def test_var_at_zero_variance_has_gradient_zero(xp) -> None:
    got = _grad(xp, lambda x: xp.var(x, correction=1), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(got, 0.0)


# -- prod and cumulative_prod with zeros ---------------------------------------------------------------------


def _prod_of_others(row):
    return np.array([np.prod(np.delete(row, i)) for i in range(len(row))])


ZERO_PATTERNS = [[0, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]


@pytest.mark.parametrize("pattern", ZERO_PATTERNS)
def test_prod_with_zeros_is_the_product_of_the_others(xp, pattern) -> None:
    values = np.array([1.5, -0.7, 2.0, 0.9]) * np.array(pattern)
    got = _grad(xp, xp.prod, values)
    np.testing.assert_allclose(got, _prod_of_others(values), rtol=1e-15, atol=0)
    if sum(pattern) < 3:  # two or more zeros: every partial derivative is 0
        np.testing.assert_array_equal(got, 0.0)


@pytest.mark.parametrize("pattern", ZERO_PATTERNS)
def test_cumulative_prod_with_zeros_matches_the_jacobian(xp, pattern) -> None:
    values = np.array([1.5, -0.7, 2.0, 0.9]) * np.array(pattern)
    g = np.array([1.0, -2.0, 0.5, 3.0])
    got = _grad(xp, xp.cumulative_prod, values, g)
    # d y[k] / d x[i] = prod_{j <= k, j != i} x[j] for k >= i
    jacobian = np.array([[np.prod(np.delete(values[: k + 1], i)) if k >= i else 0.0 for i in range(4)]
                         for k in range(4)])
    np.testing.assert_allclose(got, g @ jacobian, rtol=1e-14, atol=0)


@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative_prod_with_zeros_matches_finite_differences(xp, include_initial) -> None:
    rng = np.random.default_rng(3)
    values = rng.uniform(0.5, 1.5, (3, 11)) * (rng.uniform(size=(3, 11)) > 0.3)  # about a third are zeros
    x = xp.asarray(values, requires_grad=True)
    assert wrapgrad.gradcheck(lambda t: xp.cumulative_prod(t, axis=1, include_initial=include_initial), [x])


def test_prod_over_several_axes_with_zeros_matches_finite_differences(xp) -> None:
    values = np.arange(1.0, 25.0).reshape(2, 3, 4) / 10
    values[0, 1, 2] = values[1, 0, 0] = values[1, 2, 3] = 0.0
    x = xp.asarray(values, requires_grad=True)
    assert wrapgrad.gradcheck(lambda t: xp.prod(t, axis=(0, 2)), [x])
    assert wrapgrad.gradcheck(lambda t: xp.prod(t, axis=(-1, 0), keepdims=True), [x])


def test_prod_second_derivative_with_a_zero(xp) -> None:
    values = np.array([0.0, 2.0, 3.0, 0.5])
    x = xp.asarray(values, requires_grad=True)
    (first,) = wrapgrad.autograd_grad([xp.prod(x)], [x], create_graph=True)
    hessian = [np.asarray(wrapgrad.autograd_grad([first[i]], [x], retain_graph=True)[0]) for i in range(4)]
    expected = np.array([[0.0 if i == j else np.prod(np.delete(values, [i, j])) for j in range(4)]
                         for i in range(4)])
    np.testing.assert_allclose(np.array(hessian), expected, rtol=1e-14)


# -- take and take_along_axis: repeated indices accumulate ------------------------------------------------


def test_take_repeated_indices_accumulate(xp) -> None:
    got = _grad(xp, lambda x: xp.take(x, xp.asarray([3, 0, 3, 3])), [1.0, 2.0, 3.0, 4.0], [1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(got, [10.0, 0.0, 0.0, 1101.0])


def test_take_along_axis_repeated_indices_accumulate(xp) -> None:
    indices = np.array([[1, 1, 1], [0, 2, 0]])
    g = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    got = _grad(xp, lambda x: xp.take_along_axis(x, xp.asarray(indices), axis=1), np.ones((2, 3)), g)
    expected = np.zeros((2, 3))
    for row, column in itertools.product(range(2), range(3)):
        expected[row, indices[row, column]] += g[row, column]
    np.testing.assert_array_equal(got, expected)


def test_take_second_derivative_goes_through_the_scatter(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = xp.take(x, xp.asarray([2, 2, 0]))
    (first,) = wrapgrad.autograd_grad([xp.sum(y * y)], [x], create_graph=True)  # 2 * counts * x
    np.testing.assert_allclose(np.asarray(first.detach()), [2.0, 0.0, 12.0])
    (second,) = wrapgrad.autograd_grad([xp.sum(first)], [x])
    np.testing.assert_allclose(np.asarray(second), [2.0, 0.0, 4.0])


# -- diff: prepend and append get gradients ------------------------------------------------------------------


def test_diff_prepend_and_append_get_gradients(xp) -> None:
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal((2, 5)), requires_grad=True)
    p = xp.asarray(rng.standard_normal((2, 2)), requires_grad=True)
    a = xp.asarray(rng.standard_normal((2, 3)), requires_grad=True)
    g = rng.standard_normal((2, 8))
    xp.sum(xp.diff(x, n=2, prepend=p, append=a) * xp.asarray(g)).backward()
    # diff^2 along the last axis of z = [p, x, a] is z @ D with D the (10, 8) second-difference matrix
    d = np.zeros((10, 8))
    for k in range(8):
        d[k, k], d[k + 1, k], d[k + 2, k] = 1.0, -2.0, 1.0
    grad_z = g @ d.T
    np.testing.assert_allclose(np.asarray(p.grad), grad_z[:, :2], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(x.grad), grad_z[:, 2:7], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(a.grad), grad_z[:, 7:], rtol=1e-14)


def test_diff_with_a_constant_prepend(xp) -> None:
    x = xp.asarray([1.0, 4.0, 9.0], requires_grad=True)
    xp.sum(xp.diff(x, prepend=xp.asarray([0.0])) * xp.asarray([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [-1.0, -1.0, 3.0])


# -- core: rules that read only shapes see the constant arguments too ----------------------------------------


def test_concat_with_a_constant_array(xp) -> None:
    # concat's rule reads every argument's shape; the zeros padding in cumulative_prod's rule is such a
    # constant when that rule runs on Tensors (create_graph).
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    xp.sum(xp.concat([xp.zeros(3), x]) * xp.arange(5.0)).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [3.0, 4.0])


# -- second derivatives: every rule above also runs on Tensors (create_graph) ----------------------------------

SECOND_ORDER = {
    "sort": lambda xp, t: xp.sort(t, descending=True),
    "unique_values": lambda xp, t: xp.unique_values(xp.concat([t, t[:2]])),
    "diff": lambda xp, t: xp.diff(t, n=2, append=t[:1] * 3),
    "std": lambda xp, t: xp.std(t, correction=1),
    "var": lambda xp, t: xp.var(t),
    "cumulative_sum": lambda xp, t: xp.cumulative_sum(t, include_initial=True),
    "take_along_axis": lambda xp, t: xp.take_along_axis(t, xp.asarray([0, 0, 3]), axis=0),
    "take": lambda xp, t: xp.take(t, xp.asarray([0, 0, 3])),
    "prod": lambda xp, t: xp.prod(t),
    "cumulative_prod": lambda xp, t: xp.cumulative_prod(t),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_hessian_vector_product_matches_finite_differences_of_gradients(xp, name) -> None:
    def f(t):
        return xp.sum(SECOND_ORDER[name](xp, t) ** 3)

    def gradient(values):
        x = xp.asarray(values, requires_grad=True)
        return np.asarray(wrapgrad.autograd_grad([f(x)], [x])[0])

    values = np.array([0.3, -1.0, 2.0, 1.5, 0.0, 0.7])  # a zero for prod and cumulative_prod
    direction = np.random.default_rng(0).standard_normal(6)
    x = xp.asarray(values, requires_grad=True)
    (g,) = wrapgrad.autograd_grad([f(x)], [x], create_graph=True)
    (hvp,) = wrapgrad.autograd_grad([xp.sum(g * xp.asarray(direction))], [x])
    eps = 1e-6
    numeric = (gradient(values + eps * direction) - gradient(values - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(hvp), numeric, rtol=1e-6, atol=1e-6)
