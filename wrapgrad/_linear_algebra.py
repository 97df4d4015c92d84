"""Linear algebra functions of the main namespace (array API standard, "Linear Algebra Functions")."""

from __future__ import annotations

from collections.abc import Sequence

from ._apply import apply
from ._tensor import Tensor

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]


def matmul(x1: Tensor, x2: Tensor, /) -> Tensor:
    """``matmul`` of the array API standard."""
    return apply("matmul", x1, x2)


def matrix_transpose(x: Tensor, /) -> Tensor:
    """``matrix_transpose`` of the array API standard."""
    return apply("matrix_transpose", x)


def tensordot(x1: Tensor, x2: Tensor, /, *, axes: int | tuple[Sequence[int], Sequence[int]] = 2) -> Tensor:
    """``tensordot`` of the array API standard."""
    return apply("tensordot", x1, x2, axes=axes)


def vecdot(x1: Tensor, x2: Tensor, /, *, axis: int = -1) -> Tensor:
    """``vecdot`` of the array API standard: ``sum(conj(x1) * x2, axis=axis)``."""
    return apply("vecdot", x1, x2, axis=axis)
