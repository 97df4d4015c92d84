"""The runnable examples, each smoke-tested at small sizes in a subprocess, as a user runs them.

Each script checks its own result and exits non-zero when it is wrong (a loss that does not fall, a gradient
that differs from finite differences, a minimum that differs from SciPy's numeric-gradient run).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(script: str, *args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--small", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"examples/{script} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "jax"])
def test_train_mlp(backend: str, tmp_path: Path) -> None:
    pytest.importorskip(backend)
    plot = tmp_path / "curve.png"
    out = run("train_mlp.py", "--backend", backend, "--plot", str(plot), cwd=tmp_path)
    losses = [float(line.split("loss")[1].split()[0]) for line in out.splitlines() if line.startswith("step")]
    assert len(losses) >= 3 and losses[-1] < losses[0]
    if importlib.util.find_spec("matplotlib") is not None:
        assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"
    else:
        assert "no plot" in out


def test_scipy_minimize(tmp_path: Path) -> None:
    pytest.importorskip("scipy")
    out = run("scipy_minimize.py", cwd=tmp_path)
    assert "OK: the same minima" in out


def test_sklearn_gradients(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    out = run("sklearn_gradients.py", cwd=tmp_path)
    assert "OK: the gradient through the pipeline matches finite differences" in out
