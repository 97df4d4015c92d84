"""Utility functions (array API standard, section "Utility Functions")."""

from __future__ import annotations

from ._apply import apply
from ._tensor import Tensor

__all__ = ["all", "any", "diff"]


def all(x: Tensor, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """``all`` of the array API standard."""
    return apply("all", x, axis=axis, keepdims=keepdims)


def any(x: Tensor, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """``any`` of the array API standard."""
    return apply("any", x, axis=axis, keepdims=keepdims)


def diff(x: Tensor, /, *, axis: int = -1, n: int = 1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """``diff`` of the array API standard (2024.12); ``prepend`` and ``append`` get gradients too."""
    return apply("diff", x, prepend, append, axis=axis, n=n)
