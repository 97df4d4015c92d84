"""Every row of the gradient table, on every backend, against independent references.

The checks live in ``conformance/gradients.py`` (shared with ``python -m conformance``): the forward equals
the raw backend's; the gradient matches central finite differences in float64, for real and complex
inputs and, for element-wise functions, on shapes that hypothesis draws (broadcasting and 0-D included);
it matches jax.vjp on raw jax.numpy; float32 inputs get float32 gradients.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from conformance import gradients
from conformance.cases import CASES, Case

BACKENDS = gradients.BACKENDS


def _params(complex_only: bool = False) -> list:
    return [
        pytest.param(case, backend, id=f"{case.id}-{backend}")
        for case in CASES
        for backend in BACKENDS
        if not complex_only or case.complex
    ]


def _run(check, *args, **kwargs) -> None:
    try:
        check(*args, **kwargs)
    except gradients.CheckSkipped as reason:
        pytest.skip(str(reason))


@pytest.mark.parametrize(("case", "backend"), _params())
def test_forward_equals_raw_backend(case: Case, backend: str) -> None:
    _run(gradients.check_forward, case, backend)


@pytest.mark.parametrize(("case", "backend"), _params())
def test_gradient_matches_finite_differences(case: Case, backend: str) -> None:
    _run(gradients.check_finite_differences, case, backend)


@pytest.mark.parametrize(("case", "backend"), _params(complex_only=True))
def test_complex_gradient_matches_finite_differences(case: Case, backend: str) -> None:
    _run(gradients.check_finite_differences, case, backend, complex_inputs=True)


@pytest.mark.parametrize(
    ("case", "complex_inputs"),
    [pytest.param(c, False, id=f"{c.id}-real") for c in CASES if c.jax_reference]
    + [pytest.param(c, True, id=f"{c.id}-complex") for c in CASES if c.jax_reference and c.complex],
)
def test_gradient_matches_jax_vjp(case: Case, complex_inputs: bool) -> None:
    _run(gradients.check_jax, case, complex_inputs)


@pytest.mark.parametrize(("case", "backend"), _params())
def test_float32_gradients_stay_float32(case: Case, backend: str) -> None:
    _run(gradients.check_float32, case, backend)


@pytest.mark.parametrize("case", [c for c in CASES if c.broadcastable], ids=lambda c: c.id)
@given(data=st.data())
def test_elementwise_gradients_on_drawn_broadcast_shapes(case: Case, data: st.DataObject) -> None:
    shapes = data.draw(mutually_broadcastable_shapes(num_shapes=len(case.shapes), min_dims=0, max_dims=3,
                                                     max_side=3), label="shapes").input_shapes
    seed = data.draw(st.integers(0, 2**16), label="seed")
    backend = data.draw(st.sampled_from(BACKENDS), label="backend")
    _run(gradients.check_forward, case, backend, seed=seed, shapes=shapes)
    _run(gradients.check_finite_differences, case, backend, seed=seed, shapes=shapes)
