"""The gradient conformance matrix: every case of ``cases.py`` x every backend x real/complex/float32.

Each check compares wrapgrad with something independent of its gradient rules:

- ``check_forward``: the forward result equals the raw backend's (value, dtype, shape);
- ``check_finite_differences``: the gradient matches directional central finite differences in float64
  (``wrapgrad.gradcheck``, whose numeric side only runs forwards), for real and complex inputs;
- ``check_jax``: the gradient matches ``jax.vjp`` of the same function on raw ``jax.numpy``;
- ``check_torch``: the gradient matches ``torch.autograd.grad`` of the same function on raw
  ``array_api_compat.torch`` (torch's rules, a third independent implementation);
- ``check_float32``: float32 (complex64) inputs get gradients of their own dtype and shape.

``tests/test_gradients.py`` runs these as pytest tests; ``run_gradient_matrix`` runs them for
``python -m conformance`` and returns one row per check.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from .cases import CASES, Case

__all__ = [
    "BACKENDS", "CheckSkipped", "check_finite_differences", "check_float32", "check_forward", "check_jax",
    "check_torch", "installed_backends", "load_backend", "run_gradient_matrix",
]

BACKENDS = ("numpy", "array_api_strict", "jax", "dask")
# Backends the matrix also runs on when asked (``python -m conformance --backend torch``); the pytest tables
# keep to BACKENDS, and tests/test_torch.py checks a representative set of cases on torch.
MORE_BACKENDS = ("torch", "cupy")
# A device for the libraries that take one (``CONFORMANCE_DEVICE=cuda``, set by conformance/device_check.sh):
# torch puts the drawn inputs there; jax follows JAX_PLATFORMS, cupy is on the GPU anyway.
DEVICE = os.environ.get("CONFORMANCE_DEVICE") or None


class CheckSkipped(Exception):
    """The check does not apply (a backend lacks the function, or the case has no complex variant)."""


def installed_backends() -> list[str]:
    """The backends of BACKENDS that import here."""
    found = []
    for name in (*BACKENDS, *MORE_BACKENDS):
        try:
            load_backend(name)
        except CheckSkipped:
            continue
        found.append(name)
    return found


def load_backend(name: str) -> tuple[ModuleType, ModuleType]:
    """(wrapgrad namespace, raw namespace) of a backend; jax runs with x64 enabled, torch on its CPU."""
    try:
        if name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as raw
        elif name == "array_api_strict":
            import array_api_strict as raw
        elif name == "numpy":
            import array_api_compat.numpy as raw
        elif name == "torch":
            import array_api_compat.torch as raw
            import torch

            if DEVICE is not None:
                torch.set_default_device(DEVICE)  # for the arrays that the cases create themselves
        elif name == "cupy":
            import array_api_compat.cupy as raw
        elif name == "dask":
            import array_api_compat.dask.array as raw
        else:
            raise ValueError(f"unknown backend {name!r}; known: {', '.join((*BACKENDS, *MORE_BACKENDS))}")
    except ImportError as error:
        raise CheckSkipped(f"{name} is not installed") from error
    return importlib.import_module(f"wrapgrad.{name}"), raw


def _to_numpy(a: Any) -> np.ndarray:
    import wrapgrad

    if isinstance(a, wrapgrad.Tensor):
        a = a.detach()
        if hasattr(a._data, "resolve_conj") or hasattr(a._data, "get"):
            a = a._data
    if hasattr(a, "resolve_conj"):  # torch's lazy conjugate cannot be exported (nor can raw torch's: .numpy() raises)
        a = a.resolve_conj().cpu()
    elif type(a).__module__.startswith("cupy"):
        a = a.get()  # to the host
    return np.asarray(a)


def _on_device(xp: ModuleType, value: Any) -> Any:
    """``xp.asarray(value)`` on the chosen device (torch takes numpy data to the CPU, whatever its default)."""
    if DEVICE is not None and xp.__name__ in ("wrapgrad.torch", "array_api_compat.torch", "torch"):
        return xp.asarray(value, device=DEVICE)
    return xp.asarray(value)


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _inputs(xp: ModuleType, case: Case, seed: int, complex_inputs: bool = False, precision: str = "64",
            shapes: Sequence[tuple[int, ...]] | None = None) -> tuple[list[np.ndarray], list[Any]]:
    values = case.draw(np.random.default_rng(seed), complex_inputs, shapes)
    wrt = range(len(values)) if case.wrt is None else case.wrt
    tensors = []
    for i, v in enumerate(values):
        if np.iscomplexobj(v):
            dtype = xp.complex128 if precision == "64" else xp.complex64
        elif np.issubdtype(v.dtype, np.floating):
            dtype = xp.float64 if precision == "64" else xp.float32
        else:
            dtype = None
        device = {"device": DEVICE} if DEVICE is not None and xp.__name__ == "wrapgrad.torch" else {}
        tensors.append(xp.asarray(v, dtype=dtype, requires_grad=i in wrt and dtype is not None, **device))
    return values, tensors


def _applies(case: Case, backend: str, complex_inputs: bool = False) -> None:
    if backend in case.skip:
        raise CheckSkipped(case.skip[backend])
    if complex_inputs and not case.complex:
        raise CheckSkipped("no complex variant")


def _tolerance(case: Case) -> dict[str, float]:
    return {"atol": 1e-6, "rtol": 1e-5, **case.tolerance}


def check_forward(case: Case, backend: str, seed: int = 0, shapes: Sequence[tuple[int, ...]] | None = None) -> None:
    """wrapgrad's forward equals the raw backend's: value, dtype and shape."""
    _applies(case, backend)
    xp, raw = load_backend(backend)
    values, tensors = _inputs(xp, case, seed, shapes=shapes)
    try:
        expected = _outputs(case.fn(raw, *[_on_device(raw, v) for v in values]))
    except Exception as error:  # nothing to compare with (dask lacks take_along_axis, nd fancy indexing)
        raise CheckSkipped(f"the raw backend fails: {type(error).__name__}: {error}"[:200]) from error
    got = _outputs(case.fn(xp, *tensors))
    try:
        _compare_outputs(case, got, expected)
    except AssertionError:
        if backend == "numpy":
            raise
        # Where the raw backend is itself wrong (compat-dask's cholesky returns the upper factor, dask's
        # tensordot mishandles negative axes) and wrapgrad works around it, numpy is the reference.
        import array_api_compat.numpy as compat_numpy

        reference = _outputs(case.fn(compat_numpy, *[compat_numpy.asarray(v) for v in values]))
        _compare_outputs(case, got, reference)
        raise CheckSkipped(f"the raw {backend} disagrees with numpy here; wrapgrad matches numpy") from None


def _compare_outputs(case: Case, got: list[Any], expected: list[Any]) -> None:
    import wrapgrad

    assert len(got) == len(expected), f"{case.id}: {len(got)} outputs, the backend gives {len(expected)}"
    for g, e in zip(got, expected):
        assert isinstance(g, wrapgrad.Tensor), f"{case.id}: returned {type(g).__name__}, not a Tensor"
        assert g.dtype == e.dtype, f"{case.id}: dtype {g.dtype}, the backend gives {e.dtype}"
        if _unknown_shape(e):  # dask after a mask: the sizes are known once computed
            assert _to_numpy(g).shape == _to_numpy(e).shape, f"{case.id}: computed shapes differ"
        else:
            assert g.shape == tuple(e.shape), f"{case.id}: shape {g.shape}, the backend gives {tuple(e.shape)}"
        np.testing.assert_allclose(_to_numpy(g), _to_numpy(e), rtol=1e-12, atol=0, err_msg=case.id)


def _unknown_shape(a: Any) -> bool:
    return any(n is None or n != n for n in a.shape)


def _unless_raw_fails(case: Case, backend: str, check: Callable[[], None]) -> None:
    """Run ``check``; if it raises and the raw backend cannot run the case's forward either, skip instead.

    A backend's own gaps (dask's nd fancy indexing) are not wrapgrad's failures; a gap that wrapgrad fills
    (dask's take_along_axis) still runs the check, since only a failure looks at the raw backend.
    """
    try:
        check()
    except CheckSkipped:
        raise
    except Exception as error:
        _, raw = load_backend(backend)
        values = case.draw(np.random.default_rng(0))
        try:
            case.fn(raw, *[raw.asarray(v) for v in values])
        except Exception as raw_error:
            raise CheckSkipped(f"the raw backend fails: {type(raw_error).__name__}: {raw_error}"[:200]) from error
        raise


def check_finite_differences(case: Case, backend: str, complex_inputs: bool = False, seed: int = 0,
                             shapes: Sequence[tuple[int, ...]] | None = None) -> None:
    """The gradient matches directional central finite differences in float64 (complex128)."""
    import wrapgrad

    _applies(case, backend, complex_inputs)
    xp, _ = load_backend(backend)
    _, tensors = _inputs(xp, case, seed, complex_inputs, shapes=shapes)

    def check() -> None:
        if any(_unknown_shape(o) for o in _outputs(case.fn(xp, *tensors))):
            raise CheckSkipped("an output of unknown shape: gradcheck cannot draw its cotangent "
                               "(tests/test_dask.py checks masks against finite differences)")
        wrapgrad.gradcheck(lambda *args: case.fn(xp, *args), tensors, seed=seed, **_tolerance(case))

    _unless_raw_fails(case, backend, check)


def _our_vjp(case: Case, backend: str, complex_inputs: bool, seed: int
             ) -> tuple[list[np.ndarray], list[int], list[np.ndarray], Sequence[Any]]:
    """wrapgrad's VJP of a case on ``backend`` with random cotangents: (values, wrt, cotangents, gradients)."""
    import wrapgrad

    xp, _ = load_backend(backend)
    values, tensors = _inputs(xp, case, seed, complex_inputs)
    wrt = [i for i, t in enumerate(tensors) if t.requires_grad]
    out = _outputs(case.fn(xp, *tensors))
    rng = np.random.default_rng(seed + 1)
    cotangents = []
    for o in out:
        v = rng.standard_normal(o.shape)
        if np.iscomplexobj(_to_numpy(o)):
            v = v + 1j * rng.standard_normal(o.shape)
        cotangents.append(v)
    tracked = [(o, v) for o, v in zip(out, cotangents) if o.requires_grad]
    ours: Sequence[Any] = [None] * len(wrt)
    if tracked:
        ours = wrapgrad.autograd_grad([o for o, _ in tracked], [tensors[i] for i in wrt],
                                      [_on_device(xp, v) for _, v in tracked], allow_unused=True)
    return values, wrt, cotangents, ours


def check_jax(case: Case, complex_inputs: bool = False, seed: int = 0, backend: str = "numpy") -> None:
    """The gradient (wrapgrad over ``backend``) matches ``jax.vjp`` of the same function on raw jax.numpy."""
    if not case.jax_reference:
        raise CheckSkipped("jax has no comparable rule")
    _applies(case, backend, complex_inputs)
    try:
        import jax
    except ImportError as error:
        raise CheckSkipped("jax is not installed") from error
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    values, wrt, cotangents, ours = _our_vjp(case, backend, complex_inputs, seed)

    def f(*args: Any) -> tuple[Any, ...]:
        full = [jnp.asarray(v) for v in values]
        for i, a in zip(wrt, args):
            full[i] = a
        return tuple(_outputs(case.fn(jnp, *full)))

    primal, vjp = jax.vjp(f, *[jnp.asarray(values[i]) for i in wrt])
    # jax takes an output's cotangent unconjugated and returns dL/dz unconjugated; wrapgrad's (torch's)
    # convention is the conjugate on both sides. Outputs wrapgrad does not track (integer) get zeros.
    theirs = vjp(tuple(jnp.asarray(np.conj(v)).astype(p.dtype) if jnp.issubdtype(p.dtype, jnp.inexact)
                       else np.zeros(p.shape, jax.dtypes.float0) for v, p in zip(cotangents, primal)))
    for index, got, expected in zip(wrt, ours, theirs):
        expected = np.conj(np.asarray(expected))
        actual = np.zeros_like(expected) if got is None else _to_numpy(got)
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case.id}: gradient of input {index} differs from jax.vjp")


# Cases whose gradient torch.autograd defines differently on purpose (wrapgrad's conventions table), so that
# torch is no reference for them; everything else where torch has a rule must agree.
_DROPS_EXTRA_COLUMNS = "with full_matrices=True wrapgrad folds in the cotangent of U's extra columns; torch drops it"
TORCH_DIFFERS: dict[str, str] = {
    "linalg.svd[full_tall]": _DROPS_EXTRA_COLUMNS,
    "linalg.svd[full_wide_complex]": _DROPS_EXTRA_COLUMNS,
    "linalg.svd[full_complement]": _DROPS_EXTRA_COLUMNS,
}


def check_torch(case: Case, complex_inputs: bool = False, seed: int = 0, backend: str = "torch") -> None:
    """The gradient (wrapgrad over ``backend``) matches ``torch.autograd.grad`` of the same function on raw
    ``array_api_compat.torch``; both follow torch's complex convention (``dL/dRe + i dL/dIm``)."""
    _applies(case, backend, complex_inputs)
    if case.id in TORCH_DIFFERS:
        raise CheckSkipped(TORCH_DIFFERS[case.id])
    try:
        import array_api_compat.torch as tc
        import torch
    except ImportError as error:
        raise CheckSkipped("torch is not installed") from error

    values, wrt, cotangents, ours = _our_vjp(case, backend, complex_inputs, seed)
    full = [_on_device(torch, v) for v in values]
    for i in wrt:
        full[i] = full[i].clone().requires_grad_()
    try:
        out = _outputs(case.fn(tc, *full))
        pairs = [(o, torch.asarray(v, dtype=o.dtype, device=o.device)) for o, v in zip(out, cotangents)
                 if o.requires_grad]
        if not pairs:
            raise CheckSkipped("torch.autograd does not track any output")
        theirs = torch.autograd.grad([o for o, _ in pairs], [full[i] for i in wrt], [v for _, v in pairs],
                                     allow_unused=True)
    except (RuntimeError, NotImplementedError, TypeError) as error:
        # torch lacks the function, its derivative or its complex variant: no reference here, not a failure.
        raise CheckSkipped(f"torch.autograd cannot differentiate it: {str(error).splitlines()[0][:120]}") from error
    for index, got, expected in zip(wrt, ours, theirs):
        reference = np.zeros(values[index].shape) if expected is None else _to_numpy(expected.detach())
        actual = np.zeros_like(reference) if got is None else _to_numpy(got)
        np.testing.assert_allclose(actual, reference, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case.id}: gradient of input {index} differs from torch.autograd")


def check_float32(case: Case, backend: str, seed: int = 0) -> None:
    """float32 (complex64) inputs get finite gradients of their own dtype and shape."""
    _unless_raw_fails(case, backend, lambda: _check_float32(case, backend, seed))


def _check_float32(case: Case, backend: str, seed: int) -> None:
    _applies(case, backend)
    xp, _ = load_backend(backend)
    _, tensors = _inputs(xp, case, seed, precision="32")
    out = [o for o in _outputs(case.fn(xp, *tensors)) if o.requires_grad]
    if not out:
        raise CheckSkipped("no differentiable output in float32")
    loss = sum(xp.sum(xp.real(o) if xp.isdtype(o.dtype, "complex floating") else o) for o in out)
    loss.backward()
    for t in tensors:
        if t.requires_grad:
            assert t.grad is not None, f"{case.id}: no gradient reached a float32 input"
            assert t.grad.dtype == t.dtype, f"{case.id}: gradient dtype {t.grad.dtype} for a {t.dtype} input"
            assert t.dtype in (xp.float32, xp.complex64)
            assert t.grad.shape == t.shape
            assert math.isfinite(float(xp.sum(xp.abs(t.grad)))), f"{case.id}: non-finite float32 gradient"


def _checks(case: Case, backend: str, seeds: int) -> Iterator[tuple[str, Callable[[], None]]]:
    yield "forward", lambda: check_forward(case, backend)
    yield "float32", lambda: check_float32(case, backend)
    for seed in range(seeds):
        yield "float64", lambda seed=seed: check_finite_differences(case, backend, seed=seed)
        yield "complex128", lambda seed=seed: check_finite_differences(case, backend, True, seed=seed)
        if case.broadcastable:
            shapes = _broadcast_variant(len(case.shapes), seed)
            yield f"float64{shapes}", lambda s=shapes, seed=seed: check_finite_differences(
                case, backend, seed=seed, shapes=s)
    if backend in ("numpy", "torch"):
        yield "jax", lambda: check_jax(case, backend=backend)
        yield "jax-complex", lambda: check_jax(case, True, backend=backend)
    if backend == "torch":
        yield "torch.autograd", lambda: check_torch(case)
        yield "torch.autograd-complex", lambda: check_torch(case, True)


def _broadcast_variant(n_inputs: int, seed: int) -> tuple[tuple[int, ...], ...]:
    """Shapes that broadcast together, 0-D included, chosen by seed (deterministic)."""
    variants = [((),) * n_inputs, ((2, 1, 3),) + ((3,),) * (n_inputs - 1), ((4,),) + ((),) * (n_inputs - 1)]
    return variants[seed % len(variants)][:n_inputs]


def run_gradient_matrix(backends: list[str], max_examples: int = 2,
                        progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run every check of every case on ``backends``; one row per check.

    Parameters
    ----------
    backends : list of str
        Backend names among ``BACKENDS``; missing ones produce 'skipped' rows.
    max_examples : int
        How many random draws (seeds) each finite-difference check uses.
    progress : callable, optional
        Called with a short line per case.

    Returns
    -------
    list of dict
        Rows with keys backend, name, dtype, status ('passed' | 'failed' | 'skipped') and detail.
    """
    rows: list[dict[str, Any]] = []
    for backend in backends:
        try:
            load_backend(backend)
        except CheckSkipped as reason:
            rows.append({"backend": backend, "name": "*", "dtype": "*", "status": "skipped", "detail": str(reason)})
            continue
        for case in CASES:
            if progress is not None:
                progress(f"{backend}: {case.id}")
            for dtype, check in _checks(case, backend, max(1, max_examples)):
                status, detail = "passed", ""
                try:
                    check()
                except CheckSkipped as reason:
                    status, detail = "skipped", str(reason)
                except Exception as error:  # a failed comparison or an error in wrapgrad: both are failures
                    status, detail = "failed", f"{type(error).__name__}: {error}".splitlines()[0][:300]
                rows.append({"backend": backend, "name": case.id, "dtype": dtype, "status": status, "detail": detail})
    return rows
