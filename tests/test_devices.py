"""Devices: results and gradients stay on the input's device; mixing devices is a clear error.

array-api-strict has fake devices (``Device("device1")`` ...) that it keeps apart as a real accelerator
library would: arrays on two devices cannot be combined. numpy and jax (CPU) have one device each, so
these tests run on strict; the mechanism is backend-independent.
"""

from __future__ import annotations

import numpy as np
import pytest

import wrapgrad
from conformance.cases import CASES, Case

strict = pytest.importorskip("array_api_strict")

import wrapgrad.array_api_strict as xp  # noqa: E402

DEVICE = strict.Device("device1")
DEFAULT = strict.__array_namespace_info__().default_device()


def test_the_fake_device_is_not_the_default() -> None:
    assert DEVICE in strict.__array_namespace_info__().devices()
    assert DEVICE != DEFAULT
    assert xp.__array_namespace_info__().devices() == tuple(strict.__array_namespace_info__().devices())


@pytest.mark.parametrize(
    "make",
    [
        lambda d: xp.asarray([1.0, 2.0], device=d, requires_grad=True),
        lambda d: xp.ones((2, 3), device=d, requires_grad=True),
        lambda d: xp.zeros(3, device=d),
        lambda d: xp.empty(3, device=d),
        lambda d: xp.full((2,), 4.0, device=d),
        lambda d: xp.arange(3.0, device=d),
        lambda d: xp.linspace(0.0, 1.0, 5, device=d),
        lambda d: xp.eye(3, device=d),
    ],
    ids=["asarray", "ones", "zeros", "empty", "full", "arange", "linspace", "eye"],
)
def test_creation_with_device(make) -> None:
    t = make(DEVICE)
    assert t.device == DEVICE
    for like in (xp.zeros_like, xp.ones_like, xp.empty_like):
        assert like(t).device == DEVICE
    assert xp.full_like(t, 2.0).device == DEVICE
    assert xp.zeros_like(t, device=DEFAULT).device == DEFAULT


def _inputs_on(case: Case, device):
    values = case.draw(np.random.default_rng(0))
    wrt = range(len(values)) if case.wrt is None else case.wrt
    return [
        xp.asarray(v, device=device, requires_grad=i in wrt and np.issubdtype(v.dtype, np.floating))
        for i, v in enumerate(values)
    ]


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_row_keeps_its_device_forward_and_backward(case: Case) -> None:
    if "array_api_strict" in case.skip:
        pytest.skip(case.skip["array_api_strict"])
    tensors = _inputs_on(case, DEVICE)
    try:
        out = _outputs(case.fn(xp, *tensors))
    except ValueError as exc:
        if "different devices" in str(exc):
            # The row itself builds a constant (an index array, a bound) on the default device; wrapgrad
            # reports it as it should, and there is nothing else to check here.
            pytest.skip(f"the row makes constants on the default device: {exc}")
        raise
    for o in out:
        assert o.device == DEVICE, f"{case.id}: result on {o.device}"
    differentiable = [o for o in out if o.requires_grad]
    if not differentiable:
        pytest.skip("no differentiable output")
    loss = sum(xp.sum(xp.real(o) if xp.isdtype(o.dtype, "complex floating") else o) for o in differentiable)
    assert loss.device == DEVICE
    loss.backward()
    for t in tensors:
        if t.requires_grad and t.grad is not None:
            assert t.grad.device == DEVICE, f"{case.id}: gradient on {t.grad.device}"


def test_second_order_gradients_stay_on_the_device() -> None:
    x = xp.asarray([0.5, 1.0, 2.0], device=DEVICE, requires_grad=True)
    (g,) = wrapgrad.autograd_grad([xp.sum(xp.repeat(xp.sin(x), 2) ** 2)], [x], create_graph=True)
    assert g.device == DEVICE
    (h,) = wrapgrad.autograd_grad([xp.sum(g)], [x])
    assert h.device == DEVICE
    expected = 2 * 2 * np.cos(2 * np.array([0.5, 1.0, 2.0]))  # d/dx of 2 sin(2x)
    np.testing.assert_allclose(np.asarray(h.to_device(DEFAULT)), expected, rtol=1e-12)


def test_to_device_sends_the_gradient_back_to_the_source_device() -> None:
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)  # default device
    y = x.to_device(DEVICE)
    assert y.device == DEVICE and y.requires_grad
    loss = xp.sum(y * y)
    assert loss.device == DEVICE
    loss.backward()
    assert x.grad.device == DEFAULT
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 4.0, 6.0])
    # and the other way round, with the gradient second-order on the device
    z = xp.asarray([1.0, 2.0], device=DEVICE, requires_grad=True)
    w = z.to_device(DEFAULT)
    (g,) = wrapgrad.autograd_grad([xp.sum(w**3)], [z], create_graph=True)
    assert g.device == DEVICE
    (h,) = wrapgrad.autograd_grad([xp.sum(g)], [z])
    assert h.device == DEVICE
    np.testing.assert_allclose(np.asarray(h.to_device(DEFAULT)), [6.0, 12.0])


def test_asarray_to_another_device_keeps_the_graph() -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    y = xp.asarray(x, device=DEVICE)
    assert y.device == DEVICE and y.requires_grad
    xp.sum(3.0 * y).backward()
    assert x.grad.device == DEFAULT
    np.testing.assert_allclose(np.asarray(x.grad), [3.0, 3.0])


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("add", lambda a, b: a + b),
        ("multiply", lambda a, b: xp.multiply(b, a)),
        ("matmul", lambda a, b: a @ b),
        ("stack", lambda a, b: xp.stack([a, b])),
        ("concat", lambda a, b: xp.concat([a, b])),
        ("where", lambda a, b: xp.where(a > 0, a, b)),
        ("add", lambda a, b: a + b._data),  # a raw array of the same library on the other device
    ],
    ids=["add", "multiply", "matmul", "stack", "concat", "where", "raw"],
)
def test_mixing_devices_names_the_operation_and_both_devices(name, call) -> None:
    a = xp.asarray([1.0, 2.0], device=DEVICE, requires_grad=True)
    b = xp.asarray([3.0, 4.0])
    with pytest.raises(ValueError, match=rf"^{name}: arguments are on different devices") as info:
        call(a, b)
    message = str(info.value)
    assert str(DEVICE) in message and str(DEFAULT) in message
    assert "to_device" in message
    assert isinstance(info.value.__cause__, ValueError)  # the backend's own error stays attached


def test_untracked_ops_report_mixed_devices_too() -> None:
    a = xp.asarray([1, 2], device=DEVICE)
    b = xp.asarray([3, 4])
    with pytest.raises(ValueError, match=r"^equal: arguments are on different devices"):
        a == b  # noqa: B015


def test_backward_refuses_a_gradient_on_another_device() -> None:
    x = xp.asarray([1.0, 2.0], device=DEVICE, requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=r"backward: gradient is on device .*device1"):
        y.backward(xp.ones(2))
    y.backward(xp.ones(2, device=DEVICE))
    assert x.grad.device == DEVICE


def test_repeat_with_array_repeats_on_the_device() -> None:
    # the table's rows make their repeats on the default device (jax tracers have no .device), so here
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=DEVICE, requires_grad=True)
    repeats = xp.asarray([2, 0, 3], device=DEVICE)
    y = xp.repeat(x, repeats, axis=0)
    assert y.device == DEVICE and y.shape == (5, 2)
    xp.sum(y * y).backward()
    assert x.grad.device == DEVICE
    expected = 2 * np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]) * np.array([[2], [0], [3]])
    np.testing.assert_allclose(np.asarray(x.grad.to_device(DEFAULT)), expected)
    with pytest.raises(ValueError, match=r"^repeat: arguments are on different devices"):
        xp.repeat(x, xp.asarray([2, 0, 3]), axis=0)
