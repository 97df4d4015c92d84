"""Conventions of the linalg gradient rules that the case table cannot express: degenerate spectra,
ties in matrix norms, singular matrices, unsupported QR modes, and second derivatives through the rules
(create_graph reruns each rule on wrapgrad Tensors)."""

from __future__ import annotations

import array_api_compat.numpy as compat_numpy
import numpy as np
import pytest

import wrapgrad
from conformance import linalg_inputs as li


def _np(t):
    return np.asarray(t.detach() if isinstance(t, wrapgrad.Tensor) else t)


def _grad(xp, loss, x):
    (g,) = wrapgrad.autograd_grad([loss], [x])
    return _np(g)


# -- degenerate spectra -------------------------------------------------------------------------------


def test_eigvalsh_at_a_degenerate_spectrum_has_the_closed_form_gradient(xp) -> None:
    # sum(λ²) = tr(A²): gradient 2A, also where eigenvalues repeat (no 1/(λi - λj) term is ever formed).
    a = np.diag([1.0, 1.0, 3.0])
    x = xp.asarray(a, requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.sum(xp.linalg.eigvalsh(x) ** 2), x), 2 * a, atol=1e-12)
    x = xp.asarray(a, requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.sum(xp.linalg.eigh(x).eigenvalues ** 2), x), 2 * a, atol=1e-12)


def test_eigh_projector_of_a_separated_eigenvalue_next_to_a_degenerate_pair(xp) -> None:
    # The eigenvectors of the repeated eigenvalue 1 are any basis of a plane, but the projector onto the
    # eigenvalue 3's line is smooth: the tied pair's 0/0 term is taken as 0, which gives its gradient.
    a = np.diag([1.0, 1.0, 3.0])
    x = xp.asarray(a, requires_grad=True)
    assert wrapgrad.gradcheck(
        lambda x: li.projector(xp, xp.linalg.eigh(li.hermitian_part(xp, x)).eigenvectors[..., 2:]), [x]
    )
    # closed form: P = v v^T with v = e3; dP = (I - P) dA P / (3 - 1) + transpose, symmetrised over dA
    w = np.random.default_rng(0).standard_normal((3, 3))
    x = xp.asarray(a, requires_grad=True)
    projector = li.projector(xp, xp.linalg.eigh(li.hermitian_part(xp, x)).eigenvectors[..., 2:])
    got = _grad(xp, xp.sum(projector * xp.asarray(w)), x)
    p = np.diag([0.0, 0.0, 1.0])
    sym_w = (w + w.T) / 2
    expected = ((np.eye(3) - p) @ sym_w @ p + p @ sym_w @ (np.eye(3) - p)) / 2
    np.testing.assert_allclose(got, (expected + expected.T) / 2, atol=1e-12)


def test_svdvals_at_repeated_singular_values(xp) -> None:
    # nuclear norm of a multiple of an orthogonal matrix Q: gradient Q, though all singular values tie.
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))
    x = xp.asarray(2 * q, requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.sum(xp.linalg.svdvals(x)), x), q, atol=1e-12)
    x = xp.asarray(2 * q, requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.linalg.matrix_norm(x, ord="nuc"), x), q, atol=1e-12)


# -- ties in matrix norms ------------------------------------------------------------------------------


def test_matrix_norm_2_splits_ties_between_the_largest_singular_values(xp) -> None:
    # ||2I||_2 = 2 is attained by both singular values: each gets half, so the gradient is I/2 (the average
    # of the subgradients u_i v_i^T, as max/min reductions split ties).
    x = xp.asarray(2 * np.eye(2), requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.linalg.matrix_norm(x, ord=2), x), np.eye(2) / 2, atol=1e-12)
    x = xp.asarray(np.diag([2.0, 2.0, 1.0]), requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.linalg.matrix_norm(x, ord=-2), x), np.diag([0.0, 0.0, 1.0]),
                               atol=1e-12)


def test_matrix_norm_1_and_inf_split_ties_evenly(xp) -> None:
    a = np.array([[1.0, -2.0, 0.5], [-2.0, 1.0, 0.5]])  # column sums 3, 3, 1; row sums 3.5, 3.5
    x = xp.asarray(a, requires_grad=True)
    expected = np.sign(a) * np.array([0.5, 0.5, 0.0])
    np.testing.assert_allclose(_grad(xp, xp.linalg.matrix_norm(x, ord=1), x), expected)
    x = xp.asarray(a, requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.linalg.matrix_norm(x, ord=float("inf")), x), np.sign(a) * 0.5)
    x = xp.asarray(a, requires_grad=True)
    expected = np.sign(a) * np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(_grad(xp, xp.linalg.matrix_norm(x, ord=-1), x), expected)


def test_frobenius_norm_of_the_zero_matrix_has_gradient_zero(xp) -> None:
    x = xp.zeros((2, 3), requires_grad=True)
    np.testing.assert_array_equal(_grad(xp, xp.linalg.matrix_norm(x), x), np.zeros((2, 3)))


# -- signs, singular matrices, unsupported modes -------------------------------------------------------


def test_slogdet_sign_of_a_real_matrix_has_gradient_zero(xp) -> None:
    x = xp.asarray(li.well_conditioned((3, 3))(np.random.default_rng(2))[0], requires_grad=True)
    sign, _ = xp.linalg.slogdet(x)
    np.testing.assert_array_equal(_grad(xp, sign * 1.0, x), np.zeros((3, 3)))


def test_slogdet_logabsdet_matches_the_inverse_transpose(xp) -> None:
    a = li.well_conditioned((3, 3))(np.random.default_rng(3))[0]
    x = xp.asarray(a, requires_grad=True)
    np.testing.assert_allclose(_grad(xp, xp.linalg.slogdet(x).logabsdet, x), np.linalg.inv(a).T, rtol=1e-12)


def test_det_gradient_at_a_singular_matrix_is_not_silently_finite(backend, xp) -> None:
    # The rule solves with A^H instead of forming the adjugate: at an exactly singular matrix the backend's
    # solve decides. numpy and array-api-strict raise; jax returns non-finite values. Never a wrong number.
    x = xp.asarray(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    loss = xp.linalg.det(x)
    if backend == "jax":
        assert not np.all(np.isfinite(_grad(xp, loss, x)))
    else:
        with pytest.raises(Exception, match=r"(?i)singular"):
            loss.backward()


def test_qr_complete_tall_has_no_q_gradient(xp) -> None:
    x = xp.asarray(np.random.default_rng(4).standard_normal((4, 2)), requires_grad=True)
    q, _ = xp.linalg.qr(x, mode="complete")
    with pytest.raises(NotImplementedError, match=r"linalg\.qr.*mode='complete'"):
        xp.sum(q).backward()


def test_pinv_of_a_square_full_rank_matrix_is_inv(xp) -> None:
    a = li.well_conditioned((3, 3))(np.random.default_rng(5))[0]
    w = np.random.default_rng(6).standard_normal((3, 3))
    x = xp.asarray(a, requires_grad=True)
    got = _grad(xp, xp.sum(xp.linalg.pinv(x) * xp.asarray(w)), x)
    inverse = np.linalg.inv(a)
    np.testing.assert_allclose(got, -inverse.T @ w @ inverse.T, rtol=1e-9)


def test_solve_with_a_vector_right_hand_side_and_stacked_matrices(xp) -> None:
    # x2 of shape (M,) is one column for every matrix of the stack (2024.12), so its gradient sums them.
    a, b = li.well_conditioned((2, 3, 3), (3,))(np.random.default_rng(7))
    x1 = xp.asarray(a, requires_grad=True)
    x2 = xp.asarray(b, requires_grad=True)
    out = xp.linalg.solve(x1, x2)
    assert out.shape == (2, 3)
    g1, g2 = wrapgrad.autograd_grad([xp.sum(out)], [x1, x2])
    inverse_t = np.linalg.inv(np.swapaxes(a, -1, -2))
    expected_g2 = (inverse_t @ np.ones((2, 3, 1)))[..., 0]
    np.testing.assert_allclose(_np(g2), expected_g2.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(_np(g1), -expected_g2[..., :, None] * _np(out)[..., None, :], rtol=1e-12)


# -- second derivatives: the rules rerun on Tensors ----------------------------------------------------


SECOND_ORDER = {
    "cholesky": (lambda xp, x: xp.linalg.cholesky(li.hermitian_part(xp, x)), li.spd((2, 3, 3))),
    "det": (lambda xp, x: xp.linalg.det(x), li.well_conditioned((3, 3))),
    "diagonal": (lambda xp, x: xp.linalg.diagonal(x, offset=1) ** 2, li.well_conditioned((3, 4))),
    "eigh": (lambda xp, x: xp.linalg.eigh(li.hermitian_part(xp, x)).eigenvalues ** 2, li.spd((3, 3))),
    "eigvalsh": (lambda xp, x: xp.linalg.eigvalsh(li.hermitian_part(xp, x)) ** 2, li.spd((3, 3))),
    "inv": (lambda xp, x: xp.linalg.inv(x), li.well_conditioned((2, 3, 3))),
    "matrix_power": (lambda xp, x: xp.linalg.matrix_power(x, -2), li.well_conditioned((3, 3))),
    "matrix_norm_fro": (lambda xp, x: xp.linalg.matrix_norm(x), li.well_conditioned((3, 4))),
    "pinv": (lambda xp, x: xp.linalg.pinv(x), li.with_singular_values((4, 3))),
    "qr": (lambda xp, x: xp.linalg.qr(x).R, li.with_singular_values((4, 3))),
    "slogdet": (lambda xp, x: xp.linalg.slogdet(x).logabsdet, li.well_conditioned((3, 3))),
    "svdvals": (lambda xp, x: xp.linalg.svdvals(x) ** 2, li.with_singular_values((4, 3))),
    "trace": (lambda xp, x: xp.linalg.trace(x @ x, offset=1), li.well_conditioned((3, 3))),
    "tensordot": (lambda xp, x: xp.tensordot(x, x * x, axes=([0], [1])), li.well_conditioned((3, 3))),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_finite_differences(name, xp) -> None:
    fn, sampler = SECOND_ORDER[name]
    value = sampler(np.random.default_rng(8))[0]
    w = xp.asarray(np.random.default_rng(9).standard_normal(np.shape(fn(compat_numpy, value))))

    def gradient(x):
        if not x.requires_grad:  # gradcheck's finite differences call this on detached inputs, under no_grad
            x = xp.asarray(x, copy=True, requires_grad=True)
        with wrapgrad.enable_grad():
            (g,) = wrapgrad.autograd_grad([xp.sum(fn(xp, x) * w)], [x], create_graph=True)
        return g

    x = xp.asarray(value, requires_grad=True)
    assert wrapgrad.gradcheck(gradient, [x], atol=1e-5, rtol=1e-4)


def test_matmul_gradient_of_a_broadcast_cotangent() -> None:
    """sum((A @ B) @ C) sends matmul sum's cotangent, a broadcast view (strides 0), which numpy's matmul runs
    without BLAS's layout: the gradients must be those of the dense cotangent computed by hand, and torch's."""
    import wrapgrad.numpy as wnp

    rng = np.random.default_rng(3)
    a0, b0, c0 = (rng.standard_normal((6, 6)) for _ in range(3))
    a, b, c = (wnp.asarray(v, requires_grad=True) for v in (a0, b0, c0))
    wnp.sum((a @ b) @ c).backward()
    g = np.ones((6, 6))
    dx = g @ c0.T
    expected = [dx @ b0.T, a0.T @ dx, (a0 @ b0).T @ g]
    for t, e in zip((a, b, c), expected):
        np.testing.assert_allclose(np.asarray(t.grad), e, rtol=1e-13, atol=1e-13)
    torch = pytest.importorskip("torch")
    ta, tb, tc = (torch.tensor(v, requires_grad=True) for v in (a0, b0, c0))
    torch.sum((ta @ tb) @ tc).backward()
    for t, e in zip((a, b, c), (ta, tb, tc)):
        np.testing.assert_allclose(np.asarray(t.grad), e.grad.numpy(), rtol=1e-12, atol=1e-12)
