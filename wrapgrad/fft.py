"""The ``fft`` extension (array API standard), differentiable.

Each wrapgrad namespace exposes these as ``xp.fft`` when its backend has the extension. ``fftfreq`` and
``rfftfreq`` take no array, so, like the creation functions, they are methods of :class:`FrequencyFunctions`,
one instance per backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._apply import apply
from ._backend import Backend
from ._tensor import Tensor

__all__ = [
    "FrequencyFunctions", "fft", "fftn", "fftshift", "hfft", "ifft", "ifftn", "ifftshift", "ihfft", "irfft",
    "irfftn", "rfft", "rfftn",
]


def fft(x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """``fft.fft`` of the array API standard."""
    return apply("fft.fft", x, n=n, axis=axis, norm=norm)


def ifft(x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """``fft.ifft`` of the array API standard."""
    return apply("fft.ifft", x, n=n, axis=axis, norm=norm)


def fftn(x: Tensor, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str = "backward") -> Tensor:
    """``fft.fftn`` of the array API standard."""
    return apply("fft.fftn", x, s=s, axes=axes, norm=norm)


def ifftn(x: Tensor, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str = "backward") -> Tensor:
    """``fft.ifftn`` of the array API standard."""
    return apply("fft.ifftn", x, s=s, axes=axes, norm=norm)


def rfft(x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """``fft.rfft`` of the array API standard."""
    return apply("fft.rfft", x, n=n, axis=axis, norm=norm)


def irfft(x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """``fft.irfft`` of the array API standard."""
    return apply("fft.irfft", x, n=n, axis=axis, norm=norm)


def rfftn(x: Tensor, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str = "backward") -> Tensor:
    """``fft.rfftn`` of the array API standard."""
    return apply("fft.rfftn", x, s=s, axes=axes, norm=norm)


def irfftn(x: Tensor, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str = "backward") -> Tensor:
    """``fft.irfftn`` of the array API standard."""
    return apply("fft.irfftn", x, s=s, axes=axes, norm=norm)


def hfft(x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """``fft.hfft`` of the array API standard."""
    return apply("fft.hfft", x, n=n, axis=axis, norm=norm)


def ihfft(x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """``fft.ihfft`` of the array API standard."""
    return apply("fft.ihfft", x, n=n, axis=axis, norm=norm)


def fftshift(x: Tensor, /, *, axes: int | Sequence[int] | None = None) -> Tensor:
    """``fft.fftshift`` of the array API standard."""
    return apply("fft.fftshift", x, axes=axes)


def ifftshift(x: Tensor, /, *, axes: int | Sequence[int] | None = None) -> Tensor:
    """``fft.ifftshift`` of the array API standard."""
    return apply("fft.ifftshift", x, axes=axes)


class FrequencyFunctions:
    """``fftfreq`` and ``rfftfreq`` of one backend (they take no array to learn it from)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def _new(self, data: Any) -> Tensor:
        if self._backend.normalize is not None:
            data = self._backend.normalize(data)
        return Tensor._make(data, self._backend)

    def fftfreq(self, n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Tensor:
        """``fft.fftfreq`` of the array API standard."""
        return self._new(self._backend.xp.fft.fftfreq(n, d=d, dtype=dtype, device=device))

    def rfftfreq(self, n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Tensor:
        """``fft.rfftfreq`` of the array API standard."""
        return self._new(self._backend.xp.fft.rfftfreq(n, d=d, dtype=dtype, device=device))
