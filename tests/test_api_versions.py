"""The revisions of the standard: ``wrapgrad.<backend>`` is 2025.12, with views of 2024.12 and 2023.12.

The names each view must have come from the spec's own stubs (conformance/spec_table.py, generated), so
these tests check wrapgrad's table of additions (``_versions.ADDED``) against an independent source.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance.spec_table import NAMES

VERSIONS = ("2023.12", "2024.12", "2025.12")
_INFO_METHODS = ("capabilities", "default_device", "default_dtypes", "devices", "dtypes")


def _defined(ns, qualified: str) -> bool:
    if qualified in _INFO_METHODS:
        return hasattr(ns.__array_namespace_info__(), qualified)
    owner = ns
    *extension, name = qualified.split(".")
    for part in extension:
        owner = getattr(owner, part, None)
        if owner is None:
            return False
    return hasattr(owner, name)


@pytest.mark.parametrize("version", VERSIONS)
def test_each_view_has_exactly_its_revisions_names(xp, version) -> None:
    view = xp.ones(1).__array_namespace__(api_version=version)
    assert view.__array_api_version__ == version  # the revision the namespace implements (spec: versioning)
    expected = set(NAMES[version])
    later = set(NAMES["2025.12"]) - expected
    assert sorted(n for n in expected if not _defined(view, n)) == []
    assert sorted(n for n in later if _defined(view, n)) == []


def test_newest_view_is_the_namespace_itself(xp) -> None:
    assert xp.__array_api_version__ == "2025.12"
    assert xp.ones(1).__array_namespace__() is xp
    assert xp.ones(1).__array_namespace__(api_version="2025.12") is xp


@pytest.mark.parametrize("version", ["2023.12", "2024.12"])
def test_views_are_submodules_in_sys_modules(xp, backend, version) -> None:
    view = xp.ones(1).__array_namespace__(api_version=version)
    suffix = "v" + version.replace(".", "_")
    assert view.__name__ == f"wrapgrad.{backend}.{suffix}"
    assert sys.modules[view.__name__] is view
    assert getattr(xp, suffix) is view


def test_wrapgrad_namespace_takes_api_version(backend, raw_xp, xp) -> None:
    import wrapgrad

    assert wrapgrad.namespace(raw_xp, api_version="2023.12") is xp.v2023_12
    with pytest.raises(ValueError, match=r"wrapgrad serves 2023\.12, 2024\.12, 2025\.12"):
        wrapgrad.namespace(raw_xp, api_version="2022.12")


@pytest.mark.parametrize("version", ["2023.12", "2024.12"])
def test_older_views_return_lists(xp, version) -> None:
    view = xp.ones(1).__array_namespace__(api_version=version)
    a, b = view.asarray([1.0, 2.0], requires_grad=True), view.asarray([3.0, 4.0, 5.0])
    grids = view.meshgrid(a, b)
    assert type(grids) is list and len(grids) == 2
    assert type(view.broadcast_arrays(a, view.ones((3, 1)))) is list
    assert type(view.__array_namespace_info__().devices()) is list
    # still differentiable: each of a's entries appears len(b) times in the first grid
    view.sum(grids[0]).backward()
    assert [float(v) for v in a.grad] == [3.0, 3.0]


def test_newest_returns_tuples(xp) -> None:
    a = xp.asarray([1.0, 2.0])
    assert type(xp.meshgrid(a, a)) is tuple
    assert type(xp.broadcast_arrays(a, a)) is tuple
    assert type(xp.__array_namespace_info__().devices()) is tuple


def test_capabilities_follow_the_view(xp) -> None:
    if "max dimensions" not in xp.__array_namespace_info__().capabilities():
        pytest.skip("the backend reports no 'max dimensions'")
    assert "max dimensions" in xp.v2024_12.__array_namespace_info__().capabilities()
    assert "max dimensions" not in xp.v2023_12.__array_namespace_info__().capabilities()


def test_import_of_a_view_in_a_fresh_process() -> None:
    code = (
        "import wrapgrad.numpy.v2023_12 as old, wrapgrad.numpy as new; "
        "print(old.__array_api_version__, new.__array_api_version__, old is new.v2023_12)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2023.12", "2025.12", "True"]


def test_the_backend_is_never_asked_for_a_version() -> None:
    # jax 0.10's namespace accepts only api_version="2024.12": a 2023.12 view over jax must still work.
    pytest.importorskip("jax")
    import wrapgrad.jax as xp

    old = xp.ones(2).__array_namespace__(api_version="2023.12")
    assert old.__array_api_version__ == "2023.12"
    x = old.asarray([1.0, 2.0], requires_grad=True)
    old.sum(old.meshgrid(x, old.ones(3))[0]).backward()
    assert [float(v) for v in x.grad] == [3.0, 3.0]
