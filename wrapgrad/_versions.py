"""What differs between the revisions of the standard that a wrapgrad namespace serves.

``wrapgrad.<backend>`` implements the newest revision (2025.12); ``wrapgrad.<backend>.v2024_12`` and
``wrapgrad.<backend>.v2023_12`` are views of it for code that asks ``x.__array_namespace__(api_version=...)``
for an older one. A view differs from the newest namespace only where the older text says something else:

- it lacks the names that later revisions added (:data:`ADDED`);
- ``meshgrid`` and ``broadcast_arrays`` return lists (tuples since 2025.12);
- ``__array_namespace_info__().devices()`` returns a list (a tuple since 2025.12), and 2023.12's
  ``capabilities()`` has no ``"max dimensions"`` entry;
- ``__array_api_version__`` names the view's revision.

Behaviour that a later revision only *widened* (scalar operands, tuple axes in ``expand_dims``, negative
axes in ``permute_dims``, integer-array indexing) is kept in every view: an older revision leaves those
calls unspecified, and accepting them breaks no conforming caller. The backend is never asked for a
version (jax 0.10 accepts only "2024.12"): wrapgrad implements each view itself.
"""

from __future__ import annotations

from ._apply import apply
from ._tensor import Tensor

__all__ = ["ADDED", "API_VERSIONS", "LATEST", "broadcast_arrays", "meshgrid", "missing_names", "view_suffix"]

API_VERSIONS = ("2023.12", "2024.12", "2025.12")
LATEST = API_VERSIONS[-1]

# The names each revision added (main namespace, and "linalg.*" in the extension); from the spec's stubs.
ADDED: dict[str, frozenset[str]] = {
    "2024.12": frozenset({"count_nonzero", "cumulative_prod", "diff", "nextafter", "reciprocal", "take_along_axis"}),
    "2025.12": frozenset({"broadcast_shapes", "isin", "linalg.eig", "linalg.eigvals"}),
}


def missing_names(api_version: str) -> frozenset[str]:
    """The names the newest namespace has and the ``api_version`` view lacks."""
    later = API_VERSIONS[API_VERSIONS.index(api_version) + 1 :]
    return frozenset().union(*(ADDED[v] for v in later))


def view_suffix(api_version: str) -> str:
    """The attribute and submodule name of a view: ``"2023.12"`` -> ``"v2023_12"``."""
    return "v" + api_version.replace(".", "_")


# -- the functions whose return type changed in 2025.12 ---------------------------------------------------


def broadcast_arrays(*arrays: Tensor) -> list[Tensor]:
    """``broadcast_arrays`` of the array API standard before 2025.12: returns a list."""
    return list(apply("broadcast_arrays", *arrays))


def meshgrid(*arrays: Tensor, indexing: str = "xy") -> list[Tensor]:
    """``meshgrid`` of the array API standard before 2025.12: returns a list."""
    return list(apply("meshgrid", *arrays, indexing=indexing))
