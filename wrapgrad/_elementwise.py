"""Element-wise functions (array API standard, section "Element-wise Functions").

Each function is one call of the funnel; its gradient rule is the row of the same name in
``_derivatives.py``. Comparisons, bitwise and logical functions return integer or boolean arrays and are
never recorded.
"""

from __future__ import annotations

from . import _fast
from ._apply import apply
from ._tensor import Tensor

__all__ = [
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_invert", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "ceil",
    "clip", "conj", "copysign", "cos", "cosh", "divide", "equal", "exp", "expm1", "floor", "floor_divide",
    "greater", "greater_equal", "hypot", "imag", "isfinite", "isinf", "isnan", "less", "less_equal", "log",
    "log10", "log1p", "log2", "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor",
    "maximum", "minimum", "multiply", "negative", "nextafter", "not_equal", "positive", "pow", "real",
    "reciprocal", "remainder", "round", "sign", "signbit", "sin", "sinh", "sqrt", "square", "subtract",
    "tan", "tanh", "trunc",
]


def abs(x: Tensor, /) -> Tensor:
    """``abs`` of the array API standard, element-wise."""
    return apply("abs", x)


def acos(x: Tensor, /) -> Tensor:
    """``acos`` of the array API standard, element-wise."""
    return apply("acos", x)


def acosh(x: Tensor, /) -> Tensor:
    """``acosh`` of the array API standard, element-wise."""
    return apply("acosh", x)


def add(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``add`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("add", x1, x2)


def asin(x: Tensor, /) -> Tensor:
    """``asin`` of the array API standard, element-wise."""
    return apply("asin", x)


def asinh(x: Tensor, /) -> Tensor:
    """``asinh`` of the array API standard, element-wise."""
    return apply("asinh", x)


def atan(x: Tensor, /) -> Tensor:
    """``atan`` of the array API standard, element-wise."""
    return apply("atan", x)


def atan2(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``atan2`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("atan2", x1, x2)


def atanh(x: Tensor, /) -> Tensor:
    """``atanh`` of the array API standard, element-wise."""
    return apply("atanh", x)


def bitwise_and(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``bitwise_and`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("bitwise_and", x1, x2)


def bitwise_invert(x: Tensor, /) -> Tensor:
    """``bitwise_invert`` of the array API standard, element-wise."""
    return apply("bitwise_invert", x)


def bitwise_left_shift(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``bitwise_left_shift`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("bitwise_left_shift", x1, x2)


def bitwise_or(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``bitwise_or`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("bitwise_or", x1, x2)


def bitwise_right_shift(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``bitwise_right_shift`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("bitwise_right_shift", x1, x2)


def bitwise_xor(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``bitwise_xor`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("bitwise_xor", x1, x2)


def ceil(x: Tensor, /) -> Tensor:
    """``ceil`` of the array API standard, element-wise."""
    return apply("ceil", x)


def clip(x: Tensor, /, min: int | float | Tensor | None = None, max: int | float | Tensor | None = None) -> Tensor:
    """``clip`` of the array API standard: ``min`` and ``max`` may be Tensors, and get gradients too."""
    if min is None and max is None:
        return apply("positive", x)
    return apply("clip", x, min, max)


def conj(x: Tensor, /) -> Tensor:
    """``conj`` of the array API standard, element-wise."""
    return apply("conj", x)


def copysign(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``copysign`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("copysign", x1, x2)


def cos(x: Tensor, /) -> Tensor:
    """``cos`` of the array API standard, element-wise."""
    return apply("cos", x)


def cosh(x: Tensor, /) -> Tensor:
    """``cosh`` of the array API standard, element-wise."""
    return apply("cosh", x)


def divide(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``divide`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("divide", x1, x2)


def equal(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``equal`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("equal", x1, x2)


def exp(x: Tensor, /) -> Tensor:
    """``exp`` of the array API standard, element-wise."""
    return apply("exp", x)


def expm1(x: Tensor, /) -> Tensor:
    """``expm1`` of the array API standard, element-wise."""
    return apply("expm1", x)


def floor(x: Tensor, /) -> Tensor:
    """``floor`` of the array API standard, element-wise."""
    return apply("floor", x)


def floor_divide(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``floor_divide`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("floor_divide", x1, x2)


def greater(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``greater`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("greater", x1, x2)


def greater_equal(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``greater_equal`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("greater_equal", x1, x2)


def hypot(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``hypot`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("hypot", x1, x2)


def imag(x: Tensor, /) -> Tensor:
    """``imag`` of the array API standard, element-wise."""
    return apply("imag", x)


def isfinite(x: Tensor, /) -> Tensor:
    """``isfinite`` of the array API standard, element-wise."""
    return apply("isfinite", x)


def isinf(x: Tensor, /) -> Tensor:
    """``isinf`` of the array API standard, element-wise."""
    return apply("isinf", x)


def isnan(x: Tensor, /) -> Tensor:
    """``isnan`` of the array API standard, element-wise."""
    return apply("isnan", x)


def less(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``less`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("less", x1, x2)


def less_equal(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``less_equal`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("less_equal", x1, x2)


def log(x: Tensor, /) -> Tensor:
    """``log`` of the array API standard, element-wise."""
    return apply("log", x)


def log10(x: Tensor, /) -> Tensor:
    """``log10`` of the array API standard, element-wise."""
    return apply("log10", x)


def log1p(x: Tensor, /) -> Tensor:
    """``log1p`` of the array API standard, element-wise."""
    return apply("log1p", x)


def log2(x: Tensor, /) -> Tensor:
    """``log2`` of the array API standard, element-wise."""
    return apply("log2", x)


def logaddexp(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``logaddexp`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("logaddexp", x1, x2)


def logical_and(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``logical_and`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("logical_and", x1, x2)


def logical_not(x: Tensor, /) -> Tensor:
    """``logical_not`` of the array API standard, element-wise."""
    return apply("logical_not", x)


def logical_or(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``logical_or`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("logical_or", x1, x2)


def logical_xor(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``logical_xor`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("logical_xor", x1, x2)


def maximum(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``maximum`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("maximum", x1, x2)


def minimum(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``minimum`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("minimum", x1, x2)


def multiply(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``multiply`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("multiply", x1, x2)


def negative(x: Tensor, /) -> Tensor:
    """``negative`` of the array API standard, element-wise."""
    return apply("negative", x)


def nextafter(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``nextafter`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("nextafter", x1, x2)


def not_equal(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``not_equal`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("not_equal", x1, x2)


def positive(x: Tensor, /) -> Tensor:
    """``positive`` of the array API standard, element-wise."""
    return apply("positive", x)


def pow(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``pow`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("pow", x1, x2)


def real(x: Tensor, /) -> Tensor:
    """``real`` of the array API standard, element-wise."""
    return apply("real", x)


def reciprocal(x: Tensor, /) -> Tensor:
    """``reciprocal`` of the array API standard, element-wise."""
    return apply("reciprocal", x)


def remainder(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``remainder`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("remainder", x1, x2)


def round(x: Tensor, /) -> Tensor:
    """``round`` of the array API standard, element-wise."""
    return apply("round", x)


def sign(x: Tensor, /) -> Tensor:
    """``sign`` of the array API standard, element-wise."""
    return apply("sign", x)


def signbit(x: Tensor, /) -> Tensor:
    """``signbit`` of the array API standard, element-wise."""
    return apply("signbit", x)


def sin(x: Tensor, /) -> Tensor:
    """``sin`` of the array API standard, element-wise."""
    return apply("sin", x)


def sinh(x: Tensor, /) -> Tensor:
    """``sinh`` of the array API standard, element-wise."""
    return apply("sinh", x)


def sqrt(x: Tensor, /) -> Tensor:
    """``sqrt`` of the array API standard, element-wise."""
    return apply("sqrt", x)


def square(x: Tensor, /) -> Tensor:
    """``square`` of the array API standard, element-wise."""
    return apply("square", x)


def subtract(x1: Tensor | int | float | complex, x2: Tensor | int | float | complex, /) -> Tensor:
    """``subtract`` of the array API standard, element-wise (a Python scalar may stand for one array)."""
    return apply("subtract", x1, x2)


def tan(x: Tensor, /) -> Tensor:
    """``tan`` of the array API standard, element-wise."""
    return apply("tan", x)


def tanh(x: Tensor, /) -> Tensor:
    """``tanh`` of the array API standard, element-wise."""
    return apply("tanh", x)


def trunc(x: Tensor, /) -> Tensor:
    """``trunc`` of the array API standard, element-wise."""
    return apply("trunc", x)


def _specialise_all() -> None:
    """Replace each function above whose body is one call of the funnel (all but clip) by its fast form: the
    same results and the same recorded nodes, without the general funnel's loops (see _fast.py)."""
    functions = globals()
    for name in __all__:
        if name != "clip":
            functions[name] = _fast.specialise(name, functions[name])


_specialise_all()
