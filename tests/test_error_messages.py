"""Errors that users of SciPy and scikit-learn code meet: each names the operation and the cause, and
tells a way out that keeps the gradient."""

from __future__ import annotations

import numpy as np
import pytest


def test_an_index_array_of_another_library_is_named_as_such() -> None:
    # array-api-strict itself says the arrays "are on different devices", which sends users the wrong way.
    xp = pytest.importorskip("wrapgrad.array_api_strict")
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    for key in (np.asarray([0, 2]), (np.asarray([0, 2]),)):
        with pytest.raises(TypeError, match=r"__getitem__: the index is an array of another library \(numpy\)"):
            x[key]
    with pytest.raises(TypeError, match=r"__setitem__: the index is an array of another library \(numpy\)"):
        y = x * 1.0
        y[np.asarray([0, 2])] = 0.0
    # The same index made with the tensor's namespace works, and the gradient flows.
    y = x[xp.asarray([0, 2])]
    xp.sum(y * xp.asarray([2.0, 3.0])).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [2.0, 0.0, 3.0])


def test_exporting_a_tracked_tensor_names_both_ways_out(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        np.asarray(x)
    message = str(info.value)
    assert "__array__" in message and ".detach()" in message
    assert "custom_vjp" in message and "wrapgrad.Function" in message


def test_in_place_on_a_leaf_names_a_way_out_that_keeps_the_gradient(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"__setitem__: a leaf tensor that requires grad.*copy=True.*no_grad"):
        x[0] = 5.0
    # The advised way out: a recorded copy takes the write, and the gradient still reaches the leaf.
    y = xp.asarray(x, copy=True)
    y[0] = 5.0
    xp.sum(y * y).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [0.0, 4.0, 6.0])


def test_array_api_extra_at_set_on_a_leaf_works_with_copy_true(xp) -> None:
    xpx = pytest.importorskip("array_api_extra")
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = xpx.at(x)[1].set(10.0, copy=True)
    xp.sum(y * y).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [2.0, 0.0, 6.0])
