"""Indexing functions (array API standard, section "Indexing Functions").

Their gradients are scatter-adds that accumulate duplicate indices (see ``Backend.scatter_add``).
"""

from __future__ import annotations

from ._apply import apply
from ._tensor import Tensor

__all__ = ["take", "take_along_axis"]


def take(x: Tensor, indices: Tensor, /, *, axis: int | None = None) -> Tensor:
    """``take`` of the array API standard."""
    return apply("take", x, indices, axis=axis)


def take_along_axis(x: Tensor, indices: Tensor, /, *, axis: int = -1) -> Tensor:
    """``take_along_axis`` of the array API standard (2024.12)."""
    return apply("take_along_axis", x, indices, axis=axis)
