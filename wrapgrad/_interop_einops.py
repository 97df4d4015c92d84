"""wrapgrad's einops backend (imported by :func:`wrapgrad.interop.enable_einops`, never by ``import wrapgrad``).

einops finds a backend for a tensor among the subclasses of its private ``AbstractBackend`` whose
``framework_name`` is an imported module, so defining this class registers it. Every method calls wrapgrad's
namespace of the tensor, so einops' operations are recorded like any others. Tested with einops 0.8.2.
"""

from __future__ import annotations

from typing import Any

from einops._backends import AbstractBackend

from ._extensions import einsum
from ._tensor import Tensor

__all__ = ["WrapgradBackend"]


def np_namespace() -> Any:
    from ._backend import namespace_by_name

    return namespace_by_name("numpy")


def _xp(x: Any) -> Any:
    return x.__array_namespace__()


class WrapgradBackend(AbstractBackend):
    """einops' view of wrapgrad Tensors (of any backend)."""

    framework_name = "wrapgrad"

    def is_appropriate_type(self, tensor: Any) -> bool:
        return isinstance(tensor, Tensor)

    def from_numpy(self, x: Any) -> Any:
        from ._backend import backend_for
        from ._namespace import namespace_of_backend

        return namespace_of_backend(backend_for(np_namespace())).asarray(x)

    def to_numpy(self, x: Any) -> Any:
        import numpy as np

        return np.asarray(x.detach())

    def arange(self, start: int, stop: int) -> Any:
        from ._backend import backend_for
        from ._namespace import namespace_of_backend

        return namespace_of_backend(backend_for(np_namespace())).arange(start, stop)

    def shape(self, x: Any) -> Any:
        return tuple(x.shape)

    def reshape(self, x: Any, shape: Any) -> Any:
        return _xp(x).reshape(x, tuple(shape))

    def transpose(self, x: Any, axes: Any) -> Any:
        return _xp(x).permute_dims(x, tuple(axes))

    def reduce(self, x: Any, operation: str, axes: Any) -> Any:
        return getattr(_xp(x), operation)(x, axis=tuple(axes))

    def stack_on_zeroth_dimension(self, tensors: list[Any]) -> Any:
        return _xp(tensors[0]).stack(tensors)

    def add_axis(self, x: Any, new_position: int) -> Any:
        return _xp(x).expand_dims(x, axis=new_position)

    def tile(self, x: Any, repeats: Any) -> Any:
        return _xp(x).tile(x, tuple(repeats))

    def concat(self, tensors: list[Any], axis: int) -> Any:
        return _xp(tensors[0]).concat(tensors, axis=axis)

    def is_float_type(self, x: Any) -> bool:
        return bool(_xp(x).isdtype(x.dtype, "real floating"))

    def layers(self) -> Any:
        raise NotImplementedError("einops: wrapgrad has no layers; use the functions (rearrange, reduce, ...)")

    def einsum(self, pattern: str, *x: Any) -> Any:
        return einsum(pattern, *x)
