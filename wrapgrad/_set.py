"""Set functions (array API standard, section "Set Functions")."""

from __future__ import annotations

from typing import Any

from ._apply import apply
from ._tensor import Tensor

__all__ = ["isin", "unique_all", "unique_counts", "unique_inverse", "unique_values"]


def isin(x1: Tensor | int, x2: Tensor | int, /, *, invert: bool = False) -> Tensor:
    """``isin`` of the array API standard (2025.12)."""
    return apply("isin", x1, x2, invert=invert)


def unique_all(x: Tensor, /) -> Any:
    """``unique_all`` of the array API standard: ``values`` is differentiable (scattered back through
    ``inverse_indices``)."""
    return apply("unique_all", x)


def unique_counts(x: Tensor, /) -> Any:
    """``unique_counts`` of the array API standard."""
    return apply("unique_counts", x)


def unique_inverse(x: Tensor, /) -> Any:
    """``unique_inverse`` of the array API standard."""
    return apply("unique_inverse", x)


def unique_values(x: Tensor, /) -> Tensor:
    """``unique_values`` of the array API standard."""
    return apply("unique_values", x)
