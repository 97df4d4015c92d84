"""detect_anomaly: the first NaN/Inf is reported at the operation that made it, forward or backward."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import wrapgrad
from wrapgrad import AnomalyError

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered", "ignore:divide by zero encountered")


def to_np(t):
    return np.asarray(t.detach())


def guarded_sqrt(xp, x):
    return xp.where(x > 0, xp.sqrt(x), xp.zeros_like(x))


def test_off_by_default_the_unselected_branch_of_where_poisons_ieee_gradients_silently(xp) -> None:
    assert not wrapgrad.is_anomaly_enabled()
    x = xp.asarray([4.0, -1.0], requires_grad=True)
    y = guarded_sqrt(xp, x)
    np.testing.assert_allclose(to_np(y), [2.0, 0.0])  # the forward looks fine
    with wrapgrad.ieee_cotangents():  # the default keeps the zero cotangent zero (tests/test_zero_cotangent.py)
        xp.sum(y).backward()
    assert np.isnan(to_np(x.grad)[1])  # what anomaly mode exists to diagnose


def test_nan_from_the_unselected_where_branch_is_named_in_backward(xp) -> None:
    x = xp.asarray([4.0, -1.0], requires_grad=True)
    with wrapgrad.detect_anomaly(check_forward=False), wrapgrad.ieee_cotangents():
        y = guarded_sqrt(xp, x)  # the line the message must point at
        with pytest.raises(AnomalyError) as info:
            xp.sum(y).backward()
    message = str(info.value)
    assert "SqrtBackward0 returned NaN in the gradient of its argument 0 (1 of 2 elements)" in message
    assert "The forward sqrt itself produced non-finite values here" in message
    assert "unselected branch of where" in message
    assert "The forward sqrt was called at:" in message and "guarded_sqrt" in message
    assert x.grad is None  # nothing was accumulated
    assert not wrapgrad.is_anomaly_enabled()


def test_forward_check_names_the_op_that_made_the_first_nan(xp) -> None:
    x = xp.asarray([4.0, -1.0], requires_grad=True)
    with wrapgrad.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"detect_anomaly: sqrt produced NaN in its forward result \(1 of 2 "
                                               r"elements\) from finite inputs\. If this value is discarded"):
            guarded_sqrt(xp, x)
        with pytest.raises(AnomalyError, match="detect_anomaly: log produced Inf in its forward result"):
            xp.log(x * 0.0)


def test_inf_made_only_in_backward_is_named(xp) -> None:
    x = xp.asarray([0.0, 1.0], requires_grad=True)
    with wrapgrad.detect_anomaly():
        y = xp.sum(xp.sqrt(x))  # finite forward; d sqrt / dx = inf at 0
        with pytest.raises(AnomalyError, match=r"SqrtBackward0 returned Inf in the gradient of its argument 0 \(1 of "
                                               r"2 elements\) from a finite incoming gradient\.\nThe forward sqrt"):
            y.backward()


def test_nan_that_comes_in_with_the_data_is_not_blamed_on_an_op(xp) -> None:
    x = xp.asarray([np.nan, 1.0], requires_grad=True)
    with wrapgrad.detect_anomaly():
        xp.sum(x * 2.0).backward()  # the NaN is the user's data, not any op's doing
    assert np.isnan(to_np(x.grad)).sum() == 0


def test_clean_computations_and_custom_functions_pass_unchanged(xp) -> None:
    x = xp.asarray([0.5, 2.0], requires_grad=True)
    with wrapgrad.detect_anomaly():
        out = xp.sum(xp.exp(xp.sin(x)) * x)
        (g,) = wrapgrad.autograd_grad(out, x, create_graph=True)
        (h,) = wrapgrad.autograd_grad(xp.sum(g), x)
        ck = wrapgrad.checkpoint(lambda t: xp.tanh(t) * t, x)
        xp.sum(ck).backward()
    v = np.array([0.5, 2.0])
    np.testing.assert_allclose(to_np(g), np.exp(np.sin(v)) * (np.cos(v) * v + 1), rtol=1e-12)
    assert np.all(np.isfinite(to_np(h)))


def test_anomaly_mode_is_restored_after_an_error_and_works_as_a_decorator(xp) -> None:
    @wrapgrad.detect_anomaly()
    def bad(x):
        return xp.log(x - 1.0)

    x = xp.asarray([0.5], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AnomalyError, match="log produced NaN"):
            bad(x)
    assert not wrapgrad.is_anomaly_enabled()
