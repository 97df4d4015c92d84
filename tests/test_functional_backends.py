"""The README's functional pattern on every backend, and raw arrays of another library as constants.

``loss(w, x)`` takes its namespace from all of its arguments (``array_namespace(w, x)``); the transforms wrap the
raw arrays among them, recognised as array_api_compat recognises arrays (torch tensors have no
``__array_namespace__``), so the function sees one namespace. A raw array of another library is a constant
exactly where the backend takes it itself (numpy arrays and scalars on jax), by one rule that the funnel and
the transforms share (``Backend.constant``); anything else is an error that names both libraries.
References: torch.func / torch.autograd, and jax.grad / jax.hessian on the same function.
"""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import wrapgrad


def loss(w, x):  # the README's pattern: any array-API code, the namespace from all arguments
    xp = array_namespace(w, x)
    return xp.sum(xp.tanh(x @ w) ** 2)


X = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
W = np.array([0.5, -0.3, 0.8])


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def _torch():
    return pytest.importorskip("torch", reason="torch is not installed (CI installs torch==2.13.0, the CPU wheel)")


# -- torch --------------------------------------------------------------------------------------------------------


def test_the_functional_pattern_on_torch_matches_torch_func() -> None:
    torch = _torch()
    w, x = torch.asarray(W), torch.asarray(X)
    seen = []

    def spy(w, x):
        seen.append(array_namespace(w, x).__name__)
        return loss(w, x)

    reference = torch.func.grad(lambda w: torch.sum(torch.tanh(x @ w) ** 2))(w)
    g = wrapgrad.grad(spy)(w, x)
    assert type(g) is torch.Tensor  # raw arrays in, raw arrays out
    torch.testing.assert_close(g, reference, rtol=1e-12, atol=1e-14)
    assert seen == ["wrapgrad.torch"]

    value, (gw, gx) = wrapgrad.value_and_grad(loss, argnums=(0, 1))(w, x)
    ref_w, ref_x = torch.func.grad(lambda w, x: torch.sum(torch.tanh(x @ w) ** 2), argnums=(0, 1))(w, x)
    torch.testing.assert_close(gw, ref_w, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gx, ref_x, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(value, torch.sum(torch.tanh(x @ w) ** 2))

    hessian = wrapgrad.hessian(loss)(w, x)
    ref_h = torch.func.hessian(lambda w: torch.sum(torch.tanh(x @ w) ** 2))(w)
    torch.testing.assert_close(hessian, ref_h, rtol=1e-10, atol=1e-12)


def test_vjp_and_jvp_on_torch_with_a_raw_constant() -> None:
    torch = _torch()
    w, x = torch.asarray(W), torch.asarray(X)
    f = lambda w, x: array_namespace(w).sin(x @ w)  # x may be a closure's raw array: the namespace from w
    _, vjp_fn = wrapgrad.vjp(lambda w: f(w, x), w)
    v = torch.linspace(0.5, 2.0, 4, dtype=torch.float64)
    (gw,) = vjp_fn(v)
    _, ref_vjp = torch.func.vjp(lambda w: torch.sin(x @ w), w)
    torch.testing.assert_close(gw, ref_vjp(v)[0], rtol=1e-12, atol=1e-14)
    t = torch.asarray([1.0, 0.0, -2.0], dtype=torch.float64)
    _, tangent = wrapgrad.jvp(lambda w: f(w, x), (w,), (t,))
    torch.testing.assert_close(tangent, torch.func.jvp(lambda w: torch.sin(x @ w), (w,), (t,))[1])
    # the constant may also be passed as an argument that is not differentiated
    g = wrapgrad.grad(lambda w, x: array_namespace(w, x).sum(array_namespace(w, x).sin(x @ w)))(w, x)
    torch.testing.assert_close(g, torch.func.grad(lambda w: torch.sum(torch.sin(x @ w)))(w))


def test_torch_with_numpy_or_jax_constants_is_an_error_naming_both() -> None:
    torch = _torch()
    w = torch.asarray(W)
    # torch's functions refuse numpy arrays, so wrapgrad does too: no silent conversion on one side only.
    with pytest.raises(TypeError, match=r"matmul: arguments come from different array libraries \(torch, numpy\)"):
        wrapgrad.grad(lambda w, x: (x @ w).sum())(w, X)
    jnp = _jax().numpy
    with pytest.raises(TypeError, match=r"\(torch, jax\)"):
        wrapgrad.grad(lambda w, x: (x @ w).sum())(w, jnp.asarray(X))
    with pytest.raises(TypeError, match=r"wrapgrad\.torch.*jax"):  # array_namespace's own message names both
        wrapgrad.grad(loss)(w, jnp.asarray(X))


def test_numpy_scalar_constants_on_torch_are_python_numbers_as_torch_takes_them() -> None:
    torch = _torch()
    w = torch.asarray(W, dtype=torch.float32)
    for c in (np.float64(2.5), np.float32(2.5)):
        g = wrapgrad.grad(lambda w, c: array_namespace(w, c).sum(w * c))(w, c)
        assert g.dtype == torch.float32  # a weak scalar, as in torch: float32 stays float32
        torch.testing.assert_close(g, torch.full((3,), 2.5))


# -- jax with numpy constants -------------------------------------------------------------------------------------


def test_the_functional_pattern_on_jax_with_numpy_constants() -> None:
    jax = _jax()
    import jax.numpy as jnp

    w = jnp.asarray(W)
    seen = []

    def spy(w, x):
        seen.append(array_namespace(w, x).__name__)
        return loss(w, x)

    reference = jax.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w) ** 2))(w, X)  # jax.numpy takes the numpy x itself
    g = wrapgrad.grad(spy)(w, X)
    np.testing.assert_allclose(np.asarray(g), np.asarray(reference), rtol=1e-12, atol=1e-14)
    assert seen == ["wrapgrad.jax"]
    jitted = jax.jit(wrapgrad.grad(loss))(w, X)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(reference), rtol=1e-12, atol=1e-14)
    hessian = wrapgrad.hessian(loss)(w, X)
    ref_h = jax.hessian(lambda w: jnp.sum(jnp.tanh(X @ w) ** 2))(w)
    np.testing.assert_allclose(np.asarray(hessian), np.asarray(ref_h), rtol=1e-10, atol=1e-12)


def test_jax_tensors_take_numpy_arrays_and_scalars_as_constants_in_the_funnel() -> None:
    jax = _jax()
    import jax.numpy as jnp

    import wrapgrad.jax as xp

    w = xp.asarray(W, requires_grad=True)
    c = np.array([1.0, 2.0, 3.0])
    # closing over numpy data, as JAX code does; np.float32 keeps jax's typing (a strongly typed numpy scalar)
    out = xp.sum(xp.sin(X @ w) * np.float32(2.0)) + xp.sum(w * c)
    out.backward()
    ref = jax.grad(lambda w: jnp.sum(jnp.sin(X @ w) * np.float32(2.0)) + jnp.sum(w * c))(jnp.asarray(W))
    np.testing.assert_allclose(np.asarray(w.grad), np.asarray(ref), rtol=1e-12, atol=1e-14)
    assert (w * np.float32(2.0)).dtype == (jnp.asarray(W) * np.float32(2.0)).dtype
    x32 = xp.asarray(W, dtype=xp.float32)
    assert (x32 * np.ones(3)).dtype == (jnp.asarray(W, dtype=jnp.float32) * np.ones(3)).dtype
    # reflected operators and a second derivative through the constant (create_graph runs the rules on Tensors)
    (g,) = wrapgrad.autograd_grad(xp.sum((c * w) ** 3), w, create_graph=True)
    (h,) = wrapgrad.autograd_grad(xp.sum(g), w)
    np.testing.assert_allclose(np.asarray(h), 6 * c**3 * W, rtol=1e-12)


def test_jax_with_torch_constants_is_an_error_naming_both() -> None:
    _jax()
    torch = _torch()
    import wrapgrad.jax as xp

    w = xp.asarray(W, requires_grad=True)
    with pytest.raises(TypeError, match=r"multiply: arguments come from different array libraries \(jax, torch\)"):
        w * torch.ones(3, dtype=torch.float64)


# -- numpy: the pattern as before, with array-api-strict arrays left to their own library ---------------------


def test_the_functional_pattern_on_numpy_and_a_foreign_constant() -> None:
    g = wrapgrad.grad(lambda w, c: array_namespace(w, c).sum(w * c))(W, np.float64(2.5))  # a numpy scalar is numpy's
    np.testing.assert_array_equal(g, np.full(3, 2.5))
    g = wrapgrad.grad(loss)(W, X)
    eps = 1e-6
    fd = [(loss(W + eps * e, X) - loss(W - eps * e, X)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=r"\(numpy, array_api_strict\)"):
        # through the namespace: strict's own operator would refuse a Tensor before wrapgrad sees it
        wrapgrad.grad(lambda w, x: array_namespace(w).sum(array_namespace(w).matmul(x, w)))(W, strict.asarray(X))
