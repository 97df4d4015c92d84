"""Statistical functions (array API standard, section "Statistical Functions")."""

from __future__ import annotations

from typing import Any

from ._apply import apply
from ._tensor import Tensor

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "std", "sum", "var"]

Axis = int | tuple[int, ...] | None


def cumulative_prod(x: Tensor, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False) -> Tensor:
    """``cumulative_prod`` of the array API standard (2024.12)."""
    return apply("cumulative_prod", x, axis=axis, dtype=dtype, include_initial=include_initial)


def cumulative_sum(x: Tensor, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Tensor:
    """``cumulative_sum`` of the array API standard."""
    return apply("cumulative_sum", x, axis=axis, dtype=dtype, include_initial=include_initial)


def max(x: Tensor, /, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``max`` of the array API standard; ties share the gradient evenly."""
    return apply("max", x, axis=axis, keepdims=keepdims)


def mean(x: Tensor, /, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``mean`` of the array API standard."""
    return apply("mean", x, axis=axis, keepdims=keepdims)


def min(x: Tensor, /, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``min`` of the array API standard; ties share the gradient evenly."""
    return apply("min", x, axis=axis, keepdims=keepdims)


def prod(x: Tensor, /, *, axis: Axis = None, dtype: Any = None, keepdims: bool = False) -> Tensor:
    """``prod`` of the array API standard."""
    return apply("prod", x, axis=axis, dtype=dtype, keepdims=keepdims)


def std(x: Tensor, /, *, axis: Axis = None, correction: int | float = 0.0, keepdims: bool = False) -> Tensor:
    """``std`` of the array API standard."""
    return apply("std", x, axis=axis, correction=correction, keepdims=keepdims)


def sum(x: Tensor, /, *, axis: Axis = None, dtype: Any = None, keepdims: bool = False) -> Tensor:
    """``sum`` of the array API standard."""
    return apply("sum", x, axis=axis, dtype=dtype, keepdims=keepdims)


def var(x: Tensor, /, *, axis: Axis = None, correction: int | float = 0.0, keepdims: bool = False) -> Tensor:
    """``var`` of the array API standard."""
    return apply("var", x, axis=axis, correction=correction, keepdims=keepdims)
