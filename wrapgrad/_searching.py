"""Searching functions (array API standard, section "Searching Functions").

All but ``where`` return indices or counts: they are never recorded.
"""

from __future__ import annotations

from typing import Any

from ._apply import apply
from ._tensor import Tensor

__all__ = ["argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"]


def argmax(x: Tensor, /, *, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """``argmax`` of the array API standard."""
    return apply("argmax", x, axis=axis, keepdims=keepdims)


def argmin(x: Tensor, /, *, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """``argmin`` of the array API standard."""
    return apply("argmin", x, axis=axis, keepdims=keepdims)


def count_nonzero(x: Tensor, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """``count_nonzero`` of the array API standard (2024.12)."""
    return apply("count_nonzero", x, axis=axis, keepdims=keepdims)


def nonzero(x: Tensor, /) -> tuple[Tensor, ...]:
    """``nonzero`` of the array API standard."""
    return tuple(apply("nonzero", x))


def searchsorted(x1: Tensor, x2: Tensor | int | float, /, *, side: str = "left",
                 sorter: Tensor | None = None) -> Tensor:
    """``searchsorted`` of the array API standard."""
    if sorter is None:
        return apply("searchsorted", x1, x2, side=side)
    return apply("searchsorted", x1, x2, side=side, sorter=_data(sorter))


def where(condition: Tensor, x1: Tensor | int | float | complex | bool, x2: Tensor | int | float | complex | bool,
          /) -> Tensor:
    """``where`` of the array API standard; ``condition`` gets no gradient."""
    return apply("where", condition, x1, x2)


def _data(a: Any) -> Any:
    return a._data if isinstance(a, Tensor) else a
