"""The funnel's fast path: element-wise functions of Tensors, specialised per operation from the rule table.

:func:`~wrapgrad._apply.apply` handles every call: any number of arguments, raw arrays of other libraries,
tuple results, params, anomaly mode, dask's unknown shapes. Most calls in a training loop are none of that:
an element-wise function (``sin``, ``x * 2.0``, ``a + b``) of Tensors of one backend and Python scalars. For
those, :func:`unary` and :func:`binary` build, per operation, a function that does the same work without
the general funnel's loops: it calls the same backend function, wraps the result the same way, and records
the node that ``apply`` would record, with the same rule (looked up in ``RULES`` at each call, as ``apply``
does), the same edges and the same saved values, through the same constructors (``new_result``, ``Tensor._make``).

Anything else goes to the general function it replaces: another type of argument, a backend whose
``fast_functions`` is ``None`` (dask, whose shapes may be unknown; anomaly mode; :func:`general_funnel_only`),
and any call that the backend refuses (so the error is the general funnel's, word for word).
``tests/test_fast_path.py`` runs every gradient case of ``conformance/cases.py`` both ways and compares the
values, the recorded nodes and the gradients.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from ._apply import shared_arg_metas_of_two, stand_ins_of_one
from ._backend import _BACKENDS, GENERAL_FUNNEL_ONLY
from ._derivatives import RULES
from ._grad_mode import _GRAD_ENABLED
from ._graph import NO_PARAMS
from ._tensor import Tensor, new_result

__all__ = ["OPERATORS", "REFLECTED", "binary", "general_funnel_only", "specialise", "specialise_operators", "unary"]

_grad_enabled = _GRAD_ENABLED.get
_make = Tensor._make
_new_result = new_result
_RULES = RULES
_SCALAR_TYPES = frozenset((bool, int, float, complex))


@contextlib.contextmanager
def general_funnel_only() -> Iterator[None]:
    """Send every call through the general funnel (anomaly mode does, and the fast path is tested and measured
    against it); blocks nest, and the fast path is back when the last one ends."""
    GENERAL_FUNNEL_ONLY[0] += 1
    _refresh_all()
    try:
        yield
    finally:
        GENERAL_FUNNEL_ONLY[0] -= 1
        _refresh_all()


def _refresh_all() -> None:
    for backend in set(_BACKENDS.values()):
        backend.refresh_fast_path()


def unary(name: str, general: Callable[..., Any]) -> Callable[..., Any]:
    """The fast form of the element-wise ``general(x)`` (whose body is ``apply(name, x)``)."""

    @functools.wraps(general)
    def fast(x: Any, /) -> Any:
        if type(x) is not Tensor:
            return general(x)
        backend = x._backend
        functions = backend.fast_functions
        if functions is None:
            return general(x)
        data = x._data
        try:
            out = functions[name](data)
        except Exception:
            return general(x)  # the general funnel raises it again, in its own words
        if type(out) is not backend.array_type and backend.normalize is not None:
            out = backend.normalize(out)
        if x._requires_grad and _grad_enabled() and out.dtype in backend.differentiable_dtypes:
            # The rule is looked up now, not when this function was made: RULES may change (defvjp, tests).
            rule = _RULES.get(name)
            keeps_args = rule is None or rule.uses_args  # rule None: no gradient (yet), the arguments are kept
            keeps_ans = rule is not None and rule.uses_ans
            source = x._node
            return _new_result(
                out, name, backend, rule, (x if source is None else source,), (x._output_nr,) if x._output_nr else None,
                None if keeps_args else stand_ins_of_one(rule, data, out), (data,) if keeps_args else None,
                out if keeps_ans else None, NO_PARAMS)
        return _make(out, backend, None, 0)

    return fast


def binary(name: str, general: Callable[..., Any]) -> Callable[..., Any]:
    """The fast form of the element-wise ``general(x1, x2)`` (whose body is ``apply(name, x1, x2)``): Tensors of
    one backend, or a Tensor and a Python scalar."""

    @functools.wraps(general)
    def fast(x1: Any, x2: Any, /) -> Any:
        # Each argument: its data, whether it is tracked (a Tensor that requires grad), and the operand that the
        # backend gets (its data; on numpy, a Python float beside a float64 array as a 0-D array of that dtype:
        # Backend.float64_operand).
        if type(x1) is Tensor:
            backend = x1._backend
            d1 = o1 = x1._data
            tracked1 = x1._requires_grad
            if type(x2) is Tensor:
                if x2._backend is not backend:
                    return general(x1, x2)
                d2 = o2 = x2._data
                tracked2 = x2._requires_grad
                numbers = 0  # which argument is a Python number (for the shape stand-ins): none
            elif type(x2) in _SCALAR_TYPES:
                d2 = o2 = x2
                tracked2 = False
                numbers = 2
                operands = backend.float64_operands
                if operands is not None and type(x2) is float and d1.dtype is backend.float64:
                    o2 = operands.get(x2)
                    if o2 is None:
                        o2 = backend.float64_operand(x2)
            else:
                return general(x1, x2)
        elif type(x2) is Tensor and type(x1) in _SCALAR_TYPES:
            backend = x2._backend
            d1 = o1 = x1
            d2 = o2 = x2._data
            tracked1, tracked2 = False, x2._requires_grad
            numbers = 1
            operands = backend.float64_operands
            if operands is not None and type(x1) is float and d2.dtype is backend.float64:
                o1 = operands.get(x1)
                if o1 is None:
                    o1 = backend.float64_operand(x1)
        else:
            return general(x1, x2)
        functions = backend.fast_functions
        if functions is None:
            return general(x1, x2)
        try:
            out = functions[name](o1, o2)
        except Exception:
            return general(x1, x2)  # the general funnel raises it again, in its own words
        if type(out) is not backend.array_type and backend.normalize is not None:
            out = backend.normalize(out)
        if (tracked1 or tracked2) and _grad_enabled() and out.dtype in backend.differentiable_dtypes:
            rule = _RULES.get(name)
            keeps_args = rule is None or rule.uses_args
            keeps_ans = rule is not None and rule.uses_ans
            # The edges: a leaf is its own target, a non-leaf its Node (and output number, when not 0).
            target1 = target2 = None
            nr1 = nr2 = 0
            if tracked1:
                target1 = x1._node
                if target1 is None:
                    target1 = x1
                else:
                    nr1 = x1._output_nr
            if tracked2:
                target2 = x2._node
                if target2 is None:
                    target2 = x2
                else:
                    nr2 = x2._output_nr
            return _new_result(
                out, name, backend, rule, (target1, target2), (nr1, nr2) if nr1 or nr2 else None,
                None if keeps_args else shared_arg_metas_of_two(d1, d2, numbers), (d1, d2) if keeps_args else None,
                out if keeps_ans else None, NO_PARAMS)
        return _make(out, backend, None, 0)

    return fast


# The element-wise operators of Tensor, with the function each one is one call of: ``__add__(self, other)``
# is ``apply("add", self, other)``, and a reflected one such as ``__radd__`` is ``apply("add", other, self)``.
# tests/test_fast_path.py checks this table against the methods' own bodies.
OPERATORS = {
    "__abs__": "abs", "__add__": "add", "__and__": "bitwise_and", "__eq__": "equal", "__floordiv__": "floor_divide",
    "__ge__": "greater_equal", "__gt__": "greater", "__invert__": "bitwise_invert", "__le__": "less_equal",
    "__lshift__": "bitwise_left_shift", "__lt__": "less", "__mod__": "remainder", "__mul__": "multiply",
    "__ne__": "not_equal", "__neg__": "negative", "__or__": "bitwise_or", "__pos__": "positive", "__pow__": "pow",
    "__rshift__": "bitwise_right_shift", "__sub__": "subtract", "__truediv__": "divide", "__xor__": "bitwise_xor",
}
REFLECTED = {
    "__radd__": "add", "__rand__": "bitwise_and", "__rfloordiv__": "floor_divide", "__rlshift__": "bitwise_left_shift",
    "__rmod__": "remainder", "__rmul__": "multiply", "__ror__": "bitwise_or", "__rpow__": "pow",
    "__rrshift__": "bitwise_right_shift", "__rsub__": "subtract", "__rtruediv__": "divide", "__rxor__": "bitwise_xor",
}


def specialise(name: str, general: Callable[..., Any]) -> Callable[..., Any]:
    """The fast form of ``general``, a function of one or two arrays whose body is ``apply(name, ...)``."""
    return (unary if general.__code__.co_argcount == 1 else binary)(name, general)


def specialise_operators(cls: type) -> None:
    """Replace the element-wise operators of ``cls`` (Tensor) by their fast forms."""
    for method, name in OPERATORS.items():
        setattr(cls, method, specialise(name, getattr(cls, method)))
    for method, name in REFLECTED.items():
        setattr(cls, method, _reflected(name, getattr(cls, method)))


def _reflected(name: str, general: Callable[..., Any]) -> Callable[..., Any]:
    fast = binary(name, lambda x1, x2: general(x2, x1))

    @functools.wraps(general)
    def reflected(self: Any, other: Any, /) -> Any:
        return fast(other, self)

    return reflected
