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
    message = r"__imul__: the in-place result has dtype \S*float64, which differs from the tensor.s dtype \S*float32"
    with pytest.raises(TypeError, match=message):
        a *= xp.asarray([2.0], dtype=xp.float64)


def test_zero_resets_a_gradient(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    xp.sum(x * 3).backward()
    grad = x.grad
    assert grad.zero_() is grad
    np.testing.assert_array_equal(np.asarray(x.grad), [0.0, 0.0])
    xp.sum(x * 3).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [3.0, 3.0])


def test_gradients_of_different_leaves_never_share_memory() -> None:
    # add's rule hands the same cotangent to both arguments; writing into one .grad must not change the other
    import wrapgrad.numpy as nxp

    x = nxp.asarray([1.0, 2.0], requires_grad=True)
    w = nxp.asarray([3.0, 4.0], requires_grad=True)
    cotangent = np.array([1.0, 1.0])
    (x + w).backward(cotangent)
    np.asarray(x.grad)[0] = 100.0
    np.testing.assert_allclose(np.asarray(w.grad), [1.0, 1.0])
    np.testing.assert_allclose(cotangent, [1.0, 1.0])
    y = nxp.asarray([1.0, 2.0], requires_grad=True)
    y.backward(cotangent)  # a leaf root: its .grad is not the caller's array
    np.asarray(y.grad)[1] = -5.0
    np.testing.assert_allclose(cotangent, [1.0, 1.0])


def test_in_place_updates_never_change_a_recorded_gradient(xp) -> None:
    # every in-place form on a non-leaf that other nodes saved: the gradient is the one of the recorded values
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    z = xp.sin(y) * y  # saves y
    y[1] = 0.0
    y *= 5.0
    y -= x
    w = xp.sum(z) + xp.sum(y * y)
    w.backward()
    v = np.array([1.0, 2.0, 3.0])
    yv = 2 * v
    final = yv.copy()
    final[1] = 0.0
    final = final * 5.0 - v
    # d/dx [sum(sin(2x) 2x)] + d/dx sum(final^2), final = 5 * 2x (with element 1 overwritten) - x
    dfinal = np.where(np.arange(3) == 1, -1.0, 9.0)
    expected = (np.cos(yv) * yv + np.sin(yv)) * 2 + 2 * final * dfinal
    np.testing.assert_allclose(np.asarray(x.grad), expected, rtol=1e-12)
    assert wrapgrad.gradcheck(lambda t: _mutating(xp, t), [xp.asarray([1.0, 2.0, 3.0], requires_grad=True)])


def _mutating(xp, t):
    y = t * 1.0
    s = xp.exp(y)
    y[0] = y[2] * 3.0
    y += s
    y[1:] *= y[:2]
    return y


def test_in_place_on_a_leaf_that_requires_grad_is_refused_for_every_form(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    for op in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__"):
        with pytest.raises(RuntimeError, match=f"{op}: a leaf tensor that requires grad is being used in an in-place"):
            getattr(x, op)(2.0)
    with pytest.raises(RuntimeError, match="zero_: a leaf tensor that requires grad"):
        x.zero_()
    np.testing.assert_allclose(np.asarray(x.detach()), [1.0, 2.0])  # nothing changed
