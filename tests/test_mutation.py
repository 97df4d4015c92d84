"""In-place operators and __setitem__: copy-on-write on the wrapper, the same on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import wrapgrad


def test_setitem_is_differentiable_in_both_the_array_and_the_value(xp) -> None:
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = xp.asarray([5.0, 6.0], requires_grad=True)
    y = x * 1.0
    y[0, ...] = v * 3.0
    xp.sum(y * y).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [[0.0, 0.0], [6.0, 8.0]])
    np.testing.assert_allclose(np.asarray(v.grad), [90.0, 108.0])


def test_mutating_a_tensor_saved_for_backward_keeps_its_gradient_right(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y's values
    y[0] = 100.0
    y += 1.0
    xp.sum(z).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 4.0])


def test_in_place_operators_rebind_and_record(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    y *= x
    y -= 1.0
    assert y.grad_fn.type_name() == "SubBackward0"
    xp.sum(y).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 4.0])


def test_in_place_change_of_a_leaf_that_requires_grad_is_refused(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="__iadd__: a leaf tensor that requires grad is being used in an in-place"):
        x += 1.0
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor that requires grad"):
        x[0] = 1.0
    with wrapgrad.no_grad():
        x += 1.0
    np.testing.assert_allclose(np.asarray(x.detach()), [2.0, 3.0])


def test_setitem_on_a_plain_tensor_mutates_its_values(xp) -> None:
    a = xp.zeros(3)
    a[1] = 5.0
    np.testing.assert_allclose(np.asarray(a), [0.0, 5.0, 0.0])
    assert not a.requires_grad


def test_setitem_with_a_tracked_value_makes_the_target_tracked(xp) -> None:
    a = xp.zeros(3)
    v = xp.asarray(2.0, requires_grad=True)
    a[1] = v
    assert a.requires_grad and not a.is_leaf
    xp.sum(a * 3).backward()
    assert float(v.grad) == 3.0


def test_in_place_dtype_change_is_a_clear_error(xp) -> None:
    a = xp.asarray([1.0, 2.0], dtype=xp.float32)
    with pytest.raises(TypeError, match=r"__imul__: the in-place result has dtype \S*float64, which differs from the tensor.s dtype \S*float32"):
        a *= xp.asarray([2.0], dtype=xp.float64)


def test_zero_resets_a_gradient(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    xp.sum(x * 3).backward()
    grad = x.grad
    assert grad.zero_() is grad
    np.testing.assert_array_equal(np.asarray(x.grad), [0.0, 0.0])
    xp.sum(x * 3).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [3.0, 3.0])
