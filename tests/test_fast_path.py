"""The funnel's fast path (wrapgrad/_fast.py) against the general funnel, on every gradient case.

Every case of ``conformance/cases.py`` runs twice from the same inputs: as it is, and inside
``general_funnel_only()``, where every call goes through ``apply``. The two runs must give the same values,
record the same graph (node by node: name, rule, edges, saved arguments or shape stand-ins, saved result,
params) and the same gradients, bit for bit. The element-wise cases must also really take the fast path.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

import array_api_compat
import numpy as np
import pytest

import wrapgrad
from conformance import gradients
from conformance.cases import CASES, ELEMENTWISE, Case
from wrapgrad import _elementwise, _fast
from wrapgrad._graph import Node

BACKENDS = ("numpy", "array_api_strict", "jax", "torch")


def _same(a: Any, b: Any) -> bool:
    """Equal values (arrays bit for bit, NaN equal to NaN), equal scalars, or both None."""
    if a is None or b is None:
        return a is b
    if isinstance(a, (bool, int, float, complex, str)):
        return type(a) is type(b) and (a == b or (a != a and b != b))
    if array_api_compat.is_array_api_obj(a):
        x, y = gradients._to_numpy(a), gradients._to_numpy(b)
        nan = np.issubdtype(x.dtype, np.inexact)
        return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=nan)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b))
    return bool(a == b)


def _compare_graphs(root_a: Any, root_b: Any, leaves_a: list[Any], leaves_b: list[Any]) -> None:
    """Walk two graphs in step and require the same nodes, edges and saved values."""
    position_a = {id(t): i for i, t in enumerate(leaves_a)}
    position_b = {id(t): i for i, t in enumerate(leaves_b)}
    stack = [(root_a, root_b)]
    seen: set[int] = set()
    while stack:
        a, b = stack.pop()
        if a is None or b is None:
            assert a is b, "an edge of one graph is missing in the other"
            continue
        if type(a) is not Node or type(b) is not Node:
            assert type(a) is not Node and type(b) is not Node, "a leaf in one graph is a node in the other"
            assert position_a[id(a)] == position_b[id(b)], "edges to different leaves"
            continue
        if id(a) in seen:
            continue
        seen.add(id(a))
        where = a.type_name()
        assert (a.name, a.rule, a.nrs, a.n_outputs, a.multi) == (b.name, b.rule, b.nrs, b.n_outputs, b.multi), where
        assert a.params.keys() == b.params.keys(), f"{where}: params"
        assert all(_same(a.params[k], b.params[k]) for k in a.params), f"{where}: params"
        assert _same(a.input_meta, b.input_meta), f"{where}: shape stand-ins"
        assert _same(a.saved_args, b.saved_args), f"{where}: saved arguments"
        assert _same(a.ans, b.ans), f"{where}: saved result"
        assert len(a) == len(b), f"{where}: number of edges"
        stack.extend(zip(a, b))


def _run(case: Case, backend: str, complex_inputs: bool) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """(outputs, leaves, gradients, graph roots) of one case, from inputs drawn with seed 0."""
    xp, _ = gradients.load_backend(backend)
    _, tensors = gradients._inputs(xp, case, 0, complex_inputs)
    wrt = [t for t in tensors if t.requires_grad]
    outputs = gradients._outputs(case.fn(xp, *tensors))
    tracked = [o for o in outputs if o.requires_grad]
    grads: list[Any] = []
    if tracked:
        rng = np.random.default_rng(1)
        cotangents = [xp.asarray(rng.standard_normal(o.shape).astype(gradients._to_numpy(o).dtype)) for o in tracked]
        grads = list(wrapgrad.autograd_grad(tracked, wrt, cotangents, allow_unused=True, retain_graph=True))
    return outputs, tensors, grads, [o.grad_fn for o in outputs]


def _params() -> list[Any]:
    return [pytest.param(case, backend, complex_inputs, id=f"{case.id}-{backend}{'-complex' if complex_inputs else ''}")
            for case in CASES for backend in BACKENDS for complex_inputs in (False, True)
            if not complex_inputs or case.complex]


@pytest.mark.parametrize(("case", "backend", "complex_inputs"), _params())
def test_fast_path_records_what_the_general_funnel_records(case: Case, backend: str, complex_inputs: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if backend in case.skip:
        pytest.skip(case.skip[backend])
    try:
        gradients.load_backend(backend)
    except gradients.CheckSkipped as reason:
        pytest.skip(str(reason))
    general_calls: list[str] = []
    funnel = _elementwise.apply

    def counted(name: str, *args: Any, **params: Any) -> Any:
        general_calls.append(name)
        return funnel(name, *args, **params)

    monkeypatch.setattr(_elementwise, "apply", counted)
    try:
        fast = _run(case, backend, complex_inputs)
    except Exception as error:  # the general funnel must refuse it the same way
        with _fast.general_funnel_only(), pytest.raises(type(error)):
            _run(case, backend, complex_inputs)
        return
    monkeypatch.setattr(_elementwise, "apply", funnel)
    with _fast.general_funnel_only():
        general = _run(case, backend, complex_inputs)
    (out_f, leaves_f, grads_f, roots_f), (out_g, leaves_g, grads_g, roots_g) = fast, general
    assert len(out_f) == len(out_g)
    for a, b in zip(out_f, out_g):
        assert _same(a._data, b._data), "values differ"
    for a, b in zip(roots_f, roots_g):
        _compare_graphs(a, b, leaves_f, leaves_g)
    assert len(grads_f) == len(grads_g)
    for a, b in zip(grads_f, grads_g):
        assert _same(None if a is None else a._data, None if b is None else b._data), "gradients differ"
    if case.name in ELEMENTWISE and case.name != "clip" and not case.label:
        assert case.name not in general_calls, f"{case.name} went through the general funnel"


def test_general_funnel_only_nests_and_restores_the_fast_path() -> None:
    import wrapgrad.numpy as xp

    backend = xp.asarray(1.0)._backend
    assert backend.fast_functions is not None
    with _fast.general_funnel_only():
        with _fast.general_funnel_only():
            assert backend.fast_functions is None
        assert backend.fast_functions is None
    assert backend.fast_functions is backend.functions
    with wrapgrad.detect_anomaly():  # anomaly mode records creation tracebacks: only the general funnel does
        assert backend.fast_functions is None
    assert backend.fast_functions is backend.functions


def _body_call(function: Any) -> tuple[str, list[str], list[str]]:
    """(operation, argument names, parameter names) of a function whose body is ``return apply("op", ...)``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(function))))
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    statements = [s for s in definition.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    assert len(statements) == 1 and isinstance(statements[0], ast.Return), f"{definition.name}: not one return"
    call = statements[0].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "apply"
    assert not call.keywords, f"{definition.name}: params"
    name = call.args[0]
    assert isinstance(name, ast.Constant)
    arguments = [a.id for a in call.args[1:] if isinstance(a, ast.Name)]
    parameters = [a.arg for a in definition.args.posonlyargs + definition.args.args]
    return name.value, arguments, parameters


@pytest.mark.parametrize("name", [n for n in _elementwise.__all__ if n != "clip"])
def test_specialised_functions_are_one_call_of_the_funnel(name: str) -> None:
    """What the fast path replaces must be exactly ``apply(name, *its arguments)``, or it would change behaviour."""
    assert getattr(_elementwise, name) is not inspect.unwrap(getattr(_elementwise, name)), f"{name} is not specialised"
    op, arguments, parameters = _body_call(getattr(_elementwise, name))
    assert (op, arguments) == (name, parameters)


@pytest.mark.parametrize("method", [*_fast.OPERATORS, *_fast.REFLECTED])
def test_operator_table_matches_the_methods(method: str) -> None:
    op, arguments, parameters = _body_call(getattr(wrapgrad.Tensor, method))
    if method in _fast.OPERATORS:
        assert (op, arguments) == (_fast.OPERATORS[method], parameters)
    else:
        assert (op, arguments) == (_fast.REFLECTED[method], parameters[::-1])


_BINARY = [n for n in _elementwise.__all__
           if n != "clip" and inspect.unwrap(getattr(_elementwise, n)).__code__.co_argcount == 2]
# Python floats that a cache of converted numbers could get wrong: signed zeros (equal keys), NaN (never equal),
# infinities, the smallest subnormal, a value that overflows float32, an ordinary one.
_FLOATS = [1.01, -2.5, 0.0, -0.0, float("nan"), float("inf"), -float("inf"), 5e-324, 1e300]


@pytest.mark.parametrize("name", _BINARY)
def test_python_floats_give_numpys_own_results(name: str) -> None:
    """On numpy the fast path hands a Python float beside a float64 array to numpy as a cached 0-D array
    (``Backend.float64_operand``): every binary function, in both orders, must still give numpy's own result for
    the Python float, bit for bit and of the same dtype (signed zeros included), on float64 and on the dtypes that
    must not take the cache (float32, complex128, int64), and the cache must hold neither 0.0, -0.0 nor NaN."""
    import wrapgrad.numpy as wnp

    backend = wnp.asarray(1.0)._backend
    raw = getattr(backend.xp, name)
    base = np.array([-3.0, -1.0, -0.0, 0.0, 0.5, 2.0, np.inf, np.nan])
    arrays = [base, base[3:4].reshape(()), base.astype(np.float32), base + 0.5j, np.array([-3, 0, 2, 7])]
    for a in arrays:
        for s in _FLOATS:
            for order in ((a, s), (s, a)):
                tensors = [wnp.asarray(v) if isinstance(v, np.ndarray) else v for v in order]
                with np.errstate(all="ignore"):
                    try:
                        expected = np.asarray(raw(*order))
                    except Exception as exc:  # numpy refuses (bitwise ops of floats): so must wrapgrad
                        with pytest.raises(type(exc)):
                            getattr(wnp, name)(*tensors)
                        continue
                    ours = np.asarray(getattr(wnp, name)(*tensors))
                where = f"{name}{tuple(type(v).__name__ if isinstance(v, float) else v.dtype for v in order)}, {s!r}"
                assert ours.dtype == expected.dtype and ours.shape == expected.shape, where
                np.testing.assert_array_equal(ours, expected, err_msg=where)
                assert np.array_equal(np.signbit(ours.real), np.signbit(expected.real)), where
    cached = list(backend.float64_operands)
    assert all(v != 0 and v == v for v in cached), cached
    assert all(not operand.flags.writeable for operand in backend.float64_operands.values())


def test_the_float_cache_is_bounded_and_keeps_the_sign_of_zero() -> None:
    import wrapgrad.numpy as wnp
    from wrapgrad import _backend

    x = wnp.asarray(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    backend = x._backend
    for i in range(_backend._FLOAT64_OPERANDS_MAX + 10):
        x * (1.0 + i / 7)
    assert 0 < len(backend.float64_operands) <= _backend._FLOAT64_OPERANDS_MAX
    assert np.all(np.signbit(np.asarray(((x * 0.0) * -0.0 + -0.0).detach())[x._data > 0]))
    loss = wnp.sum(x * -0.0 + x * 2.5)
    loss.backward()
    np.testing.assert_array_equal(np.asarray(x.grad), np.full(5, 2.5))


def test_shape_stand_ins_of_two_follow_the_dtypes_of_one_shape() -> None:
    """``shared_arg_metas_of_two`` finds the stand-ins by shapes and checks the dtypes by identity: the same
    shapes with other dtypes, in every order of array and number, must give what ``shared_arg_metas`` gives."""
    from wrapgrad._apply import shared_arg_metas, shared_arg_metas_of_two

    for _ in range(2):  # the second round finds every entry made, or replaced, in the first
        for dtype1, dtype2 in [(np.float64, np.float64), (np.float32, np.float64), (np.float32, np.float32),
                               (np.complex128, np.float64), (np.float64, np.float64)]:
            a, b = np.ones((2, 3), dtype1), np.ones((3,), dtype2)
            for d1, d2, numbers in [(a, b, 0), (b, a, 0), (a, 2.5, 2), (1.5, b, 1), (a, a, 0)]:
                ours = shared_arg_metas_of_two(d1, d2, numbers)
                assert ours == shared_arg_metas((d1, d2)), (d1, d2)
                assert [None if m is None else m.dtype for m in ours] == [getattr(d, "dtype", None) for d in (d1, d2)]
