"""The functional API against jax (jax.grad / vjp / jvp / jacrev / jacfwd / hessian) and closed forms.

Every function here is written against the array API (``xp = array_namespace(x)``), so the same code runs on
raw jax arrays for the reference and on wrapgrad Tensors (or raw arrays of each backend) for ours.
"""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import wrapgrad
from wrapgrad import Tensor

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

TOL = {"rtol": 1e-10, "atol": 1e-10}
X = np.array([0.3, -0.7, 1.1])
M = np.array([[0.2, -0.4], [0.9, 0.5], [-0.3, 0.8]])


def to_np(a):
    if isinstance(a, Tensor):
        a = a.detach()
    else:
        a = Tensor(a)
    return np.asarray(a)


def close(ours, theirs) -> None:
    """Compare two pytrees leaf by leaf (structures must match)."""
    ours_leaves, ours_def = wrapgrad.tree_flatten(ours)
    theirs_leaves = jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves), (ours_def, theirs)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        np.testing.assert_allclose(to_np(a), np.asarray(b), **TOL)


# -- the functions ---------------------------------------------------------------------------------------------


def scalar_fn(x):
    xp = array_namespace(x)
    return xp.sum(xp.sin(x) * x[0] + xp.exp(x) ** 2 / (1 + x * x))


def vector_fn(x):
    xp = array_namespace(x)
    return xp.sin(x) * x[0] + x * xp.tanh(x[1])


def two_args(x, w):
    xp = array_namespace(x, w)
    return xp.sum(xp.tanh(w.T @ x) ** 2) + xp.sum(x * x * x)


def tree_fn(params):
    xp = array_namespace(params["w"])
    hidden = xp.tanh(params["w"].T @ params["b"][0]) * params["b"][1]
    return {"out": hidden * hidden, "total": xp.sum(hidden)}


def tree_scalar(params):
    out = tree_fn(params)
    xp = array_namespace(out["out"])
    return xp.sum(out["out"]) + out["total"]


def jax_params(values):
    return {"w": jnp.asarray(M), "b": [jnp.asarray(values), jnp.asarray(values[:2] * 2.0)]}


def our_params(raw_xp, values):
    return {"w": raw_xp.asarray(M), "b": [raw_xp.asarray(values), raw_xp.asarray(values[:2] * 2.0)]}


# -- grad and value_and_grad -----------------------------------------------------------------------------------


def test_grad_of_raw_arrays_matches_jax_and_returns_raw_arrays(raw_xp) -> None:
    x = raw_xp.asarray(X)
    g = wrapgrad.grad(scalar_fn)(x)
    assert not isinstance(g, Tensor) and type(g) is type(x)
    close(g, jax.grad(scalar_fn)(jnp.asarray(X)))


def test_grad_of_tensors_returns_tensors(xp) -> None:
    x = xp.asarray(X)
    g = wrapgrad.grad(scalar_fn)(x)
    assert isinstance(g, Tensor) and not g.requires_grad
    close(g, jax.grad(scalar_fn)(jnp.asarray(X)))


def test_grad_with_tuple_argnums_and_pytrees(raw_xp) -> None:
    x, w = raw_xp.asarray(X), raw_xp.asarray(M)
    gx, gw = wrapgrad.grad(two_args, argnums=(0, 1))(x, w)
    close((gx, gw), jax.grad(two_args, argnums=(0, 1))(jnp.asarray(X), jnp.asarray(M)))
    gw_only = wrapgrad.grad(two_args, argnums=-1)(x, w)
    close(gw_only, jax.grad(two_args, argnums=1)(jnp.asarray(X), jnp.asarray(M)))
    g_tree = wrapgrad.grad(tree_scalar)(our_params(raw_xp, X))
    assert set(g_tree) == {"w", "b"} and isinstance(g_tree["b"], list)
    close(g_tree, jax.grad(tree_scalar)(jax_params(X)))


def test_value_and_grad_and_has_aux(raw_xp) -> None:
    x = raw_xp.asarray(X)

    def with_aux(x):
        return scalar_fn(x), {"double": x * 2.0}

    value, g = wrapgrad.value_and_grad(scalar_fn)(x)
    jvalue, jg = jax.value_and_grad(scalar_fn)(jnp.asarray(X))
    close((value, g), (jvalue, jg))
    (value, aux), g = wrapgrad.value_and_grad(with_aux, has_aux=True)(x)
    close(aux["double"], 2 * X)
    g2, aux2 = wrapgrad.grad(with_aux, has_aux=True)(x)
    close((g2, aux2["double"]), (jg, 2 * X))


def test_grad_of_an_unused_argument_is_zero(raw_xp) -> None:
    g = wrapgrad.grad(lambda x, y: scalar_fn(x), argnums=1)(raw_xp.asarray(X), raw_xp.asarray(M))
    close(g, np.zeros_like(M))


def test_complex_grad_is_torchs_convention_the_conjugate_of_jaxs(raw_xp) -> None:
    z = X + 1j * X[::-1]

    def f(z):
        xp = array_namespace(z)
        return xp.sum(xp.real(z * z * xp.conj(z)) + xp.abs(xp.sin(z)) ** 2)

    ours = wrapgrad.grad(f)(raw_xp.asarray(z))
    close(ours, np.conj(np.asarray(jax.grad(f)(jnp.asarray(z)))))


# -- vjp and jvp -----------------------------------------------------------------------------------------------


def test_vjp_matches_jax_and_can_be_called_twice(raw_xp) -> None:
    x, w = raw_xp.asarray(X), raw_xp.asarray(M)

    def f(x, w):
        xp = array_namespace(x)
        return (xp.sin(w.T @ x), x * w[:, 0])

    out, vjp_fn = wrapgrad.vjp(f, x, w)
    jout, jvjp = jax.vjp(f, jnp.asarray(X), jnp.asarray(M))
    close(out, jout)
    ct = (np.array([0.5, -2.0]), np.array([1.0, 0.25, 3.0]))
    for _ in range(2):
        close(vjp_fn(tuple(raw_xp.asarray(c) for c in ct)), jvjp(tuple(jnp.asarray(c) for c in ct)))


def test_vjp_of_a_pytree_output(raw_xp) -> None:
    out, vjp_fn = wrapgrad.vjp(tree_fn, our_params(raw_xp, X))
    jout, jvjp = jax.vjp(tree_fn, jax_params(X))
    close(out, jout)
    ct = {"out": np.array([1.0, -1.5]), "total": np.asarray(0.7)}
    close(vjp_fn({k: raw_xp.asarray(v) for k, v in ct.items()}), jvjp({k: jnp.asarray(v) for k, v in ct.items()}))


def test_jvp_matches_jax(raw_xp) -> None:
    t = np.array([1.0, -0.5, 2.0])
    out, tangent = wrapgrad.jvp(vector_fn, (raw_xp.asarray(X),), (raw_xp.asarray(t),))
    close((out, tangent), jax.jvp(vector_fn, (jnp.asarray(X),), (jnp.asarray(t),)))
    tw = np.ones_like(M) * 0.3
    out, tangent = wrapgrad.jvp(two_args, (raw_xp.asarray(X), raw_xp.asarray(M)),
                                (raw_xp.asarray(t), raw_xp.asarray(tw)))
    close((out, tangent), jax.jvp(two_args, (jnp.asarray(X), jnp.asarray(M)), (jnp.asarray(t), jnp.asarray(tw))))


def test_jvp_of_a_pytree_and_of_a_holomorphic_complex_function(raw_xp) -> None:
    params, tangents = our_params(raw_xp, X), our_params(raw_xp, X[::-1].copy())
    close(wrapgrad.jvp(tree_fn, (params,), (tangents,)),
          jax.jvp(tree_fn, (jax_params(X),), (jax_params(X[::-1].copy()),)))
    z, dz = X + 0.5j, X[::-1] - 0.25j

    def holo(z):
        xp = array_namespace(z)
        return z * z * xp.sin(z) + xp.exp(z) / (z + 3)

    close(wrapgrad.jvp(holo, (raw_xp.asarray(z),), (raw_xp.asarray(dz),)),
          jax.jvp(holo, (jnp.asarray(z),), (jnp.asarray(dz),)))


def test_jvp_of_an_output_that_does_not_depend_on_the_input(raw_xp) -> None:
    _, tangent = wrapgrad.jvp(lambda x, y: y * 2.0, (raw_xp.asarray(X), raw_xp.asarray(X)),
                                (raw_xp.asarray(X), raw_xp.asarray(np.zeros(3))))
    close(tangent, np.zeros(3))


# -- jacobians and hessians -----------------------------------------------------------------------------------


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "jacobian"])
def test_jacobians_match_jax(raw_xp, transform) -> None:
    ours = getattr(wrapgrad, transform)
    close(ours(vector_fn)(raw_xp.asarray(X)), jax.jacrev(vector_fn)(jnp.asarray(X)))
    close(ours(two_args, argnums=(0, 1))(raw_xp.asarray(X), raw_xp.asarray(M)),
          jax.jacrev(two_args, argnums=(0, 1))(jnp.asarray(X), jnp.asarray(M)))
    close(ours(tree_fn)(our_params(raw_xp, X)), jax.jacrev(tree_fn)(jax_params(X)))


def test_jacobian_shapes_follow_jax(xp) -> None:
    x = xp.asarray(M)
    jac = wrapgrad.jacrev(lambda m: m.T @ m)(x)
    assert jac.shape == (2, 2, 3, 2)
    assert wrapgrad.jacfwd(lambda m: m.T @ m)(x).shape == (2, 2, 3, 2)


def test_hessian_matches_jax(raw_xp) -> None:
    close(wrapgrad.hessian(scalar_fn)(raw_xp.asarray(X)), jax.hessian(scalar_fn)(jnp.asarray(X)))
    close(wrapgrad.hessian(two_args, argnums=(0, 1))(raw_xp.asarray(X), raw_xp.asarray(M)),
          jax.hessian(two_args, argnums=(0, 1))(jnp.asarray(X), jnp.asarray(M)))
    close(wrapgrad.hessian(tree_scalar)(our_params(raw_xp, X)), jax.hessian(tree_scalar)(jax_params(X)))


def test_hessian_vector_products_two_ways(raw_xp) -> None:
    v = np.array([0.1, 2.0, -1.0])
    expected = jax.jvp(jax.grad(scalar_fn), (jnp.asarray(X),), (jnp.asarray(v),))[1]
    _, forward_over_reverse = wrapgrad.jvp(wrapgrad.grad(scalar_fn), (raw_xp.asarray(X),), (raw_xp.asarray(v),))
    close(forward_over_reverse, expected)

    def grad_dot_v(x):
        xp = array_namespace(x)
        return xp.sum(wrapgrad.grad(scalar_fn)(x) * xp.asarray(v))

    close(wrapgrad.grad(grad_dot_v)(raw_xp.asarray(X)), expected)


# -- higher order: closed forms -------------------------------------------------------------------------------


def nth_grad(f, n):
    for _ in range(n):
        f = wrapgrad.grad(f)
    return f


@pytest.mark.parametrize(
    ("name", "f", "third"),
    [
        ("sin", lambda x: array_namespace(x).sin(x), lambda v: -np.cos(v)),
        ("exp2x", lambda x: array_namespace(x).exp(2.0 * x), lambda v: 8 * np.exp(2 * v)),
        ("x^5", lambda x: x ** 5, lambda v: 60 * v**2),
        ("tanh", lambda x: array_namespace(x).tanh(x), lambda v: (1 - np.tanh(v) ** 2) * (6 * np.tanh(v) ** 2 - 2)),
        ("log", lambda x: array_namespace(x).log(x), lambda v: 2 / v**3),
        ("x*sqrt(x)", lambda x: x * array_namespace(x).sqrt(x), lambda v: -0.375 * v**-1.5),
    ],
)
def test_third_derivatives_match_closed_forms(raw_xp, name, f, third) -> None:
    for v in (0.4, 1.3):
        got = nth_grad(f, 3)(raw_xp.asarray(v))
        np.testing.assert_allclose(to_np(got), third(v), rtol=1e-10)


def test_third_derivative_through_autograd_grad_with_create_graph(xp) -> None:
    x = xp.asarray(X, requires_grad=True)
    y = xp.sum(xp.sin(x) * x)
    (g1,) = wrapgrad.autograd_grad(y, x, create_graph=True)
    (g2,) = wrapgrad.autograd_grad(xp.sum(g1), x, create_graph=True)
    (g3,) = wrapgrad.autograd_grad(xp.sum(g2), x)
    # d^3/dx^3 (x sin x) = -3 sin x - x cos x
    np.testing.assert_allclose(to_np(g3), -3 * np.sin(X) - X * np.cos(X), rtol=1e-12)


def test_nested_transforms_do_not_confuse_perturbations(raw_xp) -> None:
    # d/dx [x * d/dy (x * y)] = d/dx x^2 = 2x (a tape that differentiates "x" twice would give 3x or 4x)
    def f(x):
        return x * wrapgrad.grad(lambda y: x * y)(x)

    np.testing.assert_allclose(to_np(wrapgrad.grad(f)(raw_xp.asarray(1.5))), 3.0, rtol=1e-12)


def test_grad_of_a_tensor_that_requires_grad_stays_on_the_tape(xp) -> None:
    x = xp.asarray(X, requires_grad=True)
    g = wrapgrad.grad(scalar_fn)(x)
    assert g.requires_grad
    xp.sum(g).backward()
    np.testing.assert_allclose(to_np(x.grad), np.sum(np.asarray(jax.hessian(scalar_fn)(jnp.asarray(X))), axis=0),
                               **TOL)


# -- misuse: each error names the transform and the cause ----------------------------------------------------------


def test_grad_of_a_non_scalar_function_is_a_clear_error(raw_xp) -> None:
    with pytest.raises(TypeError, match=r"grad: the function must return a single-element array \(a scalar loss\), "
                                        r"got shape \(3,\); use vjp"):
        wrapgrad.grad(vector_fn)(raw_xp.asarray(X))


def test_unknown_argnums_is_a_clear_error(raw_xp) -> None:
    x = raw_xp.asarray(X)
    with pytest.raises(ValueError, match="grad: argnums 2 is out of range for a function called with 2 positional"):
        wrapgrad.grad(two_args, argnums=2)(x, raw_xp.asarray(M))
    with pytest.raises(TypeError, match="jacrev: argnums must be an int or a tuple of ints, got 'x'"):
        wrapgrad.jacrev(vector_fn, argnums="x")(x)
    with pytest.raises(ValueError, match=r"value_and_grad: argnums \(0, 0\) names an argument twice"):
        wrapgrad.value_and_grad(scalar_fn, argnums=(0, 0))(x)


def test_differentiating_a_non_array_is_a_clear_error(raw_xp) -> None:
    with pytest.raises(TypeError, match="grad: argument 0 holds a float, not an array"):
        wrapgrad.grad(lambda x: x * 2.0)(1.5)
    with pytest.raises(TypeError, match=r"grad: argument 0 has dtype .*int64; only floating-point"):
        wrapgrad.grad(lambda x: x * 2.0)(raw_xp.asarray([1, 2]))


def test_mismatched_cotangents_are_clear_errors(raw_xp, backend) -> None:
    _, vjp_fn = wrapgrad.vjp(vector_fn, raw_xp.asarray(X))
    with pytest.raises(ValueError, match=r"vjp: cotangent 0 has shape \(2,\), but it should have shape \(3,\)"):
        vjp_fn(raw_xp.asarray([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"vjp: cotangent 0 has dtype .*complex128, which does not match dtype "
                                        r".*float64"):
        vjp_fn(raw_xp.asarray(X + 1j))
    with pytest.raises(ValueError, match=r"vjp: the cotangent has structure \(\*, \*\), but the output has "
                                         r"structure \*"):
        vjp_fn((raw_xp.asarray(X), raw_xp.asarray(X)))
    other = jnp.asarray(X) if backend != "jax" else np.asarray(X)
    with pytest.raises(TypeError, match=r"vjp: cotangent 0 comes from .*, but it belongs to a .* array"):
        vjp_fn(other)
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2,\), but it should have shape \(3,\)"):
        wrapgrad.jvp(vector_fn, (raw_xp.asarray(X),), (raw_xp.asarray([1.0, 2.0]),))


def test_a_function_returning_a_non_array_is_a_clear_error(raw_xp) -> None:
    with pytest.raises(TypeError, match=r"grad: the function must return a single-element array .*got float"):
        wrapgrad.grad(lambda x: 1.0)(raw_xp.asarray(X))
    with pytest.raises(TypeError, match="jacrev: complex arrays are not supported"):
        wrapgrad.jacrev(lambda z: z * z)(raw_xp.asarray(X + 1j))


def test_allow_unused_error_and_none(xp) -> None:
    x = xp.asarray(X, requires_grad=True)
    y = xp.asarray(X, requires_grad=True)
    out = xp.sum(x * x)
    with pytest.raises(RuntimeError, match=r"autograd_grad: input 1 is not used to compute the outputs \(pass "
                                           r"allow_unused=True"):
        wrapgrad.autograd_grad(out, [x, y], retain_graph=True)
    gx, gy = wrapgrad.autograd_grad(out, [x, y], allow_unused=True)
    assert gy is None
    np.testing.assert_allclose(to_np(gx), 2 * X)


def test_backward_on_a_freed_graph_is_a_clear_error(xp) -> None:
    x = xp.asarray(X, requires_grad=True)
    out = xp.sum(xp.exp(x))
    wrapgrad.autograd_grad(out, x)
    with pytest.raises(RuntimeError, match=r"trying to backward through the graph a second time \(the saved values "
                                           r"of ExpBackward0 were freed"):
        out.backward()


def test_autograd_grad_skips_branches_that_lead_to_no_input(xp) -> None:
    # torch runs only the nodes between the outputs and the inputs: a freed side branch is no obstacle.
    x = xp.asarray(X, requires_grad=True)
    w = xp.asarray(X, requires_grad=True)
    side = xp.exp(w)
    out = xp.sum(x * x) + xp.sum(side)
    wrapgrad.autograd_grad(xp.sum(side), w)  # frees exp's saved values
    (gx,) = wrapgrad.autograd_grad(out, x)
    np.testing.assert_allclose(to_np(gx), 2 * X)


# -- gradcheck over pytrees --------------------------------------------------------------------------------------


def test_gradcheck_takes_pytrees_and_raw_arrays(raw_xp) -> None:
    assert wrapgrad.gradcheck(tree_fn, [our_params(raw_xp, X)])
    assert wrapgrad.gradcheck(two_args, (raw_xp.asarray(X), raw_xp.asarray(M)), eps=1e-6, atol=1e-6, rtol=1e-4)

    def holo(z):
        xp = array_namespace(z)
        return {"a": xp.sin(z) * z, "b": [xp.real(z * xp.conj(z))]}

    assert wrapgrad.gradcheck(holo, [raw_xp.asarray(X + 0.3j)])


def test_gradcheck_reports_the_worst_mismatch(xp) -> None:
    @wrapgrad.custom_vjp
    def wrong(x):
        return x * x

    wrong.defvjp(lambda x: (x * x, x), lambda x, g: (g * x,))  # off by a factor of 2
    with pytest.raises(wrapgrad.GradcheckError, match=r"gradcheck: directional derivative \d disagrees: backward "
                                                      r"gives .*, central finite differences give"):
        wrapgrad.gradcheck(lambda p: {"y": wrong(p["x"])}, [{"x": xp.asarray(X, requires_grad=True)}])
