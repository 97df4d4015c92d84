"""Views write through to their base (issue 10, section 1), the same on every backend.

The views are the results of basic indexing that keep an axis, ``T``, ``mT`` and ``permute_dims``. Each
program below is written once against an array namespace and run on raw numpy, whose views are the
reference for values, and on wrapgrad over every backend. Gradients are checked against central finite
differences of the raw numpy program in float64, against torch.autograd running the same program, and,
on jax, under ``jax.jit``.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

import array_api_compat.numpy as anp
import numpy as np
import pytest

import wrapgrad

# -- value programs: (xp, a 2x3 array, a 2x3x4 array) -> the arrays to compare ------------------------------


def _issue_example(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    v = a[0, :]
    v += 1.0
    return (a,)


def _other_views_see_the_write(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    row, column = a[0, ...], a[:, 1]
    row *= 2.0
    return a, column, row


def _views_of_views(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    v = a[1:, ...]
    w = v[:, ::2]
    w -= 3.0
    u = w[..., 1:]
    u[...] = 9.0
    return a, v, w


def _transpose_write(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    t = a.T
    t[0, ...] = 7.0
    t[2, 1] += 5.0
    return a, t


def _matrix_transpose_write(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    m = b.mT
    m += 1.0
    m[1, ...] *= -1.0
    return b, m


def _permute_dims_write(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    p = xp.permute_dims(b, (2, 0, 1))
    p[1, ...] *= -1.0
    q = p[:, 1, :]
    q /= 2.0
    return b, p, q


def _none_in_the_key(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    w = a[None, :, 1]
    w[...] = 4.0
    z = b[1, None, ..., None, 2]
    z -= 1.0
    return a, w, b


def _base_writes_are_seen_by_views(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    v = a[:, 1:]
    t = a.T
    a += 1.0
    a[0, ...] = -2.0
    a *= 3.0
    return v, t


def _augmented_subscript(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    a[0, ...] += a[1, ...]
    b[:, 1:, ::2] -= 1.5
    b[0, ...][1, ...] *= 4.0
    return a, b


def _negative_steps(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    v = a[:, ::-1]
    v[0, 0] = 9.0
    v[1, ...] += 1.0
    return a, v


def _masked_write_through_a_view(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    v = a[0, ...]
    v[v > 0] = 0.0
    return a, v


def _copies_stay_copies(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    c = a[a > 0]  # boolean indexing: a copy in numpy and in wrapgrad
    c += 100.0
    s = a[0, 0]  # 0-D result of integers only: a copy (numpy returns a scalar)
    s += 100.0
    return a, c


def _loop_of_slice_writes(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    out = b * 0.0
    for i in range(b.shape[2]):  # the overlap-add pattern: views of the output, added into
        block = out[..., i]
        block += b[..., i] * float(i)
        if i:
            out[..., i - 1] += block * 0.5
    return (out,)


def _many_live_views(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    rows = [b[i, j, ...] for i in range(2) for j in range(3)]
    for k, row in enumerate(rows):
        row += float(k)
        rows[-1 - k][::2] *= 2.0
    return (b, *rows)


VALUE_PROGRAMS: list[Callable[..., tuple[Any, ...]]] = [
    _issue_example, _other_views_see_the_write, _views_of_views, _transpose_write, _matrix_transpose_write,
    _permute_dims_write, _none_in_the_key, _base_writes_are_seen_by_views, _augmented_subscript,
    _negative_steps, _masked_write_through_a_view, _copies_stay_copies, _loop_of_slice_writes, _many_live_views,
]


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 4))


@pytest.mark.parametrize("program", VALUE_PROGRAMS, ids=lambda p: p.__name__.strip("_"))
def test_writes_through_views_give_numpys_values(xp: Any, program: Callable[..., tuple[Any, ...]]) -> None:
    a, b = _inputs()
    expected = program(anp, a.copy(), b.copy())
    got = program(xp, xp.asarray(a), xp.asarray(b))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(np.asarray(g), e)


def test_zero_through_a_view(xp: Any) -> None:
    a = xp.ones((2, 3))
    row = a[1, ...]
    assert row.zero_() is row
    np.testing.assert_array_equal(np.asarray(a), [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


# -- gradient programs: (xp, x, w) -> scalar; x is the base's input, w the values written ------------------


def _g_issue(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    v = b[0, ...]
    v *= w[0, ...]
    return xp.sum(b * b)


def _g_other_views(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    v, u = b[:, 1:], b[1, ...]
    v += w[:, 1:] * 2.0
    return xp.sum(u * u) + xp.sum(v * b[:, :2])


def _g_transpose(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    t = b.T
    t[1, ...] = w[..., 1] ** 2
    return xp.sum(xp.sin(b)) + xp.sum(t * t)


def _g_views_of_views(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    v = b[1:, ...]
    s = v[..., ::2]
    s -= w[1:, ::2] * x[1:, ::2]
    return xp.sum(b**2) + xp.sum(v * 3.0)


def _g_matrix_transpose(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    m = b.mT
    m *= w.mT
    return xp.sum(b * b)


def _g_permute_dims(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    p = xp.permute_dims(b, (1, 0))
    p[2, :] += w[:, 0] * w[:, 2]
    return xp.sum(b * xp.exp(b))


def _g_saved_values_stay_right(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    y = b * b  # saves b's values
    v = b[0, ...]
    v += w[0, ...]
    b[1, 1:] = w[1, 1:] * 3.0
    return xp.sum(y) + xp.sum(b * w)


def _g_base_write_seen_by_view(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    v = b[:, 0]
    b *= w
    return xp.sum(v * v) + xp.sum(b)


def _g_augmented_subscript(xp: Any, x: Any, w: Any) -> Any:
    b = x * 1.0
    b[0, ...] += w[1, ...] * w[0, ...]
    b[:, 1] -= x[:, 2]
    return xp.sum(b * b)


def _g_written_value_is_the_view_itself(xp: Any, x: Any, w: Any) -> Any:
    b = x * w
    v = b[:, 1:]
    v *= v
    return xp.sum(b * x)


GRADIENT_PROGRAMS: list[Callable[..., Any]] = [
    _g_issue, _g_other_views, _g_transpose, _g_views_of_views, _g_matrix_transpose, _g_permute_dims,
    _g_saved_values_stay_right, _g_base_write_seen_by_view, _g_augmented_subscript,
    _g_written_value_is_the_view_itself,
]

# torch's version counter refuses to run backward through a value that was changed after it was saved;
# wrapgrad's copy-on-write keeps the saved value instead.
TORCH_REFUSES = {_g_saved_values_stay_right, _g_written_value_is_the_view_itself}


def _finite_differences(f: Callable[..., Any], args: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    grads = []
    for i, a in enumerate(args):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [x.copy() for x in args]
            minus = [x.copy() for x in args]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (float(f(*plus)) - float(f(*minus))) / (2 * eps)
        grads.append(g)
    return grads


def _gradient_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((2, 3)), rng.standard_normal((2, 3))


@pytest.mark.parametrize("program", GRADIENT_PROGRAMS, ids=lambda p: p.__name__[3:])
def test_gradients_through_view_writes_match_finite_differences(xp: Any, program: Callable[..., Any]) -> None:
    x0, w0 = _gradient_inputs()
    expected = _finite_differences(lambda x, w: program(anp, x, w), [x0, w0])
    x = xp.asarray(x0, requires_grad=True)
    w = xp.asarray(w0, requires_grad=True)
    loss = program(xp, x, w)
    np.testing.assert_allclose(float(loss), float(program(anp, x0.copy(), w0.copy())), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(np.asarray(x.grad), expected[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(w.grad), expected[1], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("program", GRADIENT_PROGRAMS, ids=lambda p: p.__name__[3:])
def test_gradients_through_view_writes_match_torch(program: Callable[..., Any]) -> None:
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as tp

    import wrapgrad.numpy as xp

    x0, w0 = _gradient_inputs()
    tx = torch.tensor(x0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    if program in TORCH_REFUSES:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            torch.autograd.grad(program(tp, tx, tw), (tx, tw))
        return  # finite differences are this program's reference
    expected = torch.autograd.grad(program(tp, tx, tw), (tx, tw))
    x = xp.asarray(x0, requires_grad=True)
    w = xp.asarray(w0, requires_grad=True)
    program(xp, x, w).backward()
    np.testing.assert_allclose(np.asarray(x.grad), expected[0].numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(w.grad), expected[1].numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("program", GRADIENT_PROGRAMS, ids=lambda p: p.__name__[3:])
def test_gradients_through_view_writes_under_jax_jit(program: Callable[..., Any]) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import wrapgrad.jax as xj

    x0, w0 = _gradient_inputs()
    expected = _finite_differences(lambda x, w: program(anp, x, w), [x0, w0])
    jitted = jax.jit(wrapgrad.grad(lambda x, w: program(xj, x, w), argnums=(0, 1)))
    gx, gw = jitted(jax.numpy.asarray(x0), jax.numpy.asarray(w0))
    np.testing.assert_allclose(np.asarray(gx), expected[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(gw), expected[1], rtol=1e-6, atol=1e-8)


def test_views_of_a_leaf_that_requires_grad_refuse_writes(xp: Any) -> None:
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    refusal = r"__iadd__: a view of a leaf tensor that requires grad .*no_grad.*copy=True"
    with pytest.raises(RuntimeError, match=refusal):
        v = x[0, ...]
        v += 1.0
    with pytest.raises(RuntimeError, match="__setitem__: a view of a leaf tensor that requires grad"):
        x.T[0, ...] = 1.0
    with pytest.raises(RuntimeError, match="zero_: a view of a leaf tensor that requires grad"):
        xp.permute_dims(x, (1, 0)).zero_()
    np.testing.assert_array_equal(np.asarray(x.detach()), [[1.0, 2.0], [3.0, 4.0]])  # nothing was written
    # The way out the message gives keeps the gradient:
    y = xp.asarray(x, copy=True)
    row = y[0, ...]
    row *= 3.0
    xp.sum(y).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [[3.0, 3.0], [1.0, 1.0]])
    with wrapgrad.no_grad():  # and under no_grad the write goes through
        v = x[1, ...]
        v += 1.0
    np.testing.assert_array_equal(np.asarray(x.detach()), [[1.0, 2.0], [4.0, 5.0]])


def test_a_write_that_the_backend_refuses_is_a_clear_error_not_a_lost_write(xp: Any, monkeypatch: Any) -> None:
    a = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    t = a.T
    row = t[1, ...]
    backend = a._backend

    def refuse(data: Any, key: Any, value: Any) -> Any:
        raise IndexError("this backend cannot write here")

    monkeypatch.setattr(backend, "set_item", refuse)
    message = r"__imul__: cannot write through this view \(permute_dims\(axes=\(1, 0\)\) then \[\(1, Ellipsis\)\]\)"
    with pytest.raises(RuntimeError, match=message):
        row *= 2.0
    monkeypatch.undo()
    np.testing.assert_array_equal(np.asarray(a), [[1.0, 2.0], [3.0, 4.0]])  # the base is as it was
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 3.0], [2.0, 4.0]])


def test_copies_of_views_and_bases_are_plain_tensors(xp: Any) -> None:
    import copy

    a = xp.zeros((2, 2))
    row = a[0, ...]
    b, row_copy = copy.copy(a), copy.copy(row)
    b += 1.0  # a copy of the base: its own values, and the base's views do not follow it
    row_copy += 2.0  # a copy of a view writes nowhere else
    np.testing.assert_array_equal(np.asarray(a), [[0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(row), [0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(b), [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(np.asarray(row_copy), [2.0, 2.0])
    row += 3.0  # the original view still writes through
    np.testing.assert_array_equal(np.asarray(a), [[3.0, 3.0], [0.0, 0.0]])


# -- numpy's in-place fast path: taken only where no one else can see the buffer ---------------------------


def _buffer(t: Any) -> weakref.ref[Any]:
    return weakref.ref(t._data)  # a weak reference adds no count to the proof


def test_in_place_fast_path_is_taken_only_when_the_buffer_is_the_bases_alone() -> None:
    import wrapgrad.numpy as xp

    a = xp.zeros(10)
    seen = _buffer(a)
    a[1] = 1.0
    assert a._data is seen()  # nobody else sees it: written in place
    v, u = a[2:6], a[0:3]
    v += 1.0
    v[0] = 5.0
    assert a._data is seen()  # live views are re-derived, so they do not count
    np.testing.assert_array_equal(np.asarray(u), [0.0, 1.0, 5.0])

    extra = a._data  # one reference more than the proof allows: copy-on-write, and `extra` keeps its values
    a[0] = 7.0
    assert a._data is not extra and float(extra[0]) == 0.0
    del extra

    d = a.detach()  # shares the array: copy-on-write keeps the detached tensor as it was
    a[3] = -1.0
    assert float(d[3]) == 1.0 and float(a[3]) == -1.0

    users = np.zeros(3)  # wrapgrad never writes into an array that the user handed it
    wrapped = xp.asarray(users)
    wrapped[0] = 1.0
    wrapped[1:][0] = 2.0
    np.testing.assert_array_equal(users, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(wrapped), [1.0, 2.0, 0.0])

    exported = np.asarray(v)  # the user holds the view's array
    a[2:4] = 0.0
    np.testing.assert_array_equal(exported, [5.0, -1.0, 1.0, 1.0])


def test_in_place_fast_path_keeps_values_saved_for_backward() -> None:
    import wrapgrad.numpy as xp

    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    b = x * 1.0
    head = b[0:2]
    y = head * head  # saves the view's array
    head += 10.0
    b[2] = 0.0
    xp.sum(y).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [2.0, 4.0, 0.0])


# -- library code that writes through views -------------------------------------------------------------

OACONVOLVE_CASES = [
    ((60,), (9,), "full", None),
    ((83,), (6,), "same", None),
    ((3, 40), (3, 7), "valid", 1),
    ((20, 18), (5, 4), "full", None),
]


@pytest.mark.parametrize(("shape1", "shape2", "mode", "axes"), OACONVOLVE_CASES)
def test_scipy_oaconvolve_gives_numpys_values_and_gradient(shape1: tuple[int, ...], shape2: tuple[int, ...],
                                                           mode: str, axes: int | None) -> None:
    assert os.environ.get("SCIPY_ARRAY_API") == "1"
    signal = pytest.importorskip("scipy.signal")
    import wrapgrad.numpy as xp

    rng = np.random.default_rng(2)
    a0, b0 = rng.standard_normal(shape1), rng.standard_normal(shape2)
    expected = signal.oaconvolve(a0, b0, mode=mode, axes=axes)
    c = rng.standard_normal(expected.shape)
    a, b = xp.asarray(a0, requires_grad=True), xp.asarray(b0, requires_grad=True)
    out = signal.oaconvolve(a, b, mode=mode, axes=axes)
    np.testing.assert_allclose(np.asarray(out.detach()), expected, rtol=1e-10, atol=1e-12)
    xp.sum(out * xp.asarray(c)).backward()

    def loss(a1: np.ndarray, b1: np.ndarray) -> float:
        return float(np.sum(signal.fftconvolve(a1, b1, mode=mode, axes=axes) * c))

    ga, gb = _finite_differences(loss, [a0, b0])
    np.testing.assert_allclose(np.asarray(a.grad), ga, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(b.grad), gb, rtol=1e-6, atol=1e-7)


def test_sklearn_gaussian_mixture_fit_gives_numpys_result() -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.mixture import GaussianMixture

    import wrapgrad.numpy as xp

    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3))
    X[:40] += 3.0
    params = dict(n_components=2, init_params="random", reg_covar=1e-2, random_state=0, max_iter=200)
    expected = GaussianMixture(**params).fit(X)
    with sklearn.config_context(array_api_dispatch=True):
        got = GaussianMixture(**params).fit(xp.asarray(X))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(np.asarray(getattr(got, name)), getattr(expected, name), rtol=1e-9,
                                   err_msg=name)
