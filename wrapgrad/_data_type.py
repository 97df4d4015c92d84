"""Data type functions (array API standard, section "Data Type Functions").

``astype`` takes an array and is recorded (float <-> complex and float <-> float are differentiable).
The others accept dtypes as well as arrays, so, like the creation functions, they are methods of
:class:`DataTypeFunctions`, one instance per backend; Tensors given to them are read, never recorded.
"""

from __future__ import annotations

from typing import Any

from ._apply import apply
from ._backend import Backend
from ._tensor import Tensor

__all__ = ["DataTypeFunctions", "astype"]


def astype(x: Tensor, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Tensor:
    """``astype`` of the array API standard. Casting to an integer or boolean dtype leaves the tape."""
    if not copy and dtype == x.dtype and (device is None or device == x.device):
        return x
    result = apply("astype", x, dtype=dtype, copy=copy)
    if device is not None and device != x.device:
        # A recorded to_device, whose rule sends the cotangent back to x's device.
        result = apply("to_device", result, device=device)
    return result


def _dtype_or_data(a: Any) -> Any:
    return a._data if isinstance(a, Tensor) else a


class DataTypeFunctions:
    """``can_cast``, ``finfo``, ``iinfo``, ``isdtype`` and ``result_type`` of one backend."""

    def __init__(self, backend: Backend) -> None:
        self._xp = backend.xp

    def can_cast(self, from_: Any, to: Any, /) -> bool:
        """``can_cast`` of the array API standard."""
        return bool(self._xp.can_cast(_dtype_or_data(from_), to))

    def finfo(self, type: Any, /) -> Any:
        """``finfo`` of the array API standard."""
        return self._xp.finfo(_dtype_or_data(type))

    def iinfo(self, type: Any, /) -> Any:
        """``iinfo`` of the array API standard."""
        return self._xp.iinfo(_dtype_or_data(type))

    def isdtype(self, dtype: Any, kind: Any) -> bool:
        """``isdtype`` of the array API standard."""
        return bool(self._xp.isdtype(dtype, kind))

    def result_type(self, *arrays_and_dtypes: Any) -> Any:
        """``result_type`` of the array API standard."""
        return self._xp.result_type(*(_dtype_or_data(a) for a in arrays_and_dtypes))
