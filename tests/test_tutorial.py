"""The reference user story: PyTorch's autograd tutorial, on every backend, with the tutorial's numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "autograd_tutorial.py"


@pytest.mark.parametrize("name", ["numpy", "array_api_strict", "jax"])
def test_tutorial_numbers(name: str) -> None:
    if name == "jax":
        pytest.importorskip("jax")
    if name == "array_api_strict":
        pytest.importorskip("array_api_strict")
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import autograd_tutorial
    finally:
        sys.path.pop(0)
    r = autograd_tutorial.main(name)
    assert r["data_requires_grad"] is False
    assert r["y_grad_fn"] == "AddBackward0" and r["x_grad_fn"] is None
    assert r["out"] == 27.0
    assert r["b_grad_fn"] == "SumBackward0"
    np.testing.assert_array_equal(r["x_grad"], np.full((2, 2), 4.5))
    scale = r["scale"]
    assert scale == 2 ** round(np.log2(scale)) and scale >= 2  # y = 2^n x
    np.testing.assert_allclose(r["jacobian"], scale * np.eye(3), rtol=1e-12)
    np.testing.assert_allclose(r["vjp"], scale * np.array([0.1, 1.0, 0.0001]), rtol=1e-12)
    assert r["no_grad_requires_grad"] is False
    assert r["detach_requires_grad"] is False and r["detach_equal"] is True


def test_tutorial_script_prints_the_tutorials_lines() -> None:
    out = subprocess.run([sys.executable, str(EXAMPLE), "--backend", "numpy"], capture_output=True, text=True,
                         check=True).stdout
    for expected in ("grad_fn=<AddBackward0>", "grad_fn=<MulBackward0>", "tensor(27., grad_fn=<MeanBackward0>)",
                     "<SumBackward0 object at", "[4.5, 4.5]", "1024.", "tensor(True)"):
        assert expected in out
