"""Creation functions with Tensor arguments: ``linspace`` between 0-D Tensors is on the tape."""

from __future__ import annotations

import numpy as np
import pytest

import wrapgrad

CASES = [  # (start, stop, num, endpoint)
    (0.0, 2.0, 3, True),
    (-1.0, 2.5, 5, False),
    (0.3, -0.7, 7, True),
    (1.5, 4.0, 1, True),
    (1.5, 4.0, 1, False),
]


@pytest.mark.parametrize(("start", "stop", "num", "endpoint"), CASES)
@pytest.mark.parametrize("tensor_ends", ["start", "stop", "both"])
def test_linspace_between_tensors_matches_the_backend_and_its_gradient(xp, raw_xp, start, stop, num, endpoint,
                                                                       tensor_ends) -> None:
    def ends(a, b):
        a = xp.asarray(a, dtype=xp.float64) if tensor_ends in ("start", "both") else a
        b = xp.asarray(b, dtype=xp.float64) if tensor_ends in ("stop", "both") else b
        return a, b

    a, b = ends(start, stop)
    got = xp.linspace(a, b, num, endpoint=endpoint)
    expected = raw_xp.linspace(start, stop, num, endpoint=endpoint, dtype=raw_xp.float64)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-15, atol=1e-15)

    weights = xp.asarray(np.linspace(1.0, 2.0, num) ** 2)

    def loss(a, b):
        return xp.sum(xp.linspace(a, b, num, endpoint=endpoint) * weights)

    tensors = [t for t in ends(start, stop) if isinstance(t, wrapgrad.Tensor)]
    for t in tensors:
        t.requires_grad_(True)
    assert wrapgrad.gradcheck(lambda *ts: loss(*_fill(ts, tensor_ends, start, stop)), tensors)


def _fill(ts, tensor_ends, start, stop):
    if tensor_ends == "both":
        return ts
    return (ts[0], stop) if tensor_ends == "start" else (start, ts[0])


def test_linspace_gradient_matches_jax_grad() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    xp = pytest.importorskip("wrapgrad.jax")
    w = np.linspace(1.0, 2.0, 6) ** 2

    def f(xp_, a, b):
        return xp_.sum(xp_.linspace(a, b, 6) * xp_.asarray(w))

    a = xp.asarray(0.25, requires_grad=True)
    b = xp.asarray(3.0, requires_grad=True)
    f(xp, a, b).backward()
    ga, gb = jax.grad(lambda a, b: f(jnp, a, b), argnums=(0, 1))(0.25, 3.0)
    np.testing.assert_allclose([float(a.grad), float(b.grad)], [float(ga), float(gb)], rtol=1e-14)
    # Under jax.jit, the same code traces (no value-dependent Python).
    jitted = jax.jit(wrapgrad.grad(lambda a, b: f(xp, a, b), argnums=(0, 1)))
    ja, jb = jitted(jnp.asarray(0.25), jnp.asarray(3.0))
    np.testing.assert_allclose([float(ja), float(jb)], [float(ga), float(gb)], rtol=1e-14)


def test_linspace_refuses_what_it_cannot_take(xp) -> None:
    with pytest.raises(ValueError, match=r"linspace: start must be a Python scalar or a 0-D Tensor"):
        xp.linspace(xp.asarray([0.0, 1.0]), 1.0, 3)
