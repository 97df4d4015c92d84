"""jax.jit over wrapgrad's transforms: wrapgrad's tape is traced into one XLA program.

wrapgrad records and runs its backward pass in Python, on raw jax arrays; under jax.jit those are tracers, so
the whole forward + backward becomes one jaxpr, with no host round trip, as long as nothing on the recording
or backward path asks a traced value for a Python bool/float. These tests fail if anything does.
"""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import wrapgrad

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

TOL = {"rtol": 1e-10, "atol": 1e-12}


def mlp_loss(params, x, y):
    """A two-layer MLP with a softplus, max-pooling and a weight penalty, written against the array API."""
    xp = array_namespace(params["w1"], x)
    h = xp.tanh(x @ params["w1"] + params["b1"])
    h = xp.logaddexp(h, xp.zeros_like(h))  # softplus
    h = h * xp.max(h, axis=1, keepdims=True)
    out = h @ params["w2"] + params["b2"]
    err = xp.where(out > y, (out - y) ** 2, xp.abs(out - y))
    penalty = sum(xp.sum(w * w) for w in (params["w1"], params["w2"]))
    return xp.mean(err) + 1e-3 * penalty + xp.sum(xp.clip(params["b1"], -0.5, 0.5)) * 0.1


def _data():
    rng = np.random.default_rng(0)
    params = {
        "w1": jnp.asarray(rng.standard_normal((4, 8))),
        "b1": jnp.asarray(rng.standard_normal(8)),
        "w2": jnp.asarray(rng.standard_normal((8, 3))),
        "b2": jnp.asarray(rng.standard_normal(3)),
    }
    return params, jnp.asarray(rng.standard_normal((5, 4))), jnp.asarray(rng.standard_normal((5, 3)))


def _close(ours, theirs) -> None:
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs), strict=True):
        assert isinstance(a, jax.Array)  # raw in, raw out
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **TOL)


def test_jit_of_grad_equals_jax_grad() -> None:
    params, x, y = _data()
    ours = jax.jit(wrapgrad.grad(mlp_loss))(params, x, y)
    _close(ours, jax.grad(mlp_loss)(params, x, y))


def test_grad_traces_to_one_program_without_host_callbacks() -> None:
    params, x, y = _data()
    jaxpr = jax.make_jaxpr(wrapgrad.grad(mlp_loss))(params, x, y)
    primitives = {str(eqn.primitive) for eqn in jaxpr.jaxpr.eqns}
    assert not any("callback" in p for p in primitives), primitives
    assert "tanh" in primitives and "dot_general" in primitives


def test_jit_of_value_and_grad_with_tuple_argnums() -> None:
    params, x, y = _data()
    value, (gp, gx) = jax.jit(wrapgrad.value_and_grad(mlp_loss, argnums=(0, 1)))(params, x, y)
    jvalue, (jgp, jgx) = jax.value_and_grad(mlp_loss, argnums=(0, 1))(params, x, y)
    _close((value, gp, gx), (jvalue, jgp, jgx))


def test_jit_of_jvp_hessian_and_jacobians() -> None:
    def small(w):
        xp = array_namespace(w)
        return xp.sum(xp.sin(w) * w[0] + xp.exp(w) / (1 + w * w))

    def vector(w):
        xp = array_namespace(w)
        return xp.tanh(w) * w[1]

    w = jnp.asarray([0.3, -0.7, 1.1])
    t = jnp.asarray([1.0, 0.5, -2.0])
    _close(jax.jit(lambda a, b: wrapgrad.jvp(vector, (a,), (b,)))(w, t), jax.jvp(vector, (w,), (t,)))
    _close(jax.jit(wrapgrad.hessian(small))(w), jax.hessian(small)(w))
    _close(jax.jit(wrapgrad.jacrev(vector))(w), jax.jacrev(vector)(w))
    _close(jax.jit(wrapgrad.jacfwd(vector))(w), jax.jacfwd(vector)(w))


def test_jit_of_grad_through_custom_rules_and_checkpoint() -> None:
    @wrapgrad.custom_vjp
    def scaled_tanh(w):
        return array_namespace(w).tanh(w)

    def fwd(w):
        out = array_namespace(w).tanh(w)
        return out, (out,)

    scaled_tanh.defvjp(fwd, lambda r, g: (g * (1 - r[0] * r[0]),))

    def f(w):
        xp = array_namespace(w)
        return xp.sum(wrapgrad.checkpoint(lambda v: scaled_tanh(v) * v, w) ** 2)

    def f_jax(w):
        return jnp.sum((jnp.tanh(w) * w) ** 2)

    w = jnp.asarray([0.3, -0.7, 1.1])
    _close(jax.jit(wrapgrad.grad(f))(w), jax.grad(f_jax)(w))
