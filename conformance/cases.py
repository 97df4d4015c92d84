"""The gradient cases: one row per differentiable use of a spec name.

Used by ``tests/`` (every row, on every backend) and by the gradient matrix of ``python -m conformance``.
A row says how to call the function (``fn(xp, *arrays)``, written against the array API only, so the
same row runs on a wrapgrad namespace, on the raw backend and on ``jax.numpy`` for ``jax.vjp``), the
shapes of its array inputs, and where to draw their values from (a ``domain`` interval, or a
``sampler`` for structured inputs such as symmetric positive definite matrices). Kinks and ties are
kept out of random draws (the domains avoid them); the conventions at kinks are tested on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance import linalg_inputs as li

__all__ = ["CASES", "Case", "cases_by_name"]

Sampler = Callable[[np.random.Generator], list[np.ndarray]]

# Element-wise functions of the standard: their cases also run on drawn broadcasting shapes.
ELEMENTWISE = frozenset(
    "abs acos acosh add asin asinh atan atan2 atanh ceil clip conj copysign cos cosh divide exp expm1 floor "
    "floor_divide hypot imag log log1p log2 log10 logaddexp maximum minimum multiply negative nextafter positive "
    "pow real reciprocal remainder round sign sin sinh square sqrt subtract tan tanh trunc".split()
)


@dataclass(frozen=True)
class Case:
    """One gradient check: call ``fn(xp, *arrays)`` at inputs drawn as described."""

    name: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...] = ((3, 4),)
    domain: tuple[float, float] = (-2.0, 2.0)
    complex: bool = False  # also check with complex inputs
    label: str = ""
    sampler: Sampler | None = None
    # Which inputs are differentiable (the others are passed as constants: integer indices, conditions).
    wrt: tuple[int, ...] | None = None
    # Some backends lack a function or disagree on its domain: skip them here, with the reason.
    skip: dict[str, str] = field(default_factory=dict)
    jax_reference: bool = True  # jax has this function with the same conventions
    # gradcheck's eps/atol/rtol, where the defaults do not fit (a float32 step in the middle)
    tolerance: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}[{self.label}]" if self.label else self.name

    @property
    def broadcastable(self) -> bool:
        """An element-wise case with drawn values: any mutually broadcastable shapes (0-D too) will do."""
        return self.sampler is None and self.name in ELEMENTWISE and not self.label

    def draw(self, rng: np.random.Generator, complex_inputs: bool = False,
             shapes: Sequence[tuple[int, ...]] | None = None) -> list[np.ndarray]:
        """Input values as float64 (or complex128) numpy arrays, of ``shapes`` if given."""
        if self.sampler is not None:
            return self.sampler(rng)
        low, high = self.domain
        arrays = []
        for shape in self.shapes if shapes is None else shapes:
            values = rng.uniform(low, high, shape)
            if complex_inputs:
                values = values + 1j * rng.uniform(low, high, shape)
            arrays.append(values)
        return arrays


_DASK_UNKNOWN_SIZE = {"dask": "unknown result size on dask: a clear error when recorded (tests/test_dask.py)"}


def _positive(low: float = 0.2, high: float = 2.0) -> tuple[float, float]:
    return (low, high)


UNARY_SHAPES = ((3, 4),)
BINARY_SHAPES = ((3, 4), (4,))  # the second operand broadcasts
FLOAT_PAIR_NO_TIES = ((3, 4), (3, 4))


def _distinct(*shapes: tuple[int, ...]) -> Sampler:
    """Values drawn without ties (for max/min/maximum/sort): a shuffled grid with gaps of 0.1."""

    def sample(rng: np.random.Generator) -> list[np.ndarray]:
        total = sum(int(np.prod(s)) for s in shapes)
        values = rng.permutation(np.arange(total) * 0.1 - total * 0.05)
        out, start = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(values[start : start + n].reshape(s))
            start += n
        return out

    return sample


CASES: list[Case] = [
    # -- element-wise ----------------------------------------------------------------------------------
    Case("abs", lambda xp, x: xp.abs(x), domain=(0.1, 2.0), label="positive", complex=True),
    Case("abs", lambda xp, x: xp.abs(x), domain=(-2.0, -0.1), label="negative"),
    Case("acos", lambda xp, x: xp.acos(x), domain=(-0.9, 0.9), complex=True),
    Case("acosh", lambda xp, x: xp.acosh(x), domain=(1.2, 3.0), complex=True),
    Case("add", lambda xp, x1, x2: xp.add(x1, x2), BINARY_SHAPES, complex=True),
    Case("add", lambda xp, x1: x1 + 2.5, label="scalar"),
    Case("add", lambda xp, x1: 2.5 + x1, label="reflected"),
    Case("asin", lambda xp, x: xp.asin(x), domain=(-0.9, 0.9), complex=True),
    Case("asinh", lambda xp, x: xp.asinh(x), complex=True),
    Case("atan", lambda xp, x: xp.atan(x), complex=True),
    Case("atan2", lambda xp, x1, x2: xp.atan2(x1, x2), BINARY_SHAPES, domain=(0.2, 2.0)),
    Case("atanh", lambda xp, x: xp.atanh(x), domain=(-0.9, 0.9), complex=True),
    Case("ceil", lambda xp, x: xp.ceil(x) * x, label="times_x", domain=(0.1, 0.9)),
    Case("clip", lambda xp, x: xp.clip(x, -1.0, 1.0), label="scalar_bounds", sampler=_distinct((3, 4))),
    Case(
        "clip",
        lambda xp, x, lo, hi: xp.clip(x, lo, hi),
        ((3, 4), (4,), (4,)),
        label="array_bounds",
        sampler=lambda rng: [
            rng.uniform(-2, 2, (3, 4)),
            rng.uniform(-1.5, -0.05, (4,)) * np.array([1, 1, 1, 30]),
            rng.uniform(0.05, 1.5, (4,)),
        ],
    ),
    Case("conj", lambda xp, x: xp.conj(x) * x, complex=True),
    Case(
        "copysign",
        lambda xp, x1, x2: xp.copysign(x1, x2),
        BINARY_SHAPES,
        sampler=lambda rng: [
            rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4)),
            rng.uniform(0.1, 2, (4,)) * rng.choice([-1, 1], 4),
        ],
    ),
    Case("cos", lambda xp, x: xp.cos(x), complex=True),
    Case("cosh", lambda xp, x: xp.cosh(x), complex=True),
    Case("divide", lambda xp, x1, x2: xp.divide(x1, x2), BINARY_SHAPES, domain=(0.5, 2.0), complex=True),
    Case("divide", lambda xp, x1: 1.5 / x1, label="reflected", domain=(0.5, 2.0)),
    Case("exp", lambda xp, x: xp.exp(x), complex=True),
    Case("expm1", lambda xp, x: xp.expm1(x), complex=True),
    Case("floor", lambda xp, x: xp.floor(x) * x, label="times_x", domain=(0.1, 0.9)),
    Case(
        "floor_divide",
        lambda xp, x1, x2: xp.floor_divide(x1, x2) * x1,
        FLOAT_PAIR_NO_TIES,
        domain=(1.1, 1.9),
        label="times_x1",
    ),
    Case("hypot", lambda xp, x1, x2: xp.hypot(x1, x2), BINARY_SHAPES),
    Case(
        "imag",
        lambda xp, x: xp.imag(x) * xp.real(x),
        complex=True,
        label="complex_only",
        sampler=lambda rng: [rng.uniform(-2, 2, (3, 4)) + 1j * rng.uniform(-2, 2, (3, 4))],
    ),
    Case("log", lambda xp, x: xp.log(x), domain=_positive(), complex=True),
    Case("log1p", lambda xp, x: xp.log1p(x), domain=(-0.5, 2.0), complex=True),
    Case("log2", lambda xp, x: xp.log2(x), domain=_positive(), complex=True),
    Case("log10", lambda xp, x: xp.log10(x), domain=_positive(), complex=True),
    Case("logaddexp", lambda xp, x1, x2: xp.logaddexp(x1, x2), BINARY_SHAPES),
    Case("maximum", lambda xp, x1, x2: xp.maximum(x1, x2), FLOAT_PAIR_NO_TIES, sampler=_distinct((3, 4), (3, 4))),
    Case("minimum", lambda xp, x1, x2: xp.minimum(x1, x2), FLOAT_PAIR_NO_TIES, sampler=_distinct((3, 4), (3, 4))),
    Case("multiply", lambda xp, x1, x2: xp.multiply(x1, x2), BINARY_SHAPES, complex=True),
    Case("negative", lambda xp, x: -x, complex=True),
    Case("nextafter", lambda xp, x1, x2: xp.nextafter(x1, x2), FLOAT_PAIR_NO_TIES, jax_reference=False),
    Case("positive", lambda xp, x: +x, complex=True, jax_reference=True),
    Case("pow", lambda xp, x1, x2: xp.pow(x1, x2), BINARY_SHAPES, domain=(0.5, 2.0), complex=True),
    Case("pow", lambda xp, x: x**3, label="integer_exponent", complex=True),
    Case("pow", lambda xp, x: 2.0**x, label="reflected"),
    Case(
        "real",
        lambda xp, x: xp.real(x) * xp.imag(x),
        complex=True,
        label="complex_only",
        sampler=lambda rng: [rng.uniform(-2, 2, (3, 4)) + 1j * rng.uniform(-2, 2, (3, 4))],
    ),
    Case("reciprocal", lambda xp, x: xp.reciprocal(x), domain=(0.5, 2.0), complex=True),
    Case(
        "remainder",
        lambda xp, x1, x2: xp.remainder(x1, x2),
        FLOAT_PAIR_NO_TIES,
        sampler=lambda rng: [rng.uniform(0.1, 0.9, (3, 4)) + rng.integers(0, 3, (3, 4)) * 1.5, np.full((3, 4), 1.5)],
    ),
    Case("round", lambda xp, x: xp.round(x) * x, label="times_x", domain=(0.1, 0.4)),
    Case("sign", lambda xp, x: xp.sign(x) * x, label="times_x", domain=(0.1, 2.0)),
    Case(
        "sign",
        lambda xp, x: xp.sign(x),
        label="complex",
        complex=True,
        jax_reference=False,
        sampler=lambda rng: [rng.uniform(0.2, 2, (3, 4)) + 1j * rng.uniform(0.2, 2, (3, 4))],
    ),
    Case("sin", lambda xp, x: xp.sin(x), complex=True),
    Case("sinh", lambda xp, x: xp.sinh(x), complex=True),
    Case("square", lambda xp, x: xp.square(x), complex=True),
    Case("sqrt", lambda xp, x: xp.sqrt(x), domain=_positive(), complex=True),
    Case("subtract", lambda xp, x1, x2: xp.subtract(x1, x2), BINARY_SHAPES, complex=True),
    Case("subtract", lambda xp, x1: 2.5 - x1, label="reflected"),
    Case("tan", lambda xp, x: xp.tan(x), domain=(-1.2, 1.2), complex=True),
    Case("tanh", lambda xp, x: xp.tanh(x), complex=True),
    Case("trunc", lambda xp, x: xp.trunc(x) * x, label="times_x", domain=(0.1, 0.9)),
    # -- creation ----------------------------------------------------------------------------------------
    Case("asarray", lambda xp, x: xp.asarray(x, copy=True) * x),
    Case("tril", lambda xp, x: xp.tril(x, k=1), ((4, 4),)),
    Case("triu", lambda xp, x: xp.triu(x, k=-1), ((2, 4, 4),)),
    # -- data types ------------------------------------------------------------------------------------
    Case(
        "astype",
        lambda xp, x: xp.astype(x, xp.float32) * 1.0,
        label="to_float32",
        tolerance={"eps": 1e-3, "atol": 1e-4, "rtol": 1e-3},
    ),
    Case("astype", lambda xp, x: xp.real(xp.astype(x, xp.complex128) * (1 + 2j)), label="to_complex"),
    # -- indexing functions (take, take_along_axis) -----------------------------------------------------
    # Repeated indices: their cotangents must add up (a scatter that keeps one of them shows here).
    Case(
        "take",
        lambda xp, x: xp.take(x, xp.asarray([0, 2, 2, 1, 2]), axis=1),
        label="axis1_duplicates",
        complex=True,
    ),
    Case("take", lambda xp, x: xp.take(x, xp.asarray([4, 0, 4, 4])), ((5,),), label="1d_duplicates"),
    Case("take", lambda xp, x: xp.take(x, xp.asarray([1, 1]), axis=-2), ((3, 2, 2),), label="axis-2"),
    Case(
        "take_along_axis",
        lambda xp, x: xp.take_along_axis(x, xp.asarray([[0, 0, 3], [1, 2, 1], [3, 3, 3]]), axis=1),
        label="axis1_duplicates",
        complex=True,
    ),
    Case(
        "take_along_axis",
        lambda xp, x: xp.take_along_axis(x, xp.asarray([[2, 0, 2, 2], [2, 2, 1, 0]]), axis=0),
        label="axis0_duplicates",
    ),
    # -- indexing (the array object) -------------------------------------------------------------------
    Case("__getitem__", lambda xp, x: x[1:, ::2], label="basic", shapes=((4, 5),)),
    Case("__getitem__", lambda xp, x: x[..., None, 0], label="ellipsis_newaxis", shapes=((4, 5),)),
    Case(
        "__getitem__",
        lambda xp, x: x[xp.asarray([0, 2, 0, 0]), xp.asarray([1, 1, 1, 3])],
        label="integer_array_duplicates",
        shapes=((4, 5),),
    ),
    Case("__getitem__", lambda xp, x: x[xp.asarray([[2, 0], [2, 2]])], label="integer_array_1d", shapes=((4,),)),
    Case("__getitem__", lambda xp, x: x[x > 0.5], label="boolean_mask", shapes=((4, 5),), jax_reference=False),
    Case("__setitem__", lambda xp, x, v: _setitem(xp, x, v), ((4, 5), (5,)), label="row"),
    # -- linear algebra ------------------------------------------------------------------------------
    Case("matmul", lambda xp, x1, x2: x1 @ x2, ((2, 3, 4), (4, 5)), complex=True),
    Case("matmul", lambda xp, x1, x2: xp.matmul(x1, x2), ((4,), (3, 4, 5)), label="vector_matrix"),
    Case("matmul", lambda xp, x1, x2: xp.matmul(x1, x2), ((3, 4), (4,)), label="matrix_vector"),
    Case("matmul", lambda xp, x1, x2: xp.matmul(x1, x2), ((4,), (4,)), label="vector_vector", complex=True),
    Case("matrix_transpose", lambda xp, x: xp.matrix_transpose(x), ((2, 3, 4),)),
    Case("vecdot", lambda xp, x1, x2: xp.vecdot(x1, x2), ((3, 4), (4,)), complex=True),
    Case("vecdot", lambda xp, x1, x2: xp.vecdot(x1, x2, axis=-2), ((4, 3), (4, 3)), label="axis-2"),
    # -- manipulation ----------------------------------------------------------------------------------
    Case("broadcast_to", lambda xp, x: xp.broadcast_to(x, (2, 3, 4)), ((3, 1),)),
    Case("concat", lambda xp, x1, x2: xp.concat([x1, x2], axis=1), ((3, 2), (3, 4))),
    Case("concat", lambda xp, x1, x2: xp.concat((x1, x2), axis=None), ((3, 2), (4,)), label="flat"),
    Case("expand_dims", lambda xp, x: xp.expand_dims(x, axis=1), ((3, 4),)),
    Case("permute_dims", lambda xp, x: xp.permute_dims(x, (2, 0, 1)), ((2, 3, 4),)),
    Case("reshape", lambda xp, x: xp.reshape(x, (4, 3)), ((3, 4),)),
    Case("squeeze", lambda xp, x: xp.squeeze(x, axis=1), ((3, 1, 4),)),
    Case("stack", lambda xp, x1, x2: xp.stack([x1, x2], axis=1), ((3, 4), (3, 4))),
    # -- manipulation (flip, moveaxis, repeat, roll, tile, unstack, broadcast_arrays) ---------------------
    Case("broadcast_arrays", lambda xp, x1, x2: xp.broadcast_arrays(x1, x2), ((3, 1), (4,))),
    Case(
        "broadcast_arrays",
        lambda xp, x1, x2: xp.broadcast_arrays(x1, x2)[1] * 2.0,
        ((3, 1), (2, 1, 4)),
        label="one_output_used",
        wrt=(1,),  # x1 stays constant: its output's cotangent slot is None
    ),
    Case("flip", lambda xp, x: xp.flip(x), ((2, 3, 4),), complex=True),
    Case("flip", lambda xp, x: xp.flip(x, axis=(0, -1)), ((2, 3, 4),), label="tuple_axis"),
    Case("meshgrid", lambda xp, x1, x2, x3: xp.meshgrid(x1, x2, x3), ((2,), (3,), (4,)), label="xy"),
    Case(
        "meshgrid",
        lambda xp, x1, x2: xp.meshgrid(x1, x2, indexing="ij"),
        ((2,), (3,)),
        label="ij",
        complex=True,
    ),
    Case(
        "meshgrid",
        lambda xp, x1, x2: xp.meshgrid(x1, x2)[0] * 2.0,
        ((2,), (3,)),
        label="one_output_used",
        wrt=(0,),  # x2 stays constant: the second output's cotangent slot is None
    ),
    Case("meshgrid", lambda xp, x: xp.meshgrid(x), ((3,),), label="single"),
    Case("moveaxis", lambda xp, x: xp.moveaxis(x, 0, -1), ((2, 3, 4),)),
    Case("moveaxis", lambda xp, x: xp.moveaxis(x, (0, 1), (2, 0)), ((2, 3, 4),), label="tuple"),
    Case("repeat", lambda xp, x: xp.repeat(x, 3, axis=1), ((2, 3),), complex=True),
    Case("repeat", lambda xp, x: xp.repeat(x, 2), ((2, 3),), label="flatten"),
    Case(
        "repeat",
        lambda xp, x: xp.repeat(x, xp.asarray([2, 0, 3]), axis=0),
        ((3, 2),),
        label="array_repeats",
    ),
    Case(
        "repeat",
        lambda xp, x: xp.repeat(x, xp.asarray([1, 4, 2, 1, 0, 1])),
        ((2, 3),),
        label="array_flatten",
    ),
    Case("roll", lambda xp, x: xp.roll(x, 2), ((3, 4),), complex=True),
    Case("roll", lambda xp, x: xp.roll(x, (1, -2), axis=(0, 2)), ((2, 3, 4),), label="tuple"),
    Case("roll", lambda xp, x: xp.roll(x, -1, axis=1), ((3, 4),), label="axis"),
    Case("tile", lambda xp, x: xp.tile(x, (2, 3)), ((3, 4),), complex=True),
    Case("tile", lambda xp, x: xp.tile(x, (2, 1, 3)), ((3, 4),), label="more_reps"),
    Case("tile", lambda xp, x: xp.tile(x, (2,)), ((2, 3, 4),), label="fewer_reps"),
    Case("unstack", lambda xp, x: xp.unstack(x, axis=1), ((3, 4),), complex=True),
    Case("unstack", lambda xp, x: xp.unstack(x)[2] * 3.0, ((4, 2),), label="one_output_used"),
    # -- searching -------------------------------------------------------------------------------------
    Case("where", lambda xp, x1, x2: xp.where(x1 > 0, x1, x2), ((3, 4), (4,)), complex=False),
    Case("where", lambda xp, x1: xp.where(x1 > 0, x1, 0.0), label="scalar_branch"),
    # -- statistical -----------------------------------------------------------------------------------
    Case("max", lambda xp, x: xp.max(x, axis=1), sampler=_distinct((3, 4))),
    Case("max", lambda xp, x: xp.max(x), label="all", sampler=_distinct((3, 4))),
    Case("mean", lambda xp, x: xp.mean(x, axis=0, keepdims=True), complex=True),
    Case("mean", lambda xp, x: xp.mean(x), label="all"),
    Case("min", lambda xp, x: xp.min(x, axis=(0, 1)), label="tuple_axis", sampler=_distinct((3, 4))),
    Case("sum", lambda xp, x: xp.sum(x, axis=-1), complex=True),
    Case("sum", lambda xp, x: xp.sum(x, axis=(0, 2), keepdims=True), ((2, 3, 4),), label="keepdims"),
    Case("sum", lambda xp, x: xp.sum(x), ((),), label="0d"),
    # -- statistical (cumulative_sum, cumulative_prod, prod, std, var) -----------------------------------
    Case("cumulative_sum", lambda xp, x: xp.cumulative_sum(x, axis=1), complex=True),
    Case(
        "cumulative_sum",
        lambda xp, x: xp.cumulative_sum(x, include_initial=True),
        ((5,),),
        label="1d_include_initial",
    ),
    Case(
        "cumulative_sum",
        lambda xp, x: xp.cumulative_sum(x, axis=-3, include_initial=True),
        ((3, 2, 2),),
        label="axis-3_include_initial",
    ),
    Case("cumulative_prod", lambda xp, x: xp.cumulative_prod(x, axis=1), complex=True),
    Case("cumulative_prod", lambda xp, x: xp.cumulative_prod(x, axis=0), ((9, 2),), label="long_axis"),
    # Exact zeros: one in row 0, two in row 2 (the gradient is still defined: cumulative_prod is multilinear).
    Case(
        "cumulative_prod",
        lambda xp, x: xp.cumulative_prod(x, axis=1, include_initial=True),
        ((3, 5),),
        label="zeros_include_initial",
        sampler=lambda rng: [
            rng.uniform(0.5, 1.5, (3, 5))
            * rng.choice([-1, 1], (3, 5))
            * np.array([[1, 1, 0, 1, 1], [1] * 5, [1, 0, 1, 0, 1]])
        ],
    ),
    Case(
        "cumulative_prod",
        lambda xp, x: xp.cumulative_prod(x),
        ((6,),),
        label="1d_zeros",
        sampler=lambda rng: [rng.uniform(0.5, 1.5, 6) * np.array([0, 1, 1, 0, 1, 1])],
    ),
    Case("prod", lambda xp, x: xp.prod(x, axis=1), domain=(0.5, 1.5), complex=True),
    Case("prod", lambda xp, x: xp.prod(x, axis=(0, 2), keepdims=True), ((2, 3, 4),), domain=(0.5, 1.5),
         label="tuple_axis_keepdims", complex=True),
    Case("prod", lambda xp, x: xp.prod(x), ((),), label="0d"),
    # Exact zeros: row 0 has one, row 2 has two in the same slice (its gradient is 0 everywhere).
    Case(
        "prod",
        lambda xp, x: xp.prod(x, axis=-1),
        label="zeros",
        sampler=lambda rng: [
            rng.uniform(0.5, 1.5, (3, 4))
            * rng.choice([-1, 1], (3, 4))
            * np.array([[1, 0, 1, 1], [1] * 4, [0, 1, 0, 1]])
        ],
    ),
    Case(
        "prod",
        lambda xp, x: xp.prod(x, axis=None),
        label="all_one_zero",
        sampler=lambda rng: [rng.uniform(0.5, 1.5, (2, 3)) * np.array([[1, 1, 1], [1, 0, 1]])],
    ),
    Case("std", lambda xp, x: xp.std(x, axis=1, correction=1)),
    Case("std", lambda xp, x: xp.std(x, keepdims=True), label="all_keepdims"),
    Case("std", lambda xp, x: xp.std(x, axis=(0, 2), correction=0.5), ((2, 3, 4),), label="tuple_axis",
         skip={"torch": "torch's std takes integer corrections only (raw array_api_compat.torch raises too)"}),
    Case("var", lambda xp, x: xp.var(x, axis=0, correction=1, keepdims=True)),
    Case("var", lambda xp, x: xp.var(x, axis=(0, 1)), ((2, 3, 4),), label="tuple_axis"),
    Case(
        "var",
        lambda xp, x: xp.var(x, axis=1, correction=1),
        label="complex_input",
        sampler=lambda rng: [rng.uniform(-2, 2, (3, 4)) + 1j * rng.uniform(-2, 2, (3, 4))],
        skip={"array_api_strict": "array-api-strict's var accepts real floating dtypes only"},
    ),
    # -- sorting ------------------------------------------------------------------------------------------
    Case("sort", lambda xp, x: xp.sort(x), sampler=_distinct((3, 4))),
    Case("sort", lambda xp, x: xp.sort(x, axis=0, descending=True), sampler=_distinct((3, 4)), label="descending"),
    # Ties that stay tied under perturbation (each value twice): any tie order gives this gradient; which
    # tied element gets which cotangent (the stable order) is tested in tests/test_statistical.py.
    Case(
        "sort",
        lambda xp, x: xp.sort(xp.concat([x, x], axis=1), axis=1, descending=True),
        sampler=_distinct((3, 4)),
        label="structural_ties",
    ),
    # -- set ----------------------------------------------------------------------------------------------
    # On dask the sizes of unique_* results are unknown until computed: recording one raises a clear error
    # (tests/test_dask.py checks it), so the matrix skips them there.
    # jax's unique_* gradients are silently zero (SPEC_NAMES.md), so there is no jax reference. Inputs repeat
    # some values structurally (concat of x with part of itself), so the repeats stay equal under finite
    # differences; the random cotangent weights every value differently, so a wrong scatter shows.
    Case(
        "unique_values",
        lambda xp, x: xp.unique_values(xp.concat([x, x[:2], x[3:4]])),
        ((5,),),
        sampler=_distinct((5,)),
        jax_reference=False,
        complex=False,
        skip=_DASK_UNKNOWN_SIZE,
    ),
    Case("unique_values", lambda xp, x: xp.unique_values(x), sampler=_distinct((3, 4)), label="2d",
         jax_reference=False, skip=_DASK_UNKNOWN_SIZE),
    Case(
        "unique_counts",
        lambda xp, x: xp.unique_counts(xp.concat([x, x[1:3], x[1:2]])),
        ((5,),),
        sampler=_distinct((5,)),
        jax_reference=False,
        skip=_DASK_UNKNOWN_SIZE,
    ),
    Case(
        "unique_inverse",
        lambda xp, x: xp.unique_inverse(xp.stack([x, xp.flip(x)])),  # flip: torch refuses x[::-1]
        ((4,),),
        sampler=_distinct((4,)),
        jax_reference=False,
        skip=_DASK_UNKNOWN_SIZE,
    ),
    Case(
        "unique_all",
        lambda xp, x: xp.unique_all(xp.concat([x[2:, ...], x, x[:1, ...]], axis=0)),
        ((4, 2),),
        sampler=_distinct((4, 2)),
        jax_reference=False,
        skip={"torch": "array_api_compat.torch has no unique_all (pytorch/pytorch#36748)", **_DASK_UNKNOWN_SIZE},
    ),
    # -- utility ------------------------------------------------------------------------------------------
    Case("diff", lambda xp, x: xp.diff(x), ((3, 5),), complex=True),
    Case("diff", lambda xp, x: xp.diff(x, axis=0, n=2), ((5, 3),), label="n2_axis0"),
    Case(
        "diff",
        lambda xp, x, p, a: xp.diff(x, axis=1, n=2, prepend=p, append=a),
        ((3, 4), (3, 2), (3, 1)),
        label="prepend_append",
        complex=True,
    ),
    Case("diff", lambda xp, x, p: xp.diff(x, axis=0, n=3, prepend=p), ((4, 3), (1, 3)), label="prepend"),
    # -- linalg ------------------------------------------------------------------------------------------
    Case("linalg.vector_norm", lambda xp, x: xp.linalg.vector_norm(x), complex=True),
    Case("linalg.vector_norm", lambda xp, x: xp.linalg.vector_norm(x, axis=1, ord=1), label="ord1", domain=(0.1, 2.0)),
    Case("linalg.vector_norm", lambda xp, x: xp.linalg.vector_norm(x, axis=0, ord=3, keepdims=True), label="ord3"),
    Case(
        "linalg.vector_norm",
        lambda xp, x: xp.linalg.vector_norm(x, ord=float("inf")),
        label="inf",
        sampler=_distinct((3, 4)),
    ),
    # -- linalg (the rest of the extension) ------------------------------------------------------------
    # Also the main namespace's tensordot (its rule is in the "Linear algebra functions" section).
    Case("linalg.cholesky", lambda xp, x: xp.linalg.cholesky(_h(xp, x)), sampler=li.spd((3, 3))),
    Case("linalg.cholesky", lambda xp, x: xp.linalg.cholesky(_h(xp, x), upper=True), label="upper_batched",
         sampler=li.spd((2, 3, 3))),
    Case("linalg.cholesky", lambda xp, x: xp.linalg.cholesky(_h(xp, x)), label="complex",
         sampler=li.spd((2, 3, 3), complex_values=True)),
    Case("linalg.cross", lambda xp, x1, x2: xp.linalg.cross(x1, x2), ((4, 3), (3,)), complex=True),
    Case("linalg.cross", lambda xp, x1, x2: xp.linalg.cross(x1, x2, axis=-2), ((2, 3, 4), (2, 3, 4)),
         label="axis-2"),
    Case("linalg.det", lambda xp, x: xp.linalg.det(x), sampler=li.well_conditioned((2, 3, 3))),
    Case("linalg.det", lambda xp, x: xp.linalg.det(x), label="complex",
         sampler=li.well_conditioned((3, 3), complex_values=True)),
    Case("linalg.diagonal", lambda xp, x: xp.linalg.diagonal(x), ((2, 3, 4),), complex=True),
    Case("linalg.diagonal", lambda xp, x: xp.linalg.diagonal(x, offset=1), ((3, 4),), label="offset1"),
    Case("linalg.diagonal", lambda xp, x: xp.linalg.diagonal(x, offset=-2), ((2, 4, 3),), label="offset-2"),
    # jax.numpy's eig has no derivative rule for eigenvectors, nor for eigenvalues when it computes the
    # vectors too ("The derivatives of eigenvectors are not implemented", jax-ml/jax#2748): no jax reference.
    Case("linalg.eig", lambda xp, x: _eig_gauge_free(xp, x), sampler=li.distinct_eigenvalues((2, 3, 3)),
         jax_reference=False),
    Case("linalg.eig", lambda xp, x: _eig_gauge_free(xp, x), label="complex", jax_reference=False,
         sampler=li.distinct_eigenvalues((3, 3), complex_values=True)),
    Case("linalg.eig", lambda xp, x: xp.linalg.eig(x).eigenvalues, label="values_only", jax_reference=False,
         sampler=li.distinct_eigenvalues((3, 3))),
    Case("linalg.eigvals", lambda xp, x: xp.linalg.eigvals(x), sampler=li.distinct_eigenvalues((2, 3, 3))),
    Case("linalg.eigvals", lambda xp, x: xp.linalg.eigvals(x), label="complex",
         sampler=li.distinct_eigenvalues((3, 3), complex_values=True)),
    Case("linalg.eigh", lambda xp, x: _eigh_gauge_free(xp, x), sampler=li.spd((2, 3, 3))),
    Case("linalg.eigh", lambda xp, x: _eigh_gauge_free(xp, x), label="complex",
         sampler=li.spd((3, 3), complex_values=True)),
    Case("linalg.eigh", lambda xp, x: xp.linalg.eigh(_h(xp, x)).eigenvalues, label="values_only",
         sampler=li.spd((4, 4))),
    Case("linalg.eigh", lambda xp, x: li.projector(xp, xp.linalg.eigh(_h(xp, x)).eigenvectors[..., :2]),
         label="projector", sampler=li.spd((4, 4), complex_values=True)),
    Case("linalg.eigvalsh", lambda xp, x: xp.linalg.eigvalsh(_h(xp, x)), sampler=li.spd((2, 3, 3))),
    Case("linalg.eigvalsh", lambda xp, x: xp.linalg.eigvalsh(_h(xp, x)), label="complex",
         sampler=li.spd((3, 3), complex_values=True)),
    Case("linalg.inv", lambda xp, x: xp.linalg.inv(x), sampler=li.well_conditioned((2, 3, 3))),
    Case("linalg.inv", lambda xp, x: xp.linalg.inv(x), label="complex",
         sampler=li.well_conditioned((3, 3), complex_values=True)),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x), ((2, 3, 4),), complex=True),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord="nuc", keepdims=True),
         label="nuc", sampler=li.with_singular_values((2, 4, 3))),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord="nuc"), label="nuc_complex",
         sampler=li.with_singular_values((3, 4), complex_values=True)),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord=2), label="2",
         sampler=li.with_singular_values((2, 3, 4))),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord=-2), label="-2",
         sampler=li.with_singular_values((4, 3), complex_values=True)),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord=1), ((2, 3, 4),), label="1",
         complex=True),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord=-1), ((3, 4),), label="-1"),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord=float("inf"), keepdims=True),
         ((2, 3, 4),), label="inf"),
    Case("linalg.matrix_norm", lambda xp, x: xp.linalg.matrix_norm(x, ord=-float("inf")), ((3, 4),),
         label="-inf", complex=True),
    Case("linalg.matrix_power", lambda xp, x: xp.linalg.matrix_power(x, 3), ((2, 3, 3),), domain=(-1.0, 1.0),
         complex=True),
    Case("linalg.matrix_power", lambda xp, x: xp.linalg.matrix_power(x, 1), ((3, 3),), label="1"),
    Case("linalg.matrix_power", lambda xp, x: xp.linalg.matrix_power(x, 0) * x, ((3, 3),), label="0"),
    Case("linalg.matrix_power", lambda xp, x: xp.linalg.matrix_power(x, -2), label="-2",
         sampler=li.well_conditioned((2, 3, 3))),
    Case("linalg.outer", lambda xp, x1, x2: xp.linalg.outer(x1, x2), ((3,), (4,)), complex=True),
    Case("linalg.pinv", lambda xp, x: xp.linalg.pinv(x), label="tall", sampler=li.with_singular_values((2, 4, 3))),
    Case("linalg.pinv", lambda xp, x: xp.linalg.pinv(x), label="wide",
         sampler=li.with_singular_values((3, 5), complex_values=True)),
    Case("linalg.pinv", lambda xp, x: xp.linalg.pinv(x), label="square", sampler=li.with_singular_values((3, 3))),
    # QR is unique once diag(R) is real (LAPACK's choice on every backend), so Q and R themselves are the loss.
    Case("linalg.qr", lambda xp, x: xp.linalg.qr(x), label="tall", sampler=li.with_singular_values((2, 4, 3))),
    Case("linalg.qr", lambda xp, x: xp.linalg.qr(x, mode="complete"), label="square_complete",
         sampler=li.with_singular_values((3, 3))),
    Case("linalg.qr", lambda xp, x: xp.linalg.qr(x), label="wide", sampler=li.with_singular_values((2, 3, 5))),
    Case("linalg.qr", lambda xp, x: xp.linalg.qr(x), label="complex_tall",
         sampler=li.with_singular_values((4, 3), complex_values=True)),
    Case("linalg.qr", lambda xp, x: xp.linalg.qr(x, mode="complete"), label="complex_wide",
         sampler=li.with_singular_values((3, 4), complex_values=True)),
    Case("linalg.qr", lambda xp, x: xp.linalg.qr(x, mode="complete").R, label="complete_tall_R_only",
         sampler=li.with_singular_values((4, 2))),
    Case("linalg.slogdet", lambda xp, x: xp.linalg.slogdet(x), sampler=li.well_conditioned((2, 3, 3))),
    Case("linalg.slogdet", lambda xp, x: xp.linalg.slogdet(x), label="complex",
         sampler=li.well_conditioned((2, 3, 3), complex_values=True)),
    Case("linalg.solve", lambda xp, x1, x2: xp.linalg.solve(x1, x2), label="matrix",
         sampler=li.well_conditioned((3, 3), (3, 2))),
    Case("linalg.solve", lambda xp, x1, x2: xp.linalg.solve(x1, x2), label="batched_vector",
         sampler=li.well_conditioned((2, 3, 3), (3,))),
    Case("linalg.solve", lambda xp, x1, x2: xp.linalg.solve(x1, x2), label="broadcast_batch",
         sampler=li.well_conditioned((3, 3), (2, 3, 2))),
    Case("linalg.solve", lambda xp, x1, x2: xp.linalg.solve(x1, x2), label="complex",
         sampler=li.well_conditioned((2, 3, 3), (2, 3, 2), complex_values=True)),
    Case("linalg.solve", lambda xp, x1, x2: xp.linalg.solve(x1, x2), label="complex_vector",
         sampler=li.well_conditioned((3, 3), (3,), complex_values=True)),
    Case("linalg.svd", lambda xp, x: _svd_gauge_free(xp, x, False), label="tall",
         sampler=li.with_singular_values((2, 4, 3))),
    Case("linalg.svd", lambda xp, x: _svd_gauge_free(xp, x, False), label="wide",
         sampler=li.with_singular_values((3, 5))),
    Case("linalg.svd", lambda xp, x: _svd_gauge_free(xp, x, False), label="complex",
         sampler=li.with_singular_values((2, 4, 3), complex_values=True)),
    Case("linalg.svd", lambda xp, x: _svd_gauge_free(xp, x, False), label="complex_wide",
         sampler=li.with_singular_values((3, 4), complex_values=True)),
    # jax has no JVP for full_matrices=True ("Singular value decomposition JVP not implemented for full
    # matrices"), so the full rows have no jax reference; finite differences still check them.
    Case("linalg.svd", lambda xp, x: _svd_gauge_free(xp, x, True), label="full_tall", jax_reference=False,
         sampler=li.with_singular_values((4, 3))),
    Case("linalg.svd", lambda xp, x: _svd_gauge_free(xp, x, True), label="full_wide_complex",
         jax_reference=False,
         sampler=li.with_singular_values((3, 4), complex_values=True)),
    Case("linalg.svd", lambda xp, x: li.projector(xp, xp.linalg.svd(x).U[..., :, 2:]), label="full_complement",
         jax_reference=False,
         sampler=li.with_singular_values((5, 2))),
    Case("linalg.svd", lambda xp, x: xp.linalg.svd(x).S, label="values_only", jax_reference=False,
         sampler=li.with_singular_values((4, 3))),
    Case("linalg.svdvals", lambda xp, x: xp.linalg.svdvals(x), sampler=li.with_singular_values((2, 4, 3))),
    Case("linalg.svdvals", lambda xp, x: xp.linalg.svdvals(x), label="complex",
         sampler=li.with_singular_values((3, 4), complex_values=True)),
    Case("linalg.trace", lambda xp, x: xp.linalg.trace(x), ((2, 3, 3),), complex=True),
    Case("linalg.trace", lambda xp, x: xp.linalg.trace(x, offset=1), ((3, 4),), label="offset1"),
    Case("linalg.trace", lambda xp, x: xp.linalg.trace(x, offset=-1, dtype=xp.complex128), ((2, 4, 3),),
         label="offset-1_dtype"),
    Case("tensordot", lambda xp, x1, x2: xp.tensordot(x1, x2), ((2, 3, 4), (3, 4, 5)), complex=True),
    Case("tensordot", lambda xp, x1, x2: xp.tensordot(x1, x2, axes=([0, 2], [2, 0])), ((2, 3, 4), (4, 5, 2)),
         label="pairs", complex=True),
    Case("tensordot", lambda xp, x1, x2: xp.tensordot(x1, x2, axes=([-1], [1])), ((2, 3), (4, 3, 2)),
         label="negative_axes"),
    Case("tensordot", lambda xp, x1, x2: xp.tensordot(x1, x2, axes=0), ((2, 3), (4,)), label="outer"),
    # -- fft ---------------------------------------------------------------------------------------------
    # fft, ifft, fftn, ifftn and hfft take complex input (array_api_strict insists): real rows cast first,
    # which also checks that a real input keeps the real part of the complex cotangent.
    Case("fft.fft", lambda xp, x: xp.fft.fft(_complex(xp, x)), ((3, 8),), complex=True),
    Case("fft.fft", lambda xp, x: xp.fft.fft(_complex(xp, x), n=5, axis=0, norm="ortho"), ((7, 2),),
         complex=True, label="crop_ortho"),
    Case("fft.fft", lambda xp, x: xp.fft.fft(_complex(xp, x), n=9, norm="forward"), ((2, 5),), complex=True,
         label="pad_forward"),
    Case("fft.ifft", lambda xp, x: xp.fft.ifft(_complex(xp, x)), ((3, 7),), complex=True),
    Case("fft.ifft", lambda xp, x: xp.fft.ifft(_complex(xp, x), n=4, norm="ortho"), ((2, 7),), complex=True,
         label="crop_ortho"),
    Case("fft.ifft", lambda xp, x: xp.fft.ifft(_complex(xp, x), n=8, axis=0, norm="forward"), ((5, 2),),
         complex=True, label="pad_forward"),
    Case("fft.fftn", lambda xp, x: xp.fft.fftn(_complex(xp, x)), ((3, 4),), complex=True),
    Case("fft.fftn", lambda xp, x: xp.fft.fftn(_complex(xp, x), s=(5, 2), axes=(2, 0), norm="ortho"),
         ((3, 2, 4),), complex=True, label="s_axes_ortho"),
    Case("fft.fftn", lambda xp, x: xp.fft.fftn(_complex(xp, x), axes=(-1,), norm="forward"), ((2, 3, 4),),
         complex=True, label="one_axis_forward"),
    Case("fft.ifftn", lambda xp, x: xp.fft.ifftn(_complex(xp, x)), ((2, 3, 5),), complex=True),
    Case("fft.ifftn", lambda xp, x: xp.fft.ifftn(_complex(xp, x), s=(2, 6), axes=(0, 1), norm="forward"),
         ((3, 4),), complex=True, label="s_axes_forward"),
    Case("fft.ifftn", lambda xp, x: xp.fft.ifftn(_complex(xp, x), axes=(1,), norm="ortho"), ((3, 4),),
         complex=True, label="one_axis_ortho"),
    # rfft and ihfft take real input, irfft, irfftn and hfft complex input; even and odd logical lengths.
    Case("fft.rfft", lambda xp, x: xp.fft.rfft(x), ((3, 8),), label="even"),
    Case("fft.rfft", lambda xp, x: xp.fft.rfft(x, axis=0), ((7, 2),), label="odd_axis0"),
    Case("fft.rfft", lambda xp, x: xp.fft.rfft(x, n=4, norm="ortho"), ((2, 7),), label="crop_even_ortho"),
    Case("fft.rfft", lambda xp, x: xp.fft.rfft(x, n=9, norm="forward"), ((2, 6),), label="pad_odd_forward"),
    Case("fft.rfft", lambda xp, x: xp.fft.rfft(x, n=3), ((2, 6),), label="crop_odd"),
    Case("fft.irfft", lambda xp, x: xp.fft.irfft(_complex(xp, x)), ((2, 5),), complex=True, label="default_n"),
    Case("fft.irfft", lambda xp, x: xp.fft.irfft(_complex(xp, x), n=7, norm="ortho"), ((2, 4),), complex=True,
         label="odd_ortho"),
    Case("fft.irfft", lambda xp, x: xp.fft.irfft(_complex(xp, x), n=4, axis=0, norm="forward"), ((6, 2),),
         complex=True, label="crop_even_forward"),
    Case("fft.irfft", lambda xp, x: xp.fft.irfft(_complex(xp, x), n=11), ((2, 3),), complex=True,
         label="pad_odd"),
    Case("fft.irfft", lambda xp, x: xp.fft.irfft(_complex(xp, x), n=10, norm="ortho"), ((2, 4),), complex=True,
         label="pad_even_ortho"),
    Case("fft.rfftn", lambda xp, x: xp.fft.rfftn(x), ((3, 4),)),
    Case("fft.rfftn", lambda xp, x: xp.fft.rfftn(x, s=(3, 5), axes=(0, 2), norm="ortho"), ((2, 3, 6),),
         label="s_axes_odd_ortho"),
    Case("fft.rfftn", lambda xp, x: xp.fft.rfftn(x, s=(6, 2), axes=(1, 0), norm="forward"), ((3, 4),),
         label="s_swapped_axes_forward"),
    Case("fft.irfftn", lambda xp, x: xp.fft.irfftn(_complex(xp, x)), ((3, 4),), complex=True),
    Case("fft.irfftn", lambda xp, x: xp.fft.irfftn(_complex(xp, x), s=(2, 5), axes=(0, 1), norm="ortho"),
         ((3, 4),), complex=True, label="s_odd_ortho"),
    Case("fft.irfftn", lambda xp, x: xp.fft.irfftn(_complex(xp, x), s=(4, 6), axes=(-1, 0), norm="forward"),
         ((3, 2, 5),), complex=True, label="s_swapped_axes_forward"),
    Case("fft.hfft", lambda xp, x: xp.fft.hfft(_complex(xp, x)), ((2, 5),), complex=True, label="default_n"),
    Case("fft.hfft", lambda xp, x: xp.fft.hfft(_complex(xp, x), n=7, norm="ortho"), ((2, 5),), complex=True,
         label="crop_odd_ortho"),
    Case("fft.hfft", lambda xp, x: xp.fft.hfft(_complex(xp, x), n=12, axis=0, norm="forward"), ((4, 2),),
         complex=True, label="pad_even_forward"),
    Case("fft.ihfft", lambda xp, x: xp.fft.ihfft(x), ((3, 8),), label="even"),
    Case("fft.ihfft", lambda xp, x: xp.fft.ihfft(x, n=5, norm="ortho"), ((2, 7),), label="crop_odd_ortho"),
    Case("fft.ihfft", lambda xp, x: xp.fft.ihfft(x, n=10, axis=0, norm="forward"), ((7, 2),),
         label="pad_even_forward"),
    Case("fft.fftshift", lambda xp, x: xp.fft.fftshift(x), ((3, 5),), complex=True),
    Case("fft.fftshift", lambda xp, x: xp.fft.fftshift(x, axes=1), ((3, 5),), label="one_axis"),
    Case("fft.ifftshift", lambda xp, x: xp.fft.ifftshift(x), ((3, 5),), complex=True),
    Case("fft.ifftshift", lambda xp, x: xp.fft.ifftshift(x, axes=(0,)), ((3, 4),), label="one_axis"),
]


def _h(xp: Any, x: Any) -> Any:
    return li.hermitian_part(xp, x)


def _eig_gauge_free(xp: Any, x: Any) -> Any:
    values, vectors = xp.linalg.eig(x)
    return values, li.gauge_free(xp, vectors)


def _eigh_gauge_free(xp: Any, x: Any) -> Any:
    values, vectors = xp.linalg.eigh(_h(xp, x))
    return values, li.gauge_free(xp, vectors)


def _svd_gauge_free(xp: Any, x: Any, full_matrices: bool) -> Any:
    # |U|² and |Vh|² are invariant under the joint phase of each (u_i, v_i) pair; the reconstruction
    # U diag(S) Vh checks the cross terms between the U and Vh cotangents.
    u, s, vh = xp.linalg.svd(x, full_matrices=full_matrices)
    k = s.shape[-1]
    product = (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]
    return s, li.gauge_free(xp, u), li.gauge_free(xp, vh), product


def _complex(xp: Any, x: Any) -> Any:
    """``x`` as the complex dtype of its precision (the fft functions that want complex input insist)."""
    if xp.isdtype(x.dtype, "complex floating"):
        return x
    return xp.astype(x, xp.complex64 if x.dtype == xp.float32 else xp.complex128)


def _setitem(xp: Any, x: Any, v: Any) -> Any:
    # Copy first: on the raw backend (and in jax) this must not mutate the caller's array.
    y = xp.asarray(x, copy=True) * 1.0
    if hasattr(y, "at") and not hasattr(y, "requires_grad"):  # jax arrays are immutable
        return y.at[1, ...].set(v * 2.0)
    y[1, ...] = v * 2.0
    return y


def cases_by_name() -> dict[str, list[Case]]:
    """The rows grouped by spec name."""
    grouped: dict[str, list[Case]] = {}
    for case in CASES:
        grouped.setdefault(case.name, []).append(case)
    return grouped
