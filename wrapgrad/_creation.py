"""Creation functions (array API standard, section "Creation Functions").

Functions that take an array learn the backend from it and are plain functions. Those that take none
(``ones``, ``arange``, ``asarray`` of a list ...) need to know which library to create in: they are the
methods of :class:`Creation`, one instance per backend, and each wrapgrad namespace module exposes the bound
methods (``inspect.signature`` of a bound method is exactly the spec's signature, plus ``requires_grad``).
"""

from __future__ import annotations

from typing import Any

from ._apply import apply, apply_untracked
from ._backend import Backend
from ._tensor import Tensor

__all__ = ["Creation", "empty_like", "full_like", "meshgrid", "ones_like", "tril", "triu", "zeros_like"]


class Creation:
    """The creation functions of one backend; ``requires_grad`` is keyword-only on each of them."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def _new(self, data: Any, requires_grad: bool) -> Tensor:
        backend = self._backend
        if backend.normalize is not None:
            data = backend.normalize(data)
        t = Tensor._make(data, backend)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def arange(self, start: int | float, /, stop: int | float | None = None, step: int | float = 1, *,
               dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """``arange`` of the array API standard."""
        data = self._backend.xp.arange(start, stop, step, dtype=dtype, device=device)
        return self._new(data, requires_grad)

    def asarray(self, obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
                requires_grad: bool = False) -> Tensor:
        """``asarray`` of the array API standard. On a Tensor it keeps the graph: the result is the same
        tensor, or a recorded copy / dtype conversion whose gradient flows back to ``obj``."""
        if isinstance(obj, Tensor):
            if obj._backend is not self._backend:
                raise TypeError(
                    f"asarray: the Tensor comes from {obj._backend.name}, this namespace is {self._backend.name}; "
                    f"move it with .detach() and from_dlpack"
                )
            same = (dtype is None or dtype == obj.dtype) and (device is None or device == obj.device)
            if same and not copy:
                result = obj
            elif copy is False:
                raise ValueError("asarray: copy=False, but a change of dtype or device needs a copy")
            else:
                result = apply("asarray", obj, dtype=dtype, copy=True)
                if device is not None and device != obj.device:
                    # A recorded to_device, whose rule sends the cotangent back to obj's device.
                    result = apply("to_device", result, device=device)
            if requires_grad and not result._requires_grad:
                result = result.detach().requires_grad_(True)
            return result
        if device is not None:
            device = self._backend.placement(device, obj)
        return self._new(self._backend.xp.asarray(_unwrap_nested(obj), dtype=dtype, device=device, copy=copy),
                         requires_grad)

    def empty(self, shape: int | tuple[int, ...], *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
        """``empty`` of the array API standard."""
        return self._new(self._backend.xp.empty(shape, dtype=dtype, device=device), requires_grad)

    def eye(self, n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
        """``eye`` of the array API standard."""
        data = self._backend.xp.eye(n_rows, n_cols, k=k, dtype=dtype, device=device)
        return self._new(data, requires_grad)

    def from_dlpack(self, x: object, /, *, device: Any = None, copy: bool | None = None) -> Tensor:
        """``from_dlpack`` of the array API standard; a Tensor of this backend keeps its graph."""
        if isinstance(x, Tensor) and x._backend is self._backend:
            return self.asarray(x, device=device, copy=copy)
        kwargs: dict[str, Any] = {}
        if device is not None:
            kwargs["device"] = device
        if copy is not None:
            kwargs["copy"] = copy
        return self._new(self._backend.xp.from_dlpack(x, **kwargs), False)

    def full(self, shape: int | tuple[int, ...], fill_value: bool | int | float | complex, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
        """``full`` of the array API standard."""
        return self._new(self._backend.xp.full(shape, fill_value, dtype=dtype, device=device), requires_grad)

    def linspace(self, start: int | float | complex, stop: int | float | complex, /, num: int, *, dtype: Any = None,
                 device: Any = None, endpoint: bool = True, requires_grad: bool = False) -> Tensor:
        """``linspace`` of the array API standard.

        ``start`` and ``stop`` may also be 0-D Tensors of this backend (an extension, as in torch and jax):
        the result is then computed from them on the tape, so the gradient reaches both.
        """
        if isinstance(start, Tensor) or isinstance(stop, Tensor):
            result = self._linspace_of_tensors(start, stop, num, dtype, device, endpoint)
            if requires_grad and not result._requires_grad:
                result = result.detach().requires_grad_(True)
            return result
        data = self._backend.xp.linspace(start, stop, num, dtype=dtype, device=device, endpoint=endpoint)
        return self._new(data, requires_grad)

    def _linspace_of_tensors(self, start: Any, stop: Any, num: int, dtype: Any, device: Any,
                             endpoint: bool) -> Tensor:
        # numpy's algorithm, in recorded operations: start + arange(num) * step, and the endpoint exactly
        # stop, so the values agree with the backend's own linspace to rounding and the gradient flows
        # (d/dstart = 1 - i/div, d/dstop = i/div).
        from . import _data_type, _manipulation

        ends = []
        for name, end in (("start", start), ("stop", stop)):
            if isinstance(end, Tensor):
                if end._backend is not self._backend:
                    raise TypeError(f"linspace: {name} is a Tensor of {end._backend.name}, this namespace is "
                                    f"{self._backend.name}")
                if end.ndim != 0:
                    raise ValueError(f"linspace: {name} must be a Python scalar or a 0-D Tensor, got a Tensor of "
                                     f"shape {end.shape}")
            elif not isinstance(end, (int, float, complex)):
                raise TypeError(f"linspace: {name} must be a Python scalar or a 0-D Tensor, got "
                                f"{type(end).__name__}")
            ends.append(end)
        if dtype is None:
            complex_end = any(isinstance(e, complex) or (isinstance(e, Tensor) and e.dtype in
                                                         self._backend.complex_dtypes) for e in ends)
            kind = "complex floating" if complex_end else "real floating"
            dtype = self._backend.xp.__array_namespace_info__().default_dtypes(device=device)[kind]
        anchor = next(e for e in ends if isinstance(e, Tensor))
        device = anchor.device if device is None else device
        first, last = (_data_type.astype(e, dtype) if isinstance(e, Tensor) else
                       self.asarray(e, dtype=dtype, device=device) for e in ends)
        div = num - 1 if endpoint else num
        steps = self.arange(num, dtype=dtype, device=device)
        if div <= 0:  # num == 0, or num == 1 with endpoint: numpy gives [start][:num]
            return (first + steps * 0)[:num] if num else steps
        values = first + steps * ((last - first) / div)
        if endpoint:
            values = _manipulation.concat([values[:-1], _manipulation.reshape(last, (1,))])
        return values

    def ones(self, shape: int | tuple[int, ...], *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
        """``ones`` of the array API standard."""
        return self._new(self._backend.xp.ones(shape, dtype=dtype, device=device), requires_grad)

    def zeros(self, shape: int | tuple[int, ...], *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
        """``zeros`` of the array API standard."""
        return self._new(self._backend.xp.zeros(shape, dtype=dtype, device=device), requires_grad)


def _unwrap_nested(obj: Any) -> Any:
    """Replace Tensors inside a nested sequence by their data, refusing ones that require grad."""
    if isinstance(obj, Tensor):
        if obj._requires_grad:
            raise TypeError(
                "asarray: a nested sequence holds a Tensor that requires grad; converting it would cut the "
                "graph: use stack (or concat) instead"
            )
        return obj._data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap_nested(o) for o in obj)
    return obj


def empty_like(x: Tensor, /, *, dtype: Any = None, device: Any = None) -> Tensor:
    """``empty_like`` of the array API standard (off the tape: its values do not depend on ``x``)."""
    return apply_untracked("empty_like", x, dtype=dtype, device=device)


def full_like(x: Tensor, /, fill_value: bool | int | float | complex, *, dtype: Any = None,
              device: Any = None) -> Tensor:
    """``full_like`` of the array API standard (off the tape: its values do not depend on ``x``)."""
    return apply_untracked("full_like", x, fill_value, dtype=dtype, device=device)


def meshgrid(*arrays: Tensor, indexing: str = "xy") -> tuple[Tensor, ...]:
    """``meshgrid`` of the array API standard; returns a tuple (2025.12)."""
    return tuple(apply("meshgrid", *arrays, indexing=indexing))


def ones_like(x: Tensor, /, *, dtype: Any = None, device: Any = None) -> Tensor:
    """``ones_like`` of the array API standard (off the tape: its values do not depend on ``x``)."""
    return apply_untracked("ones_like", x, dtype=dtype, device=device)


def tril(x: Tensor, /, *, k: int = 0) -> Tensor:
    """``tril`` of the array API standard."""
    return apply("tril", x, k=k)


def triu(x: Tensor, /, *, k: int = 0) -> Tensor:
    """``triu`` of the array API standard."""
    return apply("triu", x, k=k)


def zeros_like(x: Tensor, /, *, dtype: Any = None, device: Any = None) -> Tensor:
    """``zeros_like`` of the array API standard (off the tape: its values do not depend on ``x``)."""
    return apply_untracked("zeros_like", x, dtype=dtype, device=device)
