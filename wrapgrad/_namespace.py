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
    _creation,
    _data_type,
    _elementwise,
    _extensions,
    _indexing,
    _linear_algebra,
    _manipulation,
    _searching,
    _set,
    _sorting,
    _statistical,
    _utility,
    _versions,
    fft,
    linalg,
    special,
)
from ._backend import Backend, backend_for
from ._inspection import Info
from ._versions import API_VERSIONS, LATEST

__all__ = ["API_VERSIONS", "namespace", "namespace_of_backend"]

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
# Extensions beyond the standard on every namespace (wrapgrad/_extensions.py).
_EXTENSION_NAMES = ("bincount", "einsum", "median")


def namespace(xp: types.ModuleType, *, api_version: str | None = None) -> types.ModuleType:
    """The wrapgrad namespace over an array-API namespace.

    Parameters
    ----------
    xp : module
        Any array-API namespace: ``array_api_compat.numpy`` (or plain ``numpy``), ``array_api_strict``,
        ``jax.numpy``, ``array_api_compat.torch`` ...
    api_version : str, optional
        The revision of the standard: ``"2023.12"``, ``"2024.12"`` or ``"2025.12"`` (the default, newest).

    Returns
    -------
    module
        ``wrapgrad.<name>`` (the newest revision) or its view ``wrapgrad.<name>.v2023_12`` ..., with every
        name of that revision; its arrays are :class:`~wrapgrad.Tensor`.

    Examples
    --------
    >>> import array_api_strict, wrapgrad
    >>> xp = wrapgrad.namespace(array_api_strict)
    >>> x = xp.asarray([1.0, 2.0], requires_grad=True)
    >>> xp.sum(xp.sin(x)).backward()
    """
    return namespace_of_backend(backend_for(xp), api_version)


def namespace_of_backend(backend: Backend, api_version: str | None = None) -> types.ModuleType:
    """The namespace module of ``backend`` (built once), for ``api_version`` (default: the newest)."""
    if api_version is not None and api_version not in API_VERSIONS:
        raise ValueError(
            f"__array_namespace__: unsupported api_version {api_version!r}; wrapgrad serves {', '.join(API_VERSIONS)}"
        )
    module = backend.namespace
    if module is None:
        module = backend.namespace = _build(backend)
    if api_version is None or api_version == LATEST:
        return module
    return getattr(module, _versions.view_suffix(api_version))


def _build(backend: Backend) -> types.ModuleType:
    """The newest namespace, ``wrapgrad.<backend>``, with its views of older revisions as submodules."""
    name = f"wrapgrad.{backend.name}"
    module = _build_version(backend, name, LATEST)
    for version in API_VERSIONS[:-1]:
        suffix = _versions.view_suffix(version)
        view = _build_version(backend, f"{name}.{suffix}", version)
        setattr(module, suffix, view)
        sys.modules[view.__name__] = view
    sys.modules[name] = module
    package = sys.modules["wrapgrad"]
    if not hasattr(package, backend.name):
        setattr(package, backend.name, module)
    return module


def _build_version(backend: Backend, name: str, api_version: str) -> types.ModuleType:
    xp = backend.xp
    module = types.ModuleType(
        name, f"wrapgrad's differentiable array API namespace over {xp.__name__} (standard {api_version})."
    )
    for section in _SECTIONS:
        for fname in section.__all__:
            if not fname[0].isupper():
                setattr(module, fname, getattr(section, fname))
    for fname in _EXTENSION_NAMES:  # beyond the standard: what scikit-learn and numpy users reach for
        setattr(module, fname, getattr(_extensions, fname))
    creation = _creation.Creation(backend)
    for fname in _BOUND_CREATION:
        setattr(module, fname, getattr(creation, fname))
    data_types = _data_type.DataTypeFunctions(backend)
    for fname in _BOUND_DATA_TYPE:
        setattr(module, fname, getattr(data_types, fname))
    for attr in _DTYPES + _CONSTANTS:
        if hasattr(xp, attr):
            setattr(module, attr, getattr(xp, attr))
    info = Info(backend, api_version)
    module.__array_namespace_info__ = lambda: info  # type: ignore[attr-defined]
    # The revision this namespace implements (the spec's meaning), not the backend's own.
    module.__array_api_version__ = api_version  # type: ignore[attr-defined]
    module._wrapgrad_backend = backend  # type: ignore[attr-defined]
    if hasattr(xp, "linalg"):
        module.linalg = _extension(f"{name}.linalg", linalg, linalg.__all__)  # type: ignore[attr-defined]
    if hasattr(xp, "fft"):
        fft_module = _extension(f"{name}.fft", fft, [n for n in fft.__all__ if n[0].islower()])
        frequencies = fft.FrequencyFunctions(backend)
        fft_module.fftfreq = frequencies.fftfreq  # type: ignore[attr-defined]
        fft_module.rfftfreq = frequencies.rfftfreq  # type: ignore[attr-defined]
        module.fft = fft_module  # type: ignore[attr-defined]
    # An extension beyond the standard (SciPy looks for it): every backend has it, see wrapgrad/special.py.
    module.special = _extension(f"{name}.special", special, special.__all__)  # type: ignore[attr-defined]
    if api_version != LATEST:
        _restrict_to(module, api_version)
    return module


def _restrict_to(module: types.ModuleType, api_version: str) -> None:
    """Make a namespace a view of ``api_version``: drop later names, restore the older return types."""
    for qualified in _versions.missing_names(api_version):
        owner = module
        *extension, fname = qualified.split(".")
        for part in extension:
            owner = getattr(owner, part, None)  # type: ignore[assignment]
        if owner is not None and hasattr(owner, fname):
            delattr(owner, fname)
    if api_version < "2025.12":
        module.meshgrid = _versions.meshgrid  # type: ignore[attr-defined]
        module.broadcast_arrays = _versions.broadcast_arrays  # type: ignore[attr-defined]


def _extension(name: str, source: types.ModuleType, names: Any) -> types.ModuleType:
    module = types.ModuleType(name, source.__doc__)
    for fname in names:
        setattr(module, fname, getattr(source, fname))
    sys.modules[name] = module
    return module
