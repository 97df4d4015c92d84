"""Tensor hooks, retain_grad, detach/stop_gradient: compared with closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import wrapgrad

V = np.array([0.5, -1.0, 2.0])


def test_hook_on_a_leaf_replaces_its_gradient(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(np.asarray(g)))
    x.register_hook(lambda g: g * 3.0)
    xp.sum(x * x).backward()
    np.testing.assert_allclose(seen[0], 2 * V)
    np.testing.assert_allclose(np.asarray(x.grad), 6 * V)


def test_hook_on_a_non_leaf_changes_what_flows_upstream(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = xp.sin(x)
    y.register_hook(lambda g: g * 0.0 + 1.0)  # pretend dL/dy = 1
    xp.sum(y * y).backward()
    np.testing.assert_allclose(np.asarray(x.grad), np.cos(V))


def test_removed_hook_no_longer_runs(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = x * 2.0
    h_leaf = x.register_hook(lambda g: g * 10.0)
    h_mid = y.register_hook(lambda g: g * 10.0)
    h_leaf.remove()
    h_mid.remove()
    h_mid.remove()  # idempotent
    xp.sum(y).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 2.0, 2.0])


def test_hooks_run_in_autograd_grad_and_on_multi_output_nodes(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = x * x
    y.register_hook(lambda g: -g)
    (gx,) = wrapgrad.autograd_grad(xp.sum(y), x)
    np.testing.assert_allclose(np.asarray(gx), -2 * V)


def test_hook_with_create_graph_sees_a_tensor_on_the_tape(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = x * x * x
    y.register_hook(lambda g: g * x)  # replaces dL/dy by x: the result is sum(3 x^3)
    (gx,) = wrapgrad.autograd_grad(xp.sum(y), x, create_graph=True)
    np.testing.assert_allclose(np.asarray(gx.detach()), 3 * V**3)
    (ggx,) = wrapgrad.autograd_grad(xp.sum(gx), x)
    np.testing.assert_allclose(np.asarray(ggx), 9 * V**2)


def test_a_hook_returning_the_wrong_shape_is_a_clear_error(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    x.register_hook(lambda g: g[:2])
    with pytest.raises(ValueError, match=r"register_hook: a hook of a leaf returned a gradient of shape \(2,\)"):
        xp.sum(x).backward()


def test_register_hook_on_a_tensor_without_grad_is_a_clear_error(xp) -> None:
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor that does not require"):
        xp.ones(3).register_hook(lambda g: g)


def test_retain_grad_fills_and_accumulates_the_grad_of_a_non_leaf(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = xp.sin(x)
    y.retain_grad()
    assert y.retains_grad
    out = xp.sum(y * y)
    out.backward(retain_graph=True)
    np.testing.assert_allclose(np.asarray(y.grad), 2 * np.sin(V))
    out.backward()
    np.testing.assert_allclose(np.asarray(y.grad), 4 * np.sin(V))
    z = x * 1.0
    assert z.grad is None  # not retained: stays empty
    x.grad = None
    wrapgrad.autograd_grad(xp.sum(xp.sin(x) * 2.0), x)
    assert x.grad is None


def test_retain_grad_follows_an_in_place_update(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = x * 1.0
    y.retain_grad()
    y *= 3.0
    xp.sum(y * y).backward()
    np.testing.assert_allclose(np.asarray(y.grad), 6 * V)  # gradient of the new value
    np.testing.assert_allclose(np.asarray(x.grad), 18 * V)


def test_retain_grad_of_the_root_and_of_a_multi_output_result(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    out = xp.sum(x * x)
    out.retain_grad()
    out.backward()
    assert float(out.grad) == 1.0


def test_detach_and_stop_gradient_block_the_gradient(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = x * wrapgrad.stop_gradient(x) + x.detach() * 0.0
    xp.sum(y).backward()
    np.testing.assert_allclose(np.asarray(x.grad), V)  # d/dx (x * c) = c = x
    raw = x.detach()._data
    assert wrapgrad.stop_gradient(raw) is raw  # raw arrays are not on any tape
