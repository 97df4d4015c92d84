"""Building the namespace modules ``wrapgrad.<backend>``: every spec name, for one backend.

A namespace is a real module registered in ``sys.modules`` (so ``ARRAY_API_TESTS_MODULE=wrapgrad.numpy`` and
``import wrapgrad.numpy`` both find it), and it is what ``Tensor.__array_namespace__`` returns, so code
written as ``xp = array_namespace(x)`` then ``xp.*`` runs on Tensors and is differentiable unchanged.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from . import (
    _creation, _data_type, _elementwise, _indexing, _linear_algebra, _manipulation, _searching, _set, _sorting,
    _statistical, _utility, fft, linalg,
)
from ._backend import Backend, backend_for
from ._inspection import Info

__all__ = ["API_VERSIONS", "namespace", "namespace_of_backend"]

# The revisions of the standard a wrapgrad namespace serves; the backend is never asked for one of
# these (jax 0.10 raises for anything but "2024.12"): wrapgrad implements the names itself.
API_VERSIONS = ("2023.12", "2024.12", "2025.12")

# Modules whose plain functions are the same object in every namespace (they learn the backend from
# their array arguments).
_SECTIONS = (
    _elementwise, _creation, _data_type, _indexing, _linear_algebra, _manipulation, _searching, _set,
    _sorting, _statistical, _utility,
)
_BOUND_CREATION = ("arange", "asarray", "empty", "eye", "from_dlpack", "full", "linspace", "ones", "zeros")
_BOUND_DATA_TYPE = ("can_cast", "finfo", "iinfo", "isdtype", "result_type")
_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
    "complex64", "complex128",
)
_CONSTANTS = ("e", "inf", "nan", "newaxis", "pi")


def namespace(xp: types.ModuleType) -> types.ModuleType:
    """The wrapgrad namespace over an array-API namespace.

    Parameters
    ----------
    xp : module
        Any array-API namespace: ``array_api_compat.numpy`` (or plain ``numpy``), ``array_api_strict``,
        ``jax.numpy``, ``array_api_compat.torch`` ...

    Returns
    -------
    module
        ``wrapgrad.<name>``, with every name of the standard; its arrays are :class:`~wrapgrad.Tensor`.

    Examples
    --------
    >>> import array_api_strict, wrapgrad
    >>> xp = wrapgrad.namespace(array_api_strict)
    >>> x = xp.asarray([1.0, 2.0], requires_grad=True)
    >>> xp.sum(xp.sin(x)).backward()
    """
    return namespace_of_backend(backend_for(xp))


def namespace_of_backend(backend: Backend, api_version: str | None = None) -> types.ModuleType:
    """The namespace module of ``backend`` (built once), for ``api_version`` (default: the newest)."""
    if api_version is not None and api_version not in API_VERSIONS:
        raise ValueError(
            f"__array_namespace__: unsupported api_version {api_version!r}; wrapgrad serves {', '.join(API_VERSIONS)}"
        )
    module = backend.namespace
    if module is None:
        module = backend.namespace = _build(backend)
    return module


def _build(backend: Backend) -> types.ModuleType:
    xp = backend.xp
    name = f"wrapgrad.{backend.name}"
    module = types.ModuleType(name, f"wrapgrad's differentiable array API namespace over {xp.__name__}.")
    for section in _SECTIONS:
        for fname in section.__all__:
            if not fname[0].isupper():
                setattr(module, fname, getattr(section, fname))
    creation = _creation.Creation(backend)
    for fname in _BOUND_CREATION:
        setattr(module, fname, getattr(creation, fname))
    data_types = _data_type.DataTypeFunctions(backend)
    for fname in _BOUND_DATA_TYPE:
        setattr(module, fname, getattr(data_types, fname))
    for attr in _DTYPES + _CONSTANTS:
        if hasattr(xp, attr):
            setattr(module, attr, getattr(xp, attr))
    info = Info(backend)
    module.__array_namespace_info__ = lambda: info  # type: ignore[attr-defined]
    module.__array_api_version__ = getattr(xp, "__array_api_version__", API_VERSIONS[-1])  # type: ignore[attr-defined]
    module._wrapgrad_backend = backend  # type: ignore[attr-defined]
    if hasattr(xp, "linalg"):
        module.linalg = _extension(f"{name}.linalg", linalg, linalg.__all__)  # type: ignore[attr-defined]
    if hasattr(xp, "fft"):
        fft_module = _extension(f"{name}.fft", fft, [n for n in fft.__all__ if n[0].islower()])
        frequencies = fft.FrequencyFunctions(backend)
        fft_module.fftfreq = frequencies.fftfreq  # type: ignore[attr-defined]
        fft_module.rfftfreq = frequencies.rfftfreq  # type: ignore[attr-defined]
        module.fft = fft_module  # type: ignore[attr-defined]
    sys.modules[name] = module
    package = sys.modules["wrapgrad"]
    if not hasattr(package, backend.name):
        setattr(package, backend.name, module)
    return module


def _extension(name: str, source: types.ModuleType, names: Any) -> types.ModuleType:
    module = types.ModuleType(name, source.__doc__)
    for fname in names:
        setattr(module, fname, getattr(source, fname))
    sys.modules[name] = module
    return module
