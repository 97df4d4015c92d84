"""Structured inputs for the ``linalg`` rows of the gradient table (conformance/cases.py).

Decompositions are only differentiable away from their singular sets (repeated eigenvalues or singular
values, singular or non-positive-definite matrices), so these samplers build inputs with well-separated
spectra and bounded condition numbers, and the loss helpers make eigenvector and singular-vector outputs
independent of the sign/phase gauge that the backends choose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "distinct_eigenvalues", "gauge_free", "hermitian_part", "projector", "spd", "well_conditioned",
    "with_singular_values",
]

Sampler = Callable[[np.random.Generator], list[np.ndarray]]


def _normal(rng: np.random.Generator, shape: tuple[int, ...], complex_values: bool) -> np.ndarray:
    values = rng.standard_normal(shape)
    if complex_values:
        values = values + 1j * rng.standard_normal(shape)
    return values


def _unitary(rng: np.random.Generator, batch: tuple[int, ...], n: int, complex_values: bool) -> np.ndarray:
    q, _ = np.linalg.qr(_normal(rng, (*batch, n, n), complex_values))
    return q


def _spaced(rng: np.random.Generator, batch: tuple[int, ...], k: int, low: float, high: float) -> np.ndarray:
    """k values per matrix, at least (high - low) / (2k) apart, in random order."""
    grid = np.linspace(low, high, k)
    jitter = rng.uniform(-0.25, 0.25, (*batch, k)) * (high - low) / max(k - 1, 1)
    return rng.permuted(np.broadcast_to(grid, (*batch, k)) + jitter, axis=-1)


def spd(shape: tuple[int, ...], complex_values: bool = False) -> Sampler:
    """Hermitian positive definite matrices with eigenvalues spread over [1, 4]."""

    def sample(rng: np.random.Generator) -> list[np.ndarray]:
        *batch, n, _ = shape
        q = _unitary(rng, tuple(batch), n, complex_values)
        w = _spaced(rng, tuple(batch), n, 1.0, 4.0)
        return [(q * w[..., None, :]) @ np.conj(np.swapaxes(q, -1, -2))]

    return sample


def well_conditioned(*shapes: tuple[int, ...], complex_values: bool = False) -> Sampler:
    """Square matrices (shapes ending in (n, n)): 3 I plus a perturbation of norm well below 3; other
    shapes (right-hand sides): standard normal values."""

    def sample(rng: np.random.Generator) -> list[np.ndarray]:
        out = []
        for shape in shapes:
            values = _normal(rng, shape, complex_values)
            if len(shape) >= 2 and shape[-1] == shape[-2]:
                values = 3 * np.eye(shape[-1]) + 0.5 * values / np.sqrt(shape[-1])
            out.append(values)
        return out

    return sample


def distinct_eigenvalues(shape: tuple[int, ...], complex_values: bool = False) -> Sampler:
    """Non-normal diagonalizable matrices P diag(λ) P^{-1} with well-separated eigenvalues."""

    def sample(rng: np.random.Generator) -> list[np.ndarray]:
        *batch, n, _ = shape
        p = np.eye(n) + 0.3 * _normal(rng, (*batch, n, n), complex_values)
        w = _spaced(rng, tuple(batch), n, -2.0, 2.0)
        if complex_values:
            w = w + 1j * _spaced(rng, tuple(batch), n, -1.0, 1.0)
        return [(p * w[..., None, :]) @ np.linalg.inv(p)]

    return sample


def with_singular_values(shape: tuple[int, ...], complex_values: bool = False) -> Sampler:
    """Matrices U diag(s) V^H with distinct singular values spread over [1, 3]."""

    def sample(rng: np.random.Generator) -> list[np.ndarray]:
        *batch, m, n = shape
        k = min(m, n)
        u = _unitary(rng, tuple(batch), m, complex_values)[..., :, :k]
        v = _unitary(rng, tuple(batch), n, complex_values)[..., :, :k]
        s = _spaced(rng, tuple(batch), k, 1.0, 3.0)
        return [(u * s[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))]

    return sample


# -- loss helpers, written against the array API so that the same row runs on every namespace ----------


def hermitian_part(xp: Any, x: Any) -> Any:
    """(x + x^H) / 2: backends read one triangle of a Hermitian input, so symmetrising first makes every
    finite-difference direction a Hermitian one, as the rules assume."""
    return (x + xp.conj(xp.matrix_transpose(x))) / 2


def gauge_free(xp: Any, vectors: Any) -> Any:
    """|v|²: unchanged when a column (or row) is multiplied by -1 or by e^{iφ}."""
    return xp.real(vectors * xp.conj(vectors))


def projector(xp: Any, columns: Any) -> Any:
    """C C^H: unchanged by any unitary mixing of the columns of C (a degenerate or complementary subspace)."""
    return columns @ xp.conj(xp.matrix_transpose(columns))
