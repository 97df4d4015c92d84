"""Shared fixtures: every backend through one fixture, hypothesis profiles, jax in float64."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

# SciPy dispatches to the array API (and so to wrapgrad's namespaces) only when this is set before SciPy is
# first imported; set it here, before any test module imports scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest
from hypothesis import HealthCheck, settings

# `ci`: derandomized, so CI is reproducible; `thorough`: many more examples, for a local run.
settings.register_profile("ci", derandomize=True, max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKENDS = ("numpy", "array_api_strict", "jax")


def load_backend(name: str) -> tuple[ModuleType, ModuleType]:
    """(wrapgrad namespace, raw backend namespace) for a backend name; skips when it is not installed."""
    if name == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as raw
    elif name == "array_api_strict":
        raw = pytest.importorskip("array_api_strict")
    else:
        import array_api_compat.numpy as raw
    return importlib.import_module(f"wrapgrad.{name}"), raw


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of each backend in turn."""
    load_backend(request.param)
    return str(request.param)


@pytest.fixture
def xp(backend: str) -> ModuleType:
    """wrapgrad's namespace over each backend in turn."""
    return load_backend(backend)[0]


@pytest.fixture
def raw_xp(backend: str) -> ModuleType:
    """The raw backend namespace that `xp` wraps."""
    return load_backend(backend)[1]
