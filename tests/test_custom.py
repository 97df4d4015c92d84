"""wrapgrad.Function and wrapgrad.custom_vjp: hand-written gradients, closed forms and jax references."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import wrapgrad

V = np.array([0.5, -1.0, 2.0])


def to_np(t):
    return np.asarray(t.detach() if isinstance(t, wrapgrad.Tensor) else wrapgrad.Tensor(t))


class MyExp(wrapgrad.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.__array_namespace__().exp(x)
        ctx.save_for_backward(y)  # an output: stays on the tape for double backward
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ScaledProduct(wrapgrad.Function):
    """x * y * scale, with a non-tensor argument and two outputs."""

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y * scale, x + y

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        x, y = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, True, False)
        return g_prod * y * ctx.scale + g_sum, g_prod * x * ctx.scale + g_sum, None


def test_function_gradient_and_node_name(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = MyExp.apply(x)
    assert y.grad_fn.type_name() == "MyExpBackward"
    assert wrapgrad.gradcheck(MyExp.apply, [x])
    xp.sum(y * 2.0).backward()
    np.testing.assert_allclose(to_np(x.grad), 2 * np.exp(V), rtol=1e-12)


def test_function_with_two_outputs_and_a_non_tensor_argument(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = xp.asarray(V[::-1].copy(), requires_grad=True)
    prod, total = ScaledProduct.apply(x, y, 3.0)
    xp.sum(prod + total * total).backward()
    np.testing.assert_allclose(to_np(x.grad), 3 * V[::-1] + 2 * (V + V[::-1]), rtol=1e-12)
    np.testing.assert_allclose(to_np(y.grad), 3 * V + 2 * (V + V[::-1]), rtol=1e-12)
    x.grad = None
    prod, _ = ScaledProduct.apply(x, y, 3.0)  # the second output gets no gradient: backward sees zeros
    xp.sum(prod).backward()
    np.testing.assert_allclose(to_np(x.grad), 3 * V[::-1], rtol=1e-12)


def test_function_supports_create_graph_and_higher_derivatives(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    (g1,) = wrapgrad.autograd_grad(xp.sum(MyExp.apply(x * 2.0)), x, create_graph=True)
    (g2,) = wrapgrad.autograd_grad(xp.sum(g1), x, create_graph=True)
    (g3,) = wrapgrad.autograd_grad(xp.sum(g2), x)
    np.testing.assert_allclose(to_np(g1), 2 * np.exp(2 * V), rtol=1e-12)
    np.testing.assert_allclose(to_np(g3), 8 * np.exp(2 * V), rtol=1e-12)
    third = wrapgrad.grad(wrapgrad.grad(wrapgrad.grad(lambda t: MyExp.apply(t * 2.0))))(xp.asarray(0.3))
    np.testing.assert_allclose(float(third), 8 * np.exp(0.6), rtol=1e-12)


def test_function_without_grad_records_nothing(xp) -> None:
    y = MyExp.apply(xp.asarray(V))
    assert not y.requires_grad and y.grad_fn is None
    with wrapgrad.no_grad():
        assert MyExp.apply(xp.asarray(V, requires_grad=True)).grad_fn is None


def test_function_graph_is_freed_and_a_second_backward_is_a_clear_error(xp) -> None:
    x = xp.asarray(V, requires_grad=True)
    y = MyExp.apply(x)
    node = weakref.ref(y.grad_fn)
    out = xp.sum(y)
    out.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time \(the saved values of "
                                           r"MyExpBackward were freed"):
        out.backward()
    del y, out
    gc.collect()
    assert node() is None


def test_function_backward_with_the_wrong_number_of_gradients_is_a_clear_error(xp) -> None:
    class Bad(wrapgrad.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    out = Bad.apply(xp.asarray(V, requires_grad=True), xp.asarray(V))
    with pytest.raises(TypeError, match=r"Bad\.backward returned 1 gradient, but forward took 2 arguments"):
        xp.sum(out).backward()


def test_function_backward_with_the_wrong_shape_is_a_clear_error(xp) -> None:
    class BadShape(wrapgrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g[:2]

    out = BadShape.apply(xp.asarray(V, requires_grad=True))
    with pytest.raises(ValueError, match=r"BadShape.backward: gradient 0 has shape \(2,\), but the input has shape "
                                         r"\(3,\)"):
        xp.sum(out).backward()


@wrapgrad.custom_vjp
def clipped_sqrt(x):
    return x.__array_namespace__().sqrt(x)


def _clipped_sqrt_fwd(x):
    y = x.__array_namespace__().sqrt(x)
    return y, (y,)


def _clipped_sqrt_bwd(residuals, g):
    (y,) = residuals
    xp = y.__array_namespace__()
    return (g / (2 * xp.maximum(y, 0.1)),)  # a gradient clipped near 0, unlike sqrt's own


clipped_sqrt.defvjp(_clipped_sqrt_fwd, _clipped_sqrt_bwd)


def test_custom_vjp_uses_its_rule(xp) -> None:
    values = np.array([0.0001, 0.25, 4.0])
    x = xp.asarray(values, requires_grad=True)
    y = clipped_sqrt(x)
    assert y.grad_fn.type_name() == "ClippedSqrtBackward"
    xp.sum(y).backward()
    np.testing.assert_allclose(to_np(x.grad), 1 / (2 * np.maximum(np.sqrt(values), 0.1)), rtol=1e-12)
    raw = x.detach()._data
    np.testing.assert_allclose(to_np(clipped_sqrt(raw)), np.sqrt(values))  # raw in: the primal, no tape


def test_custom_vjp_matches_jax_custom_vjp_and_differentiates_twice(xp) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    @jax.custom_vjp
    def jax_clipped(x):
        return jnp.sqrt(x)

    jax_clipped.defvjp(lambda x: (jnp.sqrt(x), (jnp.sqrt(x),)), lambda r, g: (g / (2 * jnp.maximum(r[0], 0.1)),))
    for v in (0.004, 2.0):
        for order in (1, 2):
            ours, theirs = lambda t: clipped_sqrt(t), jax_clipped
            for _ in range(order):
                ours, theirs = wrapgrad.grad(ours), jax.grad(theirs)
            np.testing.assert_allclose(float(ours(xp.asarray(v))), float(theirs(v)), rtol=1e-12)


def test_custom_vjp_with_two_arguments_and_a_tuple_output(xp) -> None:
    @wrapgrad.custom_vjp
    def both(x, y):
        return x * y, x - y

    both.defvjp(lambda x, y: ((x * y, x - y), (x, y)),
                lambda r, g: (g[0] * r[1] + g[1], g[0] * r[0] - g[1]))
    x = xp.asarray(V, requires_grad=True)
    y = xp.asarray(V * 3.0, requires_grad=True)
    assert wrapgrad.gradcheck(both, [x, y])


def test_custom_vjp_errors(xp) -> None:
    @wrapgrad.custom_vjp
    def no_rule(x):
        return x

    with pytest.raises(TypeError, match=r"custom_vjp: no_rule has no rule; call no_rule.defvjp\(fwd, bwd\) first"):
        no_rule(xp.asarray(V, requires_grad=True))

    @wrapgrad.custom_vjp
    def bad(x, y):
        return x * y

    bad.defvjp(lambda x, y: (x * y, None), lambda r, g: (g,))
    out = bad(xp.asarray(V, requires_grad=True), xp.asarray(V))
    with pytest.raises(TypeError, match="custom_vjp: the bwd of bad returned 1 cotangents for 2 arguments"):
        xp.sum(out).backward()


# -- checkpoint (built on the same custom-node machinery) --------------------------------------------------------


def _block(h, w):
    xp = h.__array_namespace__()
    for _ in range(5):
        h = xp.tanh(xp.sin(h) * w + 0.1)
    return h, xp.sum(h * w)


def test_checkpoint_gives_the_same_gradients(xp) -> None:
    def loss(use_checkpoint):
        x = xp.asarray(V, requires_grad=True)
        w = xp.asarray(1.3, requires_grad=True)
        h, s = wrapgrad.checkpoint(_block, x, w) if use_checkpoint else _block(x, w)
        (xp.sum(h * h) + s).backward()
        return to_np(x.grad), to_np(w.grad)

    for ours, plain in zip(loss(True), loss(False), strict=True):
        np.testing.assert_allclose(ours, plain, rtol=1e-13)


def test_checkpoint_works_with_create_graph(xp) -> None:
    def f(x):
        return wrapgrad.checkpoint(lambda t: t.__array_namespace__().sin(t) * t, x)

    # d^3/dx^3 (x sin x) = -3 sin x - x cos x
    got = wrapgrad.grad(wrapgrad.grad(wrapgrad.grad(f)))(xp.asarray(0.7))
    np.testing.assert_allclose(float(got), -3 * np.sin(0.7) - 0.7 * np.cos(0.7), rtol=1e-12)


def test_checkpoint_records_nothing_without_grad(xp) -> None:
    h, _ = wrapgrad.checkpoint(_block, xp.asarray(V), 1.3)
    assert h.grad_fn is None


def test_checkpoint_keeps_only_its_inputs_and_outputs() -> None:
    import tracemalloc

    import wrapgrad.numpy as nxp

    def chain(h):
        for _ in range(20):
            h = nxp.tanh(nxp.sin(h) * 1.01 + 0.1)
        return h

    held = {}
    for use_checkpoint in (False, True):
        x = nxp.asarray(np.linspace(-1, 1, 100_000), requires_grad=True)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        out = wrapgrad.checkpoint(chain, x) if use_checkpoint else chain(x)
        held[use_checkpoint] = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        nxp.sum(out).backward()
    # plain: ~40 saved arrays of 0.8 MB; checkpoint: the output only
    assert held[True] < held[False] / 20, held
