"""Interoperation with libraries that find array types through their own registries.

Nothing here is imported by ``import wrapgrad``, and each function imports its library only when called:

- :func:`enable_scipy_fft` (or the :func:`scipy_fft` context manager) serves scipy.fft's real transforms
  (``dct``, ``idct``, ``dst``, ``idst`` and their n-D forms) on Tensors, differentiable, through scipy.fft's
  backend protocol (``__ua_domain__ = "numpy.scipy.fft"``). The complex transforms need nothing: SciPy already
  runs them through ``xp.fft``.
- :func:`enable_einops` registers an einops backend, so ``einops.rearrange/reduce/repeat/einsum/pack`` accept
  Tensors (einops has no entry points; a backend is a subclass of its private ``AbstractBackend``).
- opt_einsum needs no call: it looks up ``tensordot``, ``transpose`` and ``einsum`` in the array's top-level
  package, and ``wrapgrad`` has them.
- :func:`enable` does all of the above for the libraries that are installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable
from typing import Any

from . import _extensions
from ._tensor import Tensor

__all__ = ["ScipyFftBackend", "enable", "enable_einops", "enable_scipy_fft", "scipy_fft", "scipy_fft_backend"]

_REAL_TRANSFORMS: dict[str, Callable[..., Any]] = {
    name: getattr(_extensions, name)
    for name in ("dct", "idct", "dst", "idst", "dctn", "idctn", "dstn", "idstn")
}


class ScipyFftBackend:
    """A scipy.fft backend (uarray protocol) for Tensors.

    It takes the real transforms of a Tensor and returns ``NotImplemented`` for everything else (any other
    array, and the complex transforms, which SciPy runs through the array API), so scipy.fft's own backend
    handles those. The check is one dictionary look-up and one ``isinstance``.
    """

    __ua_domain__ = "numpy.scipy.fft"

    @staticmethod
    def __ua_function__(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = _REAL_TRANSFORMS.get(getattr(method, "__name__", ""))
        if fn is None:
            return NotImplemented
        x = args[0] if args else kwargs.get("x")
        if not isinstance(x, Tensor):
            return NotImplemented
        return fn(*args, **kwargs)


scipy_fft_backend = ScipyFftBackend()


def enable_scipy_fft() -> None:
    """Make ``scipy.fft.dct(tensor)`` (and ``idct``, ``dst``, ``idst``, ``dctn`` ...) differentiable, for good.

    Sets wrapgrad's backend as scipy.fft's global backend and registers SciPy's own after it, so every other
    array goes to SciPy as before (SciPy's global backend would otherwise take Tensors first, and fail
    converting them to numpy). It replaces another global scipy.fft backend you may have set; use
    :func:`scipy_fft` for a scope instead.

    Examples
    --------
    >>> import scipy.fft, wrapgrad.interop, wrapgrad.numpy as xp
    >>> wrapgrad.interop.enable_scipy_fft()
    >>> x = xp.asarray([1.0, 2.0, 4.0], requires_grad=True)
    >>> xp.sum(scipy.fft.dct(x, norm="ortho") ** 2).backward()
    """
    import scipy.fft  # type: ignore[import-untyped, unused-ignore]

    scipy.fft.set_global_backend(scipy_fft_backend)
    scipy.fft.register_backend("scipy")


def scipy_fft() -> contextlib.AbstractContextManager[Any]:
    """A context in which scipy.fft's real transforms take Tensors (``with wrapgrad.interop.scipy_fft(): ...``);
    scipy.fft's ``set_backend`` with wrapgrad's backend."""
    import scipy.fft  # type: ignore[import-untyped, unused-ignore]

    return scipy.fft.set_backend(scipy_fft_backend)


def enable_einops() -> None:
    """Register wrapgrad's einops backend: ``einops.rearrange(tensor, ...)`` and the rest of einops' main API
    then accept Tensors, differentiable. Tested with einops 0.8.2 (the backend subclasses einops' private
    ``AbstractBackend``). Calling it again does nothing."""
    importlib.import_module("wrapgrad._interop_einops")


def enable() -> list[str]:
    """Enable every interoperation whose library is installed; returns their names (``"scipy.fft"``,
    ``"einops"``)."""
    enabled = []
    if importlib.util.find_spec("scipy") is not None:
        enable_scipy_fft()
        enabled.append("scipy.fft")
    if importlib.util.find_spec("einops") is not None:
        enable_einops()
        enabled.append("einops")
    return enabled

