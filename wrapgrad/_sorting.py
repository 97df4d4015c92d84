"""Sorting functions (array API standard, section "Sorting Functions")."""

from __future__ import annotations

from ._apply import apply
from ._tensor import Tensor

__all__ = ["argsort", "sort"]


def argsort(x: Tensor, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Tensor:
    """``argsort`` of the array API standard."""
    return apply("argsort", x, axis=axis, descending=descending, stable=stable)


def sort(x: Tensor, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Tensor:
    """``sort`` of the array API standard; the gradient follows the stable sorting permutation."""
    return apply("sort", x, axis=axis, descending=descending, stable=stable)
