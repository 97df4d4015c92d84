"""Inspection (array API standard, "Inspection"): ``__array_namespace_info__()``."""

from __future__ import annotations

from typing import Any

from ._backend import Backend

__all__ = ["Info"]


class Info:
    """What ``__array_namespace_info__()`` returns: the backend's answers, in the form of ``api_version``
    (2025.12 unless a view of an older revision asks)."""

    def __init__(self, backend: Backend, api_version: str = "2025.12") -> None:
        self._info = backend.xp.__array_namespace_info__()
        self._api_version = api_version

    def capabilities(self) -> dict[str, Any]:
        """``capabilities`` of the array API standard: the backend's own ("max dimensions" since 2024.12)."""
        capabilities = dict(self._info.capabilities())
        if self._api_version < "2024.12":
            capabilities.pop("max dimensions", None)
        return capabilities

    def default_device(self) -> Any:
        """``default_device`` of the array API standard."""
        return self._info.default_device()

    def default_dtypes(self, *, device: Any = None) -> dict[str, Any]:
        """``default_dtypes`` of the array API standard."""
        return dict(self._info.default_dtypes(device=device))

    def devices(self) -> tuple[Any, ...] | list[Any]:
        """``devices`` of the array API standard (a tuple since 2025.12, a list before)."""
        devices = tuple(self._info.devices())
        return devices if self._api_version >= "2025.12" else list(devices)

    def dtypes(self, *, device: Any = None, kind: str | tuple[str, ...] | None = None) -> dict[str, Any]:
        """``dtypes`` of the array API standard."""
        return dict(self._info.dtypes(device=device, kind=kind))
