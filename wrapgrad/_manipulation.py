"""Manipulation functions (array API standard, section "Manipulation Functions")."""

from __future__ import annotations

from . import _views
from ._apply import apply
from ._tensor import Tensor

__all__ = [
    "broadcast_arrays", "broadcast_shapes", "broadcast_to", "concat", "expand_dims", "flip", "moveaxis",
    "permute_dims", "repeat", "reshape", "roll", "squeeze", "stack", "tile", "unstack",
]


def broadcast_arrays(*arrays: Tensor) -> tuple[Tensor, ...]:
    """``broadcast_arrays`` of the array API standard; returns a tuple (2025.12)."""
    return tuple(apply("broadcast_arrays", *arrays))


def broadcast_shapes(*shapes: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """``broadcast_shapes`` of the array API standard (2025.12): shapes in, a shape out."""
    result: list[int | None] = []
    for shape in shapes:
        shape = tuple(shape)
        if len(shape) > len(result):
            padding: list[int | None] = [1] * (len(shape) - len(result))
            result = padding + result
        offset = len(result) - len(shape)
        for i, n in enumerate(shape):
            current = result[offset + i]
            if current == 1 or current == n:
                result[offset + i] = n
            elif n != 1:
                if current is None or n is None:
                    result[offset + i] = None
                else:
                    raise ValueError(f"broadcast_shapes: shapes {shapes} cannot be broadcast together")
    return tuple(result)


def broadcast_to(x: Tensor, /, shape: tuple[int, ...]) -> Tensor:
    """``broadcast_to`` of the array API standard."""
    return apply("broadcast_to", x, shape=tuple(shape))


def concat(arrays: tuple[Tensor, ...] | list[Tensor], /, *, axis: int | None = 0) -> Tensor:
    """``concat`` of the array API standard."""
    return apply("concat", *arrays, axis=axis)


def expand_dims(x: Tensor, /, axis: int | tuple[int, ...]) -> Tensor:
    """``expand_dims`` of the array API standard (a tuple of axes since 2025.12)."""
    return apply("expand_dims", x, axis=axis)


def flip(x: Tensor, /, *, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``flip`` of the array API standard."""
    return apply("flip", x, axis=axis)


def moveaxis(x: Tensor, source: int | tuple[int, ...], destination: int | tuple[int, ...], /) -> Tensor:
    """``moveaxis`` of the array API standard."""
    return apply("moveaxis", x, source=source, destination=destination)


def permute_dims(x: Tensor, /, axes: tuple[int, ...]) -> Tensor:
    """``permute_dims`` of the array API standard (negative axes since 2025.12)."""
    axes = tuple(axes)
    return _views.track(x, apply("permute_dims", x, axes=axes), ("permute_dims", axes))  # a view


def repeat(x: Tensor, repeats: int | Tensor, /, *, axis: int | None = None) -> Tensor:
    """``repeat`` of the array API standard."""
    return apply("repeat", x, repeats, axis=axis)


def reshape(x: Tensor, /, shape: tuple[int, ...], *, copy: bool | None = None) -> Tensor:
    """``reshape`` of the array API standard."""
    return apply("reshape", x, shape=tuple(shape), copy=copy)


def roll(x: Tensor, /, shift: int | tuple[int, ...], *, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``roll`` of the array API standard."""
    return apply("roll", x, shift=shift, axis=axis)


def squeeze(x: Tensor, /, axis: int | tuple[int, ...]) -> Tensor:
    """``squeeze`` of the array API standard."""
    return apply("squeeze", x, axis=axis)


def stack(arrays: tuple[Tensor, ...] | list[Tensor], /, *, axis: int = 0) -> Tensor:
    """``stack`` of the array API standard."""
    return apply("stack", *arrays, axis=axis)


def tile(x: Tensor, repetitions: tuple[int, ...], /) -> Tensor:
    """``tile`` of the array API standard."""
    return apply("tile", x, repetitions=tuple(repetitions))


def unstack(x: Tensor, /, *, axis: int = 0) -> tuple[Tensor, ...]:
    """``unstack`` of the array API standard."""
    return tuple(apply("unstack", x, axis=axis))


