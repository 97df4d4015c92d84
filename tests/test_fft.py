"""The fft extension's gradients beyond the case table: adjoint identities checked against forwards alone,
round trips whose gradient is the identity, the Hermitian bins irfft ignores, and second derivatives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import wrapgrad

NORMS = ("backward", "ortho", "forward")

# (label, transform on a namespace, input shape, complex input?). n/s smaller and larger than the input,
# even and odd logical lengths, every norm, several axes.
TRANSFORMS: list[tuple[str, Callable[[Any, Any], Any], tuple[int, ...], bool]] = [
    ("fft", lambda xp, x: xp.fft.fft(x, n=5, norm="backward"), (2, 7), True),
    ("fft_pad", lambda xp, x: xp.fft.fft(x, n=9, axis=0, norm="ortho"), (6, 2), True),
    ("ifft", lambda xp, x: xp.fft.ifft(x, n=8, norm="forward"), (2, 5), True),
    ("ifft_crop", lambda xp, x: xp.fft.ifft(x, n=3, norm="backward"), (2, 5), True),
    ("fftn", lambda xp, x: xp.fft.fftn(x, s=(2, 6), axes=(1, 0), norm="forward"), (3, 4), True),
    ("ifftn", lambda xp, x: xp.fft.ifftn(x, norm="ortho"), (2, 3, 4), True),
    ("rfft_even", lambda xp, x: xp.fft.rfft(x, n=6, norm="backward"), (2, 9), False),
    ("rfft_odd", lambda xp, x: xp.fft.rfft(x, n=9, axis=0, norm="forward"), (5, 2), False),
    ("irfft_even", lambda xp, x: xp.fft.irfft(x, n=10, norm="ortho"), (2, 4), True),
    ("irfft_odd", lambda xp, x: xp.fft.irfft(x, n=5, norm="backward"), (2, 6), True),
    ("rfftn", lambda xp, x: xp.fft.rfftn(x, s=(4, 5), axes=(0, 1), norm="ortho"), (3, 6), False),
    ("irfftn", lambda xp, x: xp.fft.irfftn(x, s=(3, 7), axes=(1, 0), norm="forward"), (5, 2), True),
    ("hfft_even", lambda xp, x: xp.fft.hfft(x, n=8, norm="forward"), (2, 4), True),
    ("hfft_odd", lambda xp, x: xp.fft.hfft(x, n=7, axis=0, norm="ortho"), (6, 2), True),
    ("ihfft_even", lambda xp, x: xp.fft.ihfft(x, n=6, norm="ortho"), (2, 9), False),
    ("ihfft_odd", lambda xp, x: xp.fft.ihfft(x, n=11, norm="backward"), (2, 5), False),
    ("fftshift", lambda xp, x: xp.fft.fftshift(x, axes=(0, 1)), (3, 5), True),
    ("ifftshift", lambda xp, x: xp.fft.ifftshift(x), (4, 5), False),
]


def _draw(rng: np.random.Generator, shape: tuple[int, ...], complex_values: bool) -> np.ndarray:
    values = rng.standard_normal(shape)
    return values + 1j * rng.standard_normal(shape) if complex_values else values


def _real_inner(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.real(np.vdot(a, b)))


@pytest.mark.parametrize(("label", "transform", "shape", "complex_input"), TRANSFORMS,
                         ids=[t[0] for t in TRANSFORMS])
def test_vjp_is_the_adjoint(xp, label: str, transform: Callable[..., Any], shape: tuple[int, ...],
                            complex_input: bool) -> None:
    # Every transform is linear over the reals, so <A x, y> = <x, A^H y> (real inner products), where A^H y
    # is the VJP at cotangent y in torch's convention. The left side needs forwards only.
    rng = np.random.default_rng(0)
    x_values = _draw(rng, shape, complex_input)
    x = xp.asarray(x_values, requires_grad=True)
    out = transform(xp, x)
    out_values = np.asarray(out.detach())
    y = _draw(rng, out_values.shape, np.iscomplexobj(out_values))
    (vjp,) = wrapgrad.autograd_grad(out, x, [xp.asarray(y)])
    assert vjp.shape == x.shape and vjp.dtype == x.dtype
    np.testing.assert_allclose(_real_inner(x_values, np.asarray(vjp)), _real_inner(out_values, y), rtol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [6, 7])
def test_irfft_of_rfft_has_identity_gradient(xp, norm: str, n: int) -> None:
    rng = np.random.default_rng(1)
    x = xp.asarray(rng.standard_normal((3, n)), requires_grad=True)
    w = rng.standard_normal((3, n))
    y = xp.fft.irfft(xp.fft.rfft(x, norm=norm), n=n, norm=norm)
    (grad,) = wrapgrad.autograd_grad(xp.sum(y * xp.asarray(w)), x)
    np.testing.assert_allclose(np.asarray(grad), w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [6, 7])
def test_hfft_of_ihfft_and_ifft_of_fft_have_identity_gradient(xp, norm: str, n: int) -> None:
    rng = np.random.default_rng(2)
    x = xp.asarray(rng.standard_normal((2, n)), requires_grad=True)
    w = rng.standard_normal((2, n))
    y = xp.fft.hfft(xp.fft.ihfft(x, norm=norm), n=n, norm=norm)
    (grad,) = wrapgrad.autograd_grad(xp.sum(y * xp.asarray(w)), x)
    np.testing.assert_allclose(np.asarray(grad), w, rtol=1e-12, atol=1e-12)

    z = xp.asarray(_draw(rng, (2, n), True), requires_grad=True)
    v = _draw(rng, (2, n), True)
    out = xp.fft.ifft(xp.fft.fft(z, axis=0, norm=norm), axis=0, norm=norm)
    (grad,) = wrapgrad.autograd_grad(out, z, [xp.asarray(v)])
    np.testing.assert_allclose(np.asarray(grad), v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [8, 7])
def test_irfft_gradient_ignores_imaginary_dc_and_nyquist(xp, n: int) -> None:
    # irfft reads only the real part of DC and (for even n) Nyquist: the forward does not move when their
    # imaginary parts do, so their gradient must be real; the other bins' imaginary parts do matter.
    rng = np.random.default_rng(3)
    values = _draw(rng, (n // 2 + 1,), True)
    shifted = values.copy()
    silent = [0, n // 2] if n % 2 == 0 else [0]
    shifted[silent] += 0.7j
    x = xp.asarray(values, requires_grad=True)
    out = xp.fft.irfft(x, n=n)
    np.testing.assert_allclose(np.asarray(xp.fft.irfft(xp.asarray(shifted), n=n)), np.asarray(out.detach()),
                               atol=1e-14)
    (grad,) = wrapgrad.autograd_grad(out, x, [xp.asarray(rng.standard_normal(n))])
    imaginary = np.imag(np.asarray(grad))
    assert np.all(imaginary[silent] == 0)
    assert np.all(imaginary[1 : n // 2 if n % 2 == 0 else None] != 0)


@pytest.mark.parametrize(("label", "transform", "complex_input"), [
    ("rfft", lambda xp, x: xp.fft.rfft(x, n=7, norm="ortho"), False),
    ("irfft", lambda xp, x: xp.fft.irfft(x, n=6), True),
    ("hfft", lambda xp, x: xp.fft.hfft(x, n=9, norm="forward"), True),
    ("rfftn", lambda xp, x: xp.fft.rfftn(x, s=(3, 5), axes=(0, 1)), False),
])
def test_second_derivative_matches_finite_differences(xp, label: str, transform: Callable[..., Any],
                                                      complex_input: bool) -> None:
    # With create_graph the rules run on wrapgrad's own namespace (xp.fft on Tensors, concat, slicing):
    # the Hessian-vector product of a quartic must match central differences of the gradient.
    rng = np.random.default_rng(4)
    x0 = _draw(rng, (2, 4), complex_input)
    v = _draw(rng, (2, 4), complex_input)

    def gradient(values: np.ndarray, create_graph: bool = False) -> Any:
        x = xp.asarray(values, requires_grad=True)
        out = transform(xp, x)
        loss = xp.sum(xp.abs(out) ** 4)
        (g,) = wrapgrad.autograd_grad(loss, x, create_graph=create_graph)
        return x, g

    x, g = gradient(x0, create_graph=True)
    (hvp,) = wrapgrad.autograd_grad(g, x, [xp.asarray(v)])
    eps = 1e-6
    numeric = (np.asarray(gradient(x0 + eps * v)[1]) - np.asarray(gradient(x0 - eps * v)[1])) / (2 * eps)
    # The Hessian of a real loss is symmetric over the reals: <v, H v'> = <H v, v'>, so the VJP of the
    # gradient at v is H v, the directional derivative of the gradient along v.
    np.testing.assert_allclose(np.asarray(hvp), numeric, rtol=1e-6, atol=1e-6)
