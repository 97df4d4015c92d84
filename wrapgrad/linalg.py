"""The ``linalg`` extension (array API standard), differentiable.

Each wrapgrad namespace exposes these as ``xp.linalg`` when its backend has the extension. ``matmul``,
``matrix_transpose``, ``tensordot`` and ``vecdot`` are the main namespace's functions.
"""

from __future__ import annotations

from typing import Any

from ._apply import apply
from ._linear_algebra import matmul, matrix_transpose, tensordot, vecdot
from ._tensor import Tensor

__all__ = [
    "cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul", "matrix_norm",
    "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
    "tensordot", "trace", "vecdot", "vector_norm",
]


def cholesky(x: Tensor, /, *, upper: bool = False) -> Tensor:
    """``linalg.cholesky`` of the array API standard."""
    return apply("linalg.cholesky", x, upper=upper)


def cross(x1: Tensor, x2: Tensor, /, *, axis: int = -1) -> Tensor:
    """``linalg.cross`` of the array API standard."""
    return apply("linalg.cross", x1, x2, axis=axis)


def det(x: Tensor, /) -> Tensor:
    """``linalg.det`` of the array API standard."""
    return apply("linalg.det", x)


def diagonal(x: Tensor, /, *, offset: int = 0) -> Tensor:
    """``linalg.diagonal`` of the array API standard."""
    return apply("linalg.diagonal", x, offset=offset)


def eig(x: Tensor, /) -> Any:
    """``linalg.eig`` of the array API standard (2025.12): complex eigenvalues and eigenvectors."""
    return apply("linalg.eig", x)


def eigh(x: Tensor, /) -> Any:
    """``linalg.eigh`` of the array API standard: ``(eigenvalues, eigenvectors)``."""
    return apply("linalg.eigh", x)


def eigvals(x: Tensor, /) -> Tensor:
    """``linalg.eigvals`` of the array API standard (2025.12)."""
    return apply("linalg.eigvals", x)


def eigvalsh(x: Tensor, /) -> Tensor:
    """``linalg.eigvalsh`` of the array API standard."""
    return apply("linalg.eigvalsh", x)


def inv(x: Tensor, /) -> Tensor:
    """``linalg.inv`` of the array API standard."""
    return apply("linalg.inv", x)


def matrix_norm(x: Tensor, /, *, keepdims: bool = False, ord: int | float | str | None = "fro") -> Tensor:
    """``linalg.matrix_norm`` of the array API standard."""
    return apply("linalg.matrix_norm", x, keepdims=keepdims, ord=ord)


def matrix_power(x: Tensor, n: int, /) -> Tensor:
    """``linalg.matrix_power`` of the array API standard."""
    return apply("linalg.matrix_power", x, n=n)


def matrix_rank(x: Tensor, /, *, rtol: float | Tensor | None = None) -> Tensor:
    """``linalg.matrix_rank`` of the array API standard (integer result: never recorded)."""
    return apply("linalg.matrix_rank", x, rtol=rtol._data if isinstance(rtol, Tensor) else rtol)


def outer(x1: Tensor, x2: Tensor, /) -> Tensor:
    """``linalg.outer`` of the array API standard."""
    return apply("linalg.outer", x1, x2)


def pinv(x: Tensor, /, *, rtol: float | Tensor | None = None) -> Tensor:
    """``linalg.pinv`` of the array API standard."""
    return apply("linalg.pinv", x, rtol=rtol._data if isinstance(rtol, Tensor) else rtol)


def qr(x: Tensor, /, *, mode: str = "reduced") -> Any:
    """``linalg.qr`` of the array API standard: ``(Q, R)``."""
    return apply("linalg.qr", x, mode=mode)


def slogdet(x: Tensor, /) -> Any:
    """``linalg.slogdet`` of the array API standard: ``(sign, logabsdet)``; ``logabsdet`` is differentiable."""
    return apply("linalg.slogdet", x)


def solve(x1: Tensor, x2: Tensor, /) -> Tensor:
    """``linalg.solve`` of the array API standard."""
    return apply("linalg.solve", x1, x2)


def svd(x: Tensor, /, *, full_matrices: bool = True) -> Any:
    """``linalg.svd`` of the array API standard: ``(U, S, Vh)``."""
    return apply("linalg.svd", x, full_matrices=full_matrices)


def svdvals(x: Tensor, /) -> Tensor:
    """``linalg.svdvals`` of the array API standard."""
    return apply("linalg.svdvals", x)


def trace(x: Tensor, /, *, offset: int = 0, dtype: Any = None) -> Tensor:
    """``linalg.trace`` of the array API standard."""
    return apply("linalg.trace", x, offset=offset, dtype=dtype)


def vector_norm(x: Tensor, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False,
                ord: int | float = 2) -> Tensor:
    """``linalg.vector_norm`` of the array API standard; the zero vector gets the subgradient 0."""
    return apply("linalg.vector_norm", x, axis=axis, keepdims=keepdims, ord=ord)
