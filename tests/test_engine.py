"""The tape and the engine: accumulation, graph shapes, freeing, deep chains, errors."""

from __future__ import annotations

import gc
import operator
import sys
import weakref

import numpy as np
import pytest

import wrapgrad


def test_diamond_graph_sums_both_paths(xp) -> None:
    x = xp.asarray([0.5, -1.0, 2.0], requires_grad=True)
    y = xp.sin(x)
    out = xp.sum(y * y + xp.exp(y))  # y is used twice
    out.backward()
    v = np.array([0.5, -1.0, 2.0])
    expected = (2 * np.sin(v) + np.exp(np.sin(v))) * np.cos(v)
    np.testing.assert_allclose(np.asarray(x.grad), expected, rtol=1e-12)


def test_same_tensor_as_both_operands(xp) -> None:
    x = xp.asarray([1.5, -2.0], requires_grad=True)
    xp.sum(x * x).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [3.0, -4.0])


def test_gradients_accumulate_across_backward_calls(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        xp.sum(x * 2.0).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [6.0, 6.0])
    x.grad = None
    xp.sum(x * 2.0).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 2.0])


def test_grad_is_a_tensor_on_the_inputs_backend_dtype_and_device(xp) -> None:
    x = xp.ones((2, 2), dtype=xp.float32, requires_grad=True)
    xp.mean((x + 2) * (x + 2) * 3).backward()
    assert isinstance(x.grad, wrapgrad.Tensor)
    assert x.grad.__array_namespace__() is xp
    assert x.grad.dtype == xp.float32
    assert x.grad.device == x.device
    assert not x.grad.requires_grad
    np.testing.assert_allclose(np.asarray(x.grad), np.full((2, 2), 4.5))


def test_broadcast_gradient_is_summed_to_the_input_shape(xp) -> None:
    b = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    s = xp.asarray(2.0, requires_grad=True)
    a = xp.ones((4, 3))
    xp.sum(a * b + s).backward()
    np.testing.assert_allclose(np.asarray(b.grad), [4.0, 4.0, 4.0])
    assert s.grad.shape == ()
    assert float(s.grad) == 12.0


def test_leaf_backward_gives_ones(xp) -> None:
    x = xp.asarray(3.0, requires_grad=True)
    x.backward()
    assert float(x.grad) == 1.0


def test_vector_jacobian_product(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(xp.asarray([0.1, 1.0, 0.0001]))
    np.testing.assert_allclose(np.asarray(x.grad), [0.2, 4.0, 0.0006])


def test_jacobian_rows_with_retain_graph(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x * 2.0
    rows = []
    for i in range(3):
        y[i].backward(retain_graph=True)
        rows.append(np.asarray(x.grad))
        x.grad = None
    np.testing.assert_allclose(np.stack(rows), np.diag([4.0, 8.0, 12.0]))


def test_a_chain_of_100000_ops_backpropagates_without_recursion(xp, backend) -> None:
    if backend != "numpy":
        pytest.skip("one backend is enough for depth; the engine is backend-independent")
    limit = sys.getrecursionlimit()
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    xp.sum(y).backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(np.asarray(x.grad), [1.0, 1.0])


def test_backward_frees_saved_arrays_and_the_graph_is_collected(xp) -> None:
    x = xp.asarray(np.linspace(0, 1, 5), requires_grad=True)
    y = xp.sin(x)
    node = weakref.ref(y.grad_fn)
    out = xp.sum(y * y)
    out.backward()
    assert y.grad_fn.saved_args is None  # released by backward
    del y, out
    gc.collect()
    assert node() is None


@pytest.mark.parametrize("general", [False, True])
@pytest.mark.parametrize("op", ["tanh", "exp", "sin"])
def test_backward_frees_each_saved_result_while_the_graph_is_still_alive(op, general) -> None:
    # The peak of backward: a node's result (its ans, and its argument's stand-in for tanh and exp) must be
    # freed once the node has run, not when the graph goes; on the lane and in the general loop.
    import wrapgrad.numpy as wnp

    x = wnp.asarray(np.linspace(0, 1, 5), requires_grad=True)
    y = getattr(wnp, op)(x * 1.5) * 2.0  # (x * 1.5: an argument that only the node keeps)
    if general:  # a hook on the multiply's result takes the nodes off the lane
        y.register_hook(lambda g: g)
    out = wnp.sum(y)
    node = out.grad_fn[0][0]  # sum <- multiply <- op
    assert node.name == op
    saved = [weakref.ref(a) for a in (node.ans, *(node.saved_args or ())) if a is not None]
    assert saved
    out.backward()
    assert node.released and all(ref() is None for ref in saved)


def test_second_backward_without_retain_graph_is_a_clear_error(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    out = xp.sum(xp.sin(x))
    out.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*retain_graph=True"):
        out.backward()


def test_retain_graph_allows_a_second_backward(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    out = xp.sum(xp.sin(x))
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_allclose(np.asarray(x.grad), 2 * np.cos([1.0, 2.0]))


def test_non_scalar_backward_without_gradient_is_a_clear_error(xp) -> None:
    x = xp.ones((3, 4), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward: gradient is required for a non-scalar output of shape \(3, 4\)"):
        (x * 2).backward()


def test_gradient_of_the_wrong_shape_is_a_clear_error(xp) -> None:
    x = xp.ones((3,), requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(2,\), but the output has shape \(3,\)"):
        (x * 2).backward(xp.ones((2,)))


def test_backward_on_a_tensor_without_grad_is_a_clear_error(xp) -> None:
    with pytest.raises(RuntimeError, match="does not require grad and has no grad_fn"):
        xp.sum(xp.ones(3)).backward()


def test_requires_grad_on_an_integer_tensor_is_a_clear_error(xp) -> None:
    with pytest.raises(RuntimeError, match="only tensors of floating point or complex dtype can require gradients"):
        xp.asarray([1, 2], requires_grad=True)


def test_integer_and_boolean_results_never_require_grad(xp) -> None:
    x = xp.asarray([0.5, -1.0], requires_grad=True)
    assert not (x > 0).requires_grad
    assert not xp.isnan(x).requires_grad
    assert not xp.argmax(x).requires_grad
    assert not xp.astype(x, xp.int64).requires_grad


def test_piecewise_constant_functions_get_zero_gradients(xp) -> None:
    x = xp.asarray([0.5, -1.5], requires_grad=True)
    xp.sum(xp.floor(x) + xp.round(x) + xp.sign(x)).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [0.0, 0.0])


def test_mixing_backends_is_a_clear_error() -> None:
    import wrapgrad.array_api_strict as sxp
    import wrapgrad.numpy as nxp

    mixed = r"multiply: arguments come from different array libraries \(numpy, array_api_strict\)"
    with pytest.raises(TypeError, match=mixed):
        nxp.ones(2) * sxp.ones(2)
    with pytest.raises(TypeError, match=r"add: arguments come from different array libraries"):
        nxp.ones(2, requires_grad=True) + sxp.asarray([1.0, 2.0])._data


def test_exporting_a_tensor_that_requires_grad_is_a_clear_error(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"__array__: cannot export a Tensor that requires grad.*\.detach\(\)"):
        np.asarray(x)
    with pytest.raises(RuntimeError, match=r"__dlpack__: cannot export a Tensor that requires grad.*\.detach\(\)"):
        np.from_dlpack(x)
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0])


def test_python_scalars_of_a_tensor_that_requires_grad(xp) -> None:
    x = xp.asarray(2.5, requires_grad=True)
    loss = x * 2
    assert float(loss) == 5.0
    assert int(loss) == 5
    assert bool(loss)
    assert complex(loss) == 5 + 0j


def test_detach_shares_values_and_leaves_the_tape(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    y = (x * 3).detach()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert bool(xp.all(y == x * 3))


def test_requires_grad_flag_and_leaf_status(xp) -> None:
    a = xp.asarray([1.0, 2.0])
    assert not a.requires_grad and a.is_leaf
    assert a.requires_grad_(True) is a
    assert a.requires_grad
    b = a * 2
    assert b.requires_grad and not b.is_leaf and b.grad_fn.type_name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="non-leaf tensor"):
        b.requires_grad_(False)


def test_grad_fn_names_follow_torch(xp) -> None:
    x = xp.ones(2, requires_grad=True)
    assert (x + 2).grad_fn.type_name() == "AddBackward0"
    assert xp.mean(x).grad_fn.type_name() == "MeanBackward0"
    assert xp.sum(x).grad_fn.type_name() == "SumBackward0"
    assert repr(x + 2).endswith("grad_fn=<AddBackward0>)")
    assert repr(x).endswith("requires_grad=True)")


def test_missing_rule_raises_naming_the_function(xp, monkeypatch) -> None:
    from wrapgrad import _derivatives

    monkeypatch.delitem(_derivatives.RULES, "sin")
    x = xp.asarray([1.0], requires_grad=True)
    out = xp.sum(xp.sin(x))
    with pytest.raises(NotImplementedError, match="sin: no gradient rule is defined"):
        out.backward()
    assert x.grad is None  # nothing was accumulated half-way


def test_gradcheck_catches_a_wrong_rule(xp, monkeypatch) -> None:
    from wrapgrad import _derivatives

    monkeypatch.setitem(_derivatives.RULES, "sin", _derivatives.Rule((lambda xp_, g, ans, x: g * xp_.sin(x),)))
    x = xp.asarray([0.3, 1.1], requires_grad=True)
    with pytest.raises(wrapgrad.GradcheckError, match=r"backward gives .* central finite differences give"):
        wrapgrad.gradcheck(lambda t: xp.sin(t), [x])


def test_create_graph_gives_second_derivatives(xp) -> None:
    x = xp.asarray([0.3, -0.7, 1.2], requires_grad=True)
    (g,) = wrapgrad.autograd_grad(xp.sum(xp.sin(x) * x), x, create_graph=True)
    assert g.requires_grad
    (h,) = wrapgrad.autograd_grad(xp.sum(g), x)
    v = np.array([0.3, -0.7, 1.2])
    np.testing.assert_allclose(np.asarray(g.detach()), np.cos(v) * v + np.sin(v), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(h), 2 * np.cos(v) - v * np.sin(v), rtol=1e-12)


def test_autograd_grad_unused_input(xp) -> None:
    x = xp.asarray([1.0], requires_grad=True)
    y = xp.asarray([1.0], requires_grad=True)
    out = xp.sum(x * 2)
    with pytest.raises(RuntimeError, match=r"input 1 is not used to compute the outputs.*allow_unused=True"):
        wrapgrad.autograd_grad(out, [x, y], retain_graph=True)
    gx, gy = wrapgrad.autograd_grad(out, [x, y], allow_unused=True)
    assert gy is None and float(gx[0]) == 2.0
    assert x.grad is None  # autograd_grad returns, it does not accumulate


def test_accumulating_cotangents_never_changes_an_array_seen_elsewhere(xp) -> None:
    # The engine adds a second cotangent in place only into a buffer nobody else holds. Here add's rule hands
    # one freshly computed array (the cotangent of (a + b) * c) to both a and b, and a then receives a
    # second cotangent: adding it in place would change b's gradient too. Both orders of arrival are built.
    v = np.array([1.0, 2.0, 3.0])
    c, d = np.array([0.5, -1.0, 2.0]), np.array([3.0, 0.25, -2.0])
    for a_last in (False, True):
        x = xp.asarray(v, requires_grad=True)
        a, b = x * 2.0, x * 3.0
        a.retain_grad()
        b.retain_grad()
        shared = (a + b) * xp.asarray(c)
        extra = a * xp.asarray(d)
        loss = xp.sum(extra + shared) if a_last else xp.sum(shared + extra)
        loss.backward()
        np.testing.assert_allclose(np.asarray(b.grad), c)
        np.testing.assert_allclose(np.asarray(a.grad), c + d)
        np.testing.assert_allclose(np.asarray(x.grad), 2 * (c + d) + 3 * c)


@pytest.mark.parametrize("call", ["backward", "autograd_grad"])
def test_implicit_gradient_of_a_complex_output_is_a_clear_error(xp, call) -> None:
    # torch refuses too; silently differentiating Re(L) would answer a question the user did not ask.
    t = xp.asarray([1 + 1j, 2 - 1j], requires_grad=True)
    loss = xp.sum(t * t)
    with pytest.raises(RuntimeError, match=r"only for real scalar outputs.*complex.*xp\.real.*gradient="):
        if call == "backward":
            loss.backward()
        else:
            wrapgrad.autograd_grad(loss, t)
    assert t.grad is None
    # Both ways out work: a real loss, or an explicit cotangent (the gradient of Re(L) = Re(sum t^2): 2 conj(t)).
    xp.real(loss).backward(retain_graph=True)
    explicit = wrapgrad.autograd_grad(loss, t, grad_outputs=xp.ones_like(loss))[0]
    expected = 2 * np.conj(np.asarray([1 + 1j, 2 - 1j]))
    np.testing.assert_allclose(np.asarray(t.grad), expected)
    np.testing.assert_allclose(np.asarray(explicit), expected)


# Inputs where an element-wise rule's local derivative is finite, infinite and NaN, against cotangents with
# exact zeros: the guard decides what those elements get.
_FACTOR_X = np.array([0.3, -0.6, 0.0, 0.0, np.inf, np.nan, 1.4])
_FACTOR_G = np.array([1.5, -0.5, 0.0, 2.0, 0.0, 0.0, -1.0])


def _factor_rules(keeps_arguments: bool | None = None) -> list[str]:
    """The rules given by derivatives; with ``keeps_arguments``, only those whose ``uses_args`` is that."""
    from wrapgrad._derivatives import RULES

    return sorted(name for name, rule in RULES.items()
                  if rule.factors is not None and keeps_arguments in (None, rule.uses_args))


def test_rules_given_by_derivatives_are_a_set_worth_testing() -> None:
    names = _factor_rules()
    assert {"multiply", "divide", "sin", "exp", "log", "sqrt", "tanh"} <= set(names)
    # and all are element-wise: the engine's lane takes the cotangent of a one-argument rule given by derivatives
    # to have that argument's shape, and only tests its dtype
    from wrapgrad import _elementwise

    assert set(names) <= set(_elementwise.__all__)


@pytest.mark.parametrize("name", _factor_rules())
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_the_hot_paths_factor_is_the_composed_vjp_bit_for_bit(xp, raw_xp, name, kind) -> None:
    """The engine runs ``backend.factor_product(g, Factor.deriv(...), quotient)`` where every
    other path runs the VJP composed from the same derivative (``_times(xp, g, cj(xp, d))``): both give the same
    bits, including the zeros of the guard, NaN and inf, and the conjugate of a complex derivative."""
    from wrapgrad import _derivatives

    rule = _derivatives.RULES[name]
    backend = xp.asarray(0.0)._backend
    x, g = _FACTOR_X, _FACTOR_G
    n_args = len(rule.factors)
    with np.errstate(all="ignore"):
        if kind == "complex":
            x, g = x + 0.7j * x[::-1], g - 0.25j * g[::-1]
        second = x[::-1] * 0.5 + 0.25
    for scalar_second in ([False, True] if n_args == 2 else [False]):
        args = [raw_xp.asarray(x)] if n_args == 1 else [raw_xp.asarray(x), raw_xp.asarray(second)]
        if scalar_second:
            args[1] = 0.0 if name == "divide" else 2.5  # a Python number: finite, or a zero divisor
        with np.errstate(all="ignore"):
            ans = backend.functions[name](*args)
            for k, factor in enumerate(rule.factors):
                if k == 1 and scalar_second:
                    continue
                gk = raw_xp.asarray(g)
                hot = backend.factor_product(gk, factor.deriv(raw_xp, ans, *args), factor.quotient)
                composed = rule.vjps[k](raw_xp, gk, ans, *args)
                np.testing.assert_array_equal(np.asarray(hot), np.asarray(composed), err_msg=f"{name}, argument {k}")


@pytest.mark.parametrize("name", ["sin", "divide", "sqrt", "multiply"])
def test_backward_through_factors_equals_the_recorded_backward(xp, name) -> None:
    """Plain backward (the hot path, factors) and create_graph backward (recorded VJPs on Tensors) agree."""
    fn = getattr(xp, name)
    x0 = np.array([0.3, 1.7, 4.0, 0.9])
    results = []
    for create_graph in (False, True):
        x = xp.asarray(x0, requires_grad=True)
        y = fn(x) if name in ("sin", "sqrt") else fn(x, xp.flip(x) + 1.0)
        loss = xp.sum(xp.where(x > 1.0, y, 0.0) * xp.exp(x))
        (grad,) = wrapgrad.autograd_grad(loss, [x], create_graph=create_graph)
        results.append(np.asarray(grad.detach()))
    np.testing.assert_array_equal(results[0], results[1])


def _lane_graphs(xp):
    """Graphs whose chains the engine's lane runs, each with what it must stop at: a scalar operand, a second
    root in the middle of the chain, fan-out, a dtype change and broadcasting (fit_grad, against a leaf and
    against a constant array), a view."""
    x = xp.asarray(np.linspace(-1.0, 1.5, 6), requires_grad=True)
    w = xp.asarray(np.linspace(0.5, 2.0, 3)[:, None], requires_grad=True)
    y = xp.tanh(xp.sin(x) * 1.5 + 0.25)
    mid = xp.exp(y)  # a second root below
    z = xp.astype(mid, xp.float32) * 2.0
    z = xp.astype(z, xp.float64)
    z = xp.reshape(z, (2, 3))[0, :] * w  # a view, then broadcasting against w: (3, 3)
    fan = xp.sqrt(z * z + 1.0)
    top = xp.sum(xp.log(fan) * fan)
    # A constant array that broadcasts the result up, right after a reshape (whose rule needs the fitted shape).
    up = xp.reshape(xp.cos(x), (2, 3)) * xp.asarray(np.full((4, 2, 3), 0.5))
    return [x, w], [top, xp.sum(mid * 3.0) + xp.sum(up)]


def test_the_engines_lane_gives_the_general_loops_gradients(xp) -> None:
    """The lane runs chains; with a hook on some unrelated non-leaf the engine runs every node through its
    general loop instead (hooks need its bookkeeping). Both must give the same bits, in autograd_grad (two
    roots, captured inputs) and in backward, on a graph that the first call retained."""
    results = []
    for general_loop in (False, True):
        unrelated = xp.exp(xp.asarray([1.0], requires_grad=True))
        handle = unrelated.register_hook(lambda g: None) if general_loop else None
        leaves, roots = _lane_graphs(xp)
        captured = [*wrapgrad.autograd_grad(roots, leaves, retain_graph=True),
                    *wrapgrad.autograd_grad(roots[::-1], leaves, retain_graph=True)]  # the other order of fan-in
        roots[0].backward()
        results.append([np.asarray(g) for g in captured] + [np.asarray(t.grad) for t in leaves]
                       + [np.array(_released_state(roots))])
        if handle is not None:
            handle.remove()
    for lane, general in zip(*results):
        np.testing.assert_array_equal(lane, general)


def _released_state(roots) -> list[tuple[bool, bool, bool]]:
    """For every node below ``roots``, in a fixed order: whether backward dropped its saved arguments and result,
    and whether it is marked released (a second backward through it is then the clear error)."""
    from wrapgrad._graph import Node

    state, seen, stack = [], set(), [r.grad_fn for r in roots]
    while stack:
        node = stack.pop()
        if type(node) is not Node or id(node) in seen:
            continue
        seen.add(id(node))
        state.append((node.saved_args is None, node.ans is None, node.released))
        stack.extend(node)
    return state


@pytest.mark.parametrize("params", [{}, {"axis": 0}])
@pytest.mark.parametrize("nrs", [None, (1,)])
def test_new_result_is_new_node_then_make_slot_for_slot(params, nrs) -> None:
    # new_result writes out the two constructors in one body (it saves a call on every recorded op): every slot
    # of the Node and of the Tensor it makes must be what new_node and Tensor._make would have set.
    import wrapgrad.numpy as wnp
    from wrapgrad._graph import Node, new_node
    from wrapgrad._tensor import Tensor, new_result

    x = wnp.asarray(np.arange(3.0))
    x.requires_grad_()
    data, backend, rule = np.ones(3), x._backend, object()
    args = ("f", backend, rule, [x], nrs, None, (data,), data)
    expected = Tensor._make(data, backend, new_node(*args, params, 1, False), 0)
    result = new_result(data, *args, params)

    missing = object()
    for made, reference, cls in ((result._node, expected._node, Node), (result, expected, Tensor)):
        for slot in cls.__slots__:
            if slot in ("__weakref__", "_node"):
                continue
            a, b = getattr(made, slot, missing), getattr(reference, slot, missing)
            same_items = type(a) is tuple and type(b) is tuple and len(a) == len(b) and all(map(operator.is_, a, b))
            assert a is b or same_items or (type(a) is not np.ndarray and a == b), f"{cls.__name__}.{slot}"
    assert list(result._node) == list(expected._node)


@pytest.mark.parametrize("name", _factor_rules(keeps_arguments=False))
def test_rules_that_keep_no_arguments_read_only_their_shapes_and_dtypes(raw_xp, name) -> None:
    # Such a node keeps a stand-in for its argument (an ArgMeta, or its own result: _apply.stand_ins_of_one),
    # so its derivative may read the argument's shape and dtype, never its values: with an ArgMeta, which has
    # no values, it must give what it gives with the argument itself.
    from wrapgrad._derivatives import RULES
    from wrapgrad._graph import ArgMeta

    rule = RULES[name]
    x = raw_xp.asarray(_FACTOR_X[:4] * 0.5 + 0.25)
    with np.errstate(all="ignore"):
        ans = getattr(raw_xp, name)(x)
        for factor in rule.factors:
            expected = factor.deriv(raw_xp, ans, x)
            np.testing.assert_array_equal(np.asarray(factor.deriv(raw_xp, ans, ArgMeta(x.shape, x.dtype))),
                                          np.asarray(expected))


def test_an_element_wise_result_that_is_kept_stands_in_for_its_argument(xp) -> None:
    x = xp.asarray([0.5, -1.0])
    x.requires_grad_()
    t = xp.tanh(x)  # keeps its result, which has x's shape and dtype
    assert t.grad_fn.saved_args is None and t.grad_fn.input_meta[0] is t.grad_fn.ans
    s = xp.sum(x)  # keeps no result: a shared ArgMeta
    assert type(s.grad_fn.input_meta[0]).__name__ == "ArgMeta"
