"""Extensions beyond the array API standard that other libraries probe a namespace for.

``median`` and ``bincount`` (scikit-learn uses them when a namespace has them, and falls back to numpy
otherwise) and ``einsum`` are attached to every wrapgrad namespace; ``wrapgrad.einsum``,
``wrapgrad.tensordot`` and ``wrapgrad.transpose`` are what opt_einsum looks up in the array's top-level
package. SciPy's real transforms (``dct``, ``idct``, ``dst``, ``idst`` and their n-D forms) take scipy.fft's
signatures: :mod:`wrapgrad.interop` serves them to scipy.fft as a backend.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from ._apply import apply
from ._tensor import Tensor

__all__ = [
    "bincount", "dct", "dctn", "dst", "dstn", "einsum", "idct", "idctn", "idst", "idstn", "median", "transpose",
]


# -- statistics scikit-learn asks for ---------------------------------------------------------------------------


def median(x: Tensor, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """The median along ``axis`` (an extension beyond the standard, numpy's ``median``).

    Differentiable: the mean of the two middle order statistics, whose cotangents are split evenly among the
    elements equal to them (as ``max`` splits ties; torch's ``median`` picks one element, jax's ``median``
    gives ties what ``sort`` gives them).
    """
    return apply("median", x, axis=axis, keepdims=keepdims)


def bincount(x: Tensor, /, weights: Tensor | None = None, minlength: int | None = 0) -> Tensor:
    """Count (or sum ``weights`` over) each non-negative integer value of 1-D ``x`` (numpy's ``bincount``; an
    extension beyond the standard).

    Differentiable in ``weights``. The length of the result, ``max(max(x) + 1, minlength)``, depends on the
    values of ``x``: under ``jax.jit`` and on lazy backends (dask) it is ``minlength``, which is then required
    (values at or past it are dropped, as jax.numpy's ``bincount(length=...)`` does).
    """
    minlength = 0 if minlength is None else operator.index(minlength)
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be non-negative, got {minlength}")
    dtype = getattr(x, "dtype", None)
    namespace = _namespace_of(x, weights)
    if dtype is None or not namespace.isdtype(dtype, "integral") or x.ndim != 1:
        raise TypeError(f"bincount: x must be a 1-D integer array, got {getattr(x, 'ndim', '?')}-D of dtype {dtype}")
    return apply("bincount", x, weights, minlength=minlength)


def _namespace_of(*arrays: Any) -> Any:
    for a in arrays:
        if isinstance(a, Tensor):
            return a.__array_namespace__()
    raise TypeError(f"expected a wrapgrad Tensor argument, got {', '.join(type(a).__name__ for a in arrays)}")


# -- einsum: composed of recorded tensordot-like steps, so every backend differentiates it (any order) ---------


def einsum(subscripts: str, /, *operands: Tensor) -> Tensor:
    """numpy's ``einsum`` in explicit (``"ij,jk->ik"``) or implicit (``"ij,jk"``) mode, with ``...``.

    An extension beyond the standard. It is built from the standard's ``permute_dims``, ``reshape``, ``take``,
    ``sum`` and ``matmul``, so it works on every backend (array-api-strict has no einsum) and its gradients and
    higher derivatives are those of the steps. The pairwise order comes from opt_einsum when it is installed,
    else left to right.
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a str, got {type(subscripts).__name__} (the interleaved "
                        f"operand/sublist form is not supported)")
    if not operands:
        raise ValueError("einsum: at least one operand is needed")
    xp = _namespace_of(*operands)
    arrays = [a if isinstance(a, Tensor) else xp.asarray(a) for a in operands]
    inputs, output = _parse_einsum(subscripts, [a.ndim for a in arrays])
    sizes: dict[str, int] = {}
    for labels, a in zip(inputs, arrays):
        for label, n in zip(labels, _shape(a)):
            known = sizes.get(label, 1)
            if known != n and known != 1 and n != 1:
                raise ValueError(f"einsum: index {label!r} has sizes {known} and {n} in {subscripts!r}")
            sizes[label] = max(known, n)
    terms = []
    for labels, a in zip(inputs, arrays):
        a, labels = _take_diagonals(xp, a, labels)
        shape = tuple(sizes[label] for label in labels)
        if tuple(a.shape) != shape:
            a = xp.broadcast_to(a, shape)
        terms.append((a, labels))
    for positions in _contraction_path(inputs, output, sizes):
        chosen = [terms[p] for p in positions]
        terms = [t for i, t in enumerate(terms) if i not in positions]
        later = set(output).union(*(labels for _, labels in terms))
        result = chosen[0]
        for k, other in enumerate(chosen[1:], 2):
            # the labels still needed after this pair: later operands', the output's, and this step's others'
            needed = later.union(*(labels for _, labels in chosen[k:]))
            left = _sum_out(xp, *result, needed | set(other[1]))
            right = _sum_out(xp, *other, needed | set(left[1]))
            result = _contract_pair(xp, left, right, needed)
        terms.append(_sum_out(xp, *result, later))
    (a, labels), = terms
    a, labels = _sum_out(xp, a, labels, set(output))
    if labels != output:
        a = xp.permute_dims(a, tuple(labels.index(label) for label in output))
    return a


def _parse_einsum(subscripts: str, ndims: list[int]) -> tuple[list[list[str]], list[str]]:
    """The labels of each operand and of the output, with ``...`` expanded into labels of its own."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, but {len(ndims)} were given")
    letters = [c for c in spec if c.isalpha()]
    if any(not (c.isalpha() or c in ",.->") for c in spec):
        raise ValueError(f"einsum: invalid subscripts {subscripts!r}")
    ellipsis_dims = 0
    for term, ndim in zip(terms, ndims):
        if "..." in term:
            ellipsis_dims = max(ellipsis_dims, ndim - (len(term) - 3))
    # Labels for the broadcast dimensions: characters that are not letters, so they never clash.
    broadcast = [chr(0x2460 + i) for i in range(ellipsis_dims)]
    inputs = []
    for term, ndim in zip(terms, ndims):
        if "..." in term:
            before, _, after = term.partition("...")
            count = ndim - len(before) - len(after)
            labels = [*before, *broadcast[ellipsis_dims - count:], *after]
        else:
            labels = list(term)
        if len(labels) != ndim or any(c == "." for c in labels):
            raise ValueError(f"einsum: {term!r} in {subscripts!r} does not match an operand with {ndim} dimensions")
        inputs.append(labels)
    if arrow:
        if "..." in rhs:
            before, _, after = rhs.partition("...")
            output = [*before, *broadcast, *after]
        else:
            output = list(rhs)
        unknown = [c for c in output if c not in set().union(*inputs)]
        if unknown or len(set(output)) != len(output):
            raise ValueError(f"einsum: invalid output subscripts in {subscripts!r}")
    else:
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        output = [*broadcast, *once]
    return inputs, output


def _take_diagonals(xp: Any, a: Tensor, labels: list[str]) -> tuple[Tensor, list[str]]:
    """Take the diagonal over every label an operand repeats (``"ii->i"``)."""
    labels = list(labels)
    while len(set(labels)) != len(labels):
        label = next(c for c in labels if labels.count(c) > 1)
        i = labels.index(label)
        j = labels.index(label, i + 1)
        others = [k for k in range(len(labels)) if k not in (i, j)]
        n = _shape(a)[i]
        moved = xp.permute_dims(a, (*others, i, j))
        flat = xp.reshape(moved, (*(_shape(a)[k] for k in others), n * n))
        a = xp.take(flat, xp.arange(n, device=a.device) * (n + 1), axis=-1)
        labels = [*(labels[k] for k in others), label]
    return a, labels


def _shape(a: Tensor) -> tuple[int, ...]:
    """The static shape (einsum needs every size; a lazy array's unknown size is an error here)."""
    if any(n is None for n in a.shape):
        raise ValueError(f"einsum: an operand has an unknown size in its shape {a.shape}")
    return tuple(int(n) for n in a.shape)  # type: ignore[arg-type]


def _sum_out(xp: Any, a: Tensor, labels: list[str], keep: set[str]) -> tuple[Tensor, list[str]]:
    """Sum over the labels that nothing later needs."""
    axes = tuple(i for i, label in enumerate(labels) if label not in keep)
    if not axes:
        return a, labels
    return xp.sum(a, axis=axes), [label for label in labels if label in keep]


def _contract_pair(xp: Any, left: tuple[Tensor, list[str]], right: tuple[Tensor, list[str]],
                   keep: set[str]) -> tuple[Tensor, list[str]]:
    """One pairwise step as a batched matmul: (batch, free left, summed) @ (batch, summed, free right)."""
    a, la = left
    b, lb = right
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    free_a = [c for c in la if c not in lb]
    free_b = [c for c in lb if c not in la]
    size: dict[str, int] = dict(zip(la, _shape(a))) | dict(zip(lb, _shape(b)))

    def prod(labels: list[str]) -> int:
        out = 1
        for c in labels:
            out *= size[c]
        return out

    a3 = xp.reshape(xp.permute_dims(a, tuple(la.index(c) for c in (*batch, *free_a, *summed))),
                    (prod(batch), prod(free_a), prod(summed)))
    b3 = xp.reshape(xp.permute_dims(b, tuple(lb.index(c) for c in (*batch, *summed, *free_b))),
                    (prod(batch), prod(summed), prod(free_b)))
    out = xp.reshape(xp.matmul(a3, b3), tuple(size[c] for c in (*batch, *free_a, *free_b)))
    return out, [*batch, *free_a, *free_b]


def _contraction_path(inputs: list[list[str]], output: list[str], sizes: dict[str, int]) -> list[tuple[int, ...]]:
    """Which operands to contract at each step (positions in the shrinking list; results go last)."""
    n = len(inputs)
    if n <= 2:
        return [tuple(range(n))]
    try:
        import opt_einsum  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return [(0, 1)] * (n - 1)
    # opt_einsum wants letters: relabel the broadcast dimensions.
    alphabet = {c: opt_einsum.get_symbol(i) for i, c in enumerate(sorted(set().union(*inputs, output)))}
    spec = ",".join("".join(alphabet[c] for c in labels) for labels in inputs)
    spec += "->" + "".join(alphabet[c] for c in output)
    shapes = [tuple(sizes[c] for c in labels) for labels in inputs]
    path, _ = opt_einsum.contract_path(spec, *shapes, shapes=True)
    return [tuple(step) for step in path]


def transpose(x: Tensor, /, axes: Sequence[int] | None = None) -> Tensor:
    """numpy's ``transpose``: ``permute_dims``, reversing the axes by default (what opt_einsum calls)."""
    order = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
    return x.__array_namespace__().permute_dims(x, order)


# -- scipy.fft's real transforms, with scipy.fft's signatures ----------------------------------------------------


def _fit_length(x: Tensor, n: int | None, axis: int) -> Tensor:
    """``x`` cropped or zero-padded to length ``n`` along ``axis``, as scipy.fft does."""
    length = x.shape[axis]
    if n is None or n == length:
        return x
    if n < 1 or length is None:
        raise ValueError(f"invalid number of data points ({n}) specified")
    xp = x.__array_namespace__()
    axis %= x.ndim
    if n < length:
        return x[(slice(None),) * axis + (slice(0, n), Ellipsis)]
    shape = list(x.shape)
    shape[axis] = n - length
    return xp.concat([x, xp.zeros(tuple(shape), dtype=x.dtype, device=x.device)], axis=axis)


def _transform(name: str, x: Tensor, type: int, n: int | None, axis: int, norm: str | None,
               orthogonalize: bool | None) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a wrapgrad Tensor, got {x.__class__.__name__}")
    xp = x.__array_namespace__()
    if not xp.isdtype(x.dtype, ("real floating", "complex floating")):
        x = xp.astype(x, xp.float64 if xp.isdtype(x.dtype, "integral") else x.dtype)
    return apply(name, _fit_length(x, n, axis), type=type, axis=axis, norm=norm, orthogonalize=orthogonalize)


def _transform_n(name: str, x: Tensor, type: int, s: Sequence[int] | int | None, axes: Sequence[int] | int | None,
                 norm: str | None, orthogonalize: bool | None) -> Tensor:
    sizes = (s,) if isinstance(s, int) else None if s is None else tuple(s)
    axis_list = (axes,) if isinstance(axes, int) else None if axes is None else tuple(axes)
    if axis_list is None:
        axis_list = tuple(range(x.ndim)) if sizes is None else tuple(range(-len(sizes), 0))
    if sizes is None:
        sizes = (None,) * len(axis_list)  # type: ignore[assignment]
    if len(sizes) != len(axis_list):  # type: ignore[arg-type]
        raise ValueError(f"{name}n: when given, axes and shape arguments have to be of the same length")
    for axis, n in zip(axis_list, sizes):  # type: ignore[arg-type]
        x = _transform(name, x, type, n, axis, norm, orthogonalize)
    return x


def dct(x: Tensor, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None,
        overwrite_x: bool = False, workers: int | None = None, orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.dct`` on a Tensor, differentiable (``overwrite_x`` and ``workers`` are accepted and ignored)."""
    return _transform("dct", x, type, n, axis, norm, orthogonalize)


def idct(x: Tensor, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None,
         overwrite_x: bool = False, workers: int | None = None, orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.idct`` on a Tensor, differentiable."""
    return _transform("idct", x, type, n, axis, norm, orthogonalize)


def dst(x: Tensor, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None,
        overwrite_x: bool = False, workers: int | None = None, orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.dst`` on a Tensor, differentiable."""
    return _transform("dst", x, type, n, axis, norm, orthogonalize)


def idst(x: Tensor, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None,
         overwrite_x: bool = False, workers: int | None = None, orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.idst`` on a Tensor, differentiable."""
    return _transform("idst", x, type, n, axis, norm, orthogonalize)


def dctn(x: Tensor, type: int = 2, s: Sequence[int] | int | None = None, axes: Sequence[int] | int | None = None,
         norm: str | None = None, overwrite_x: bool = False, workers: int | None = None, *,
         orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.dctn`` on a Tensor: one ``dct`` per axis, differentiable."""
    return _transform_n("dct", x, type, s, axes, norm, orthogonalize)


def idctn(x: Tensor, type: int = 2, s: Sequence[int] | int | None = None, axes: Sequence[int] | int | None = None,
          norm: str | None = None, overwrite_x: bool = False, workers: int | None = None, *,
          orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.idctn`` on a Tensor, differentiable."""
    return _transform_n("idct", x, type, s, axes, norm, orthogonalize)


def dstn(x: Tensor, type: int = 2, s: Sequence[int] | int | None = None, axes: Sequence[int] | int | None = None,
         norm: str | None = None, overwrite_x: bool = False, workers: int | None = None,
         orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.dstn`` on a Tensor, differentiable."""
    return _transform_n("dst", x, type, s, axes, norm, orthogonalize)


def idstn(x: Tensor, type: int = 2, s: Sequence[int] | int | None = None, axes: Sequence[int] | int | None = None,
          norm: str | None = None, overwrite_x: bool = False, workers: int | None = None, *,
          orthogonalize: bool | None = None) -> Tensor:
    """``scipy.fft.idstn`` on a Tensor, differentiable."""
    return _transform_n("idst", x, type, s, axes, norm, orthogonalize)
