"""The Tensor conveniences users reach for, against numpy's and torch's behaviour, on every backend:
__format__, item, tolist, pickling and deepcopy, and the warning when a non-leaf's .grad is read."""

from __future__ import annotations

import copy
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

import wrapgrad


def values(t: Any) -> np.ndarray:
    return np.asarray(t.detach())


# -- __format__ ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [".3f", "8.2e", "+.1%", "", "g"])
def test_format_of_a_0d_tensor_is_the_format_of_its_value(xp: Any, spec: str) -> None:
    x = xp.asarray(1.23456, requires_grad=True)
    loss = x * 2.0  # a non-leaf on the tape, as a training loop's loss is
    assert format(loss, spec) == format(np.asarray(2.46912), spec) == format(2.46912, spec)
    assert f"{loss:.3f}" == "2.469"
    assert format(xp.asarray(7), "04d") == "0007"
    assert format(xp.asarray(True), "") == "True"


def test_format_of_other_shapes(xp: Any) -> None:
    t = xp.ones((2, 3))
    assert f"{t}" == str(t)
    assert f"{xp.ones((0,))}" == str(xp.ones((0,)))
    with pytest.raises(TypeError, match=r"unsupported format string passed to Tensor\.__format__"):
        format(t, ".3f")
    with pytest.raises(TypeError):  # the same refusal as numpy's
        format(np.ones((2, 3)), ".3f")


# -- item and tolist ----------------------------------------------------------------------------------------------


def test_item_gives_python_scalars(xp: Any) -> None:
    x = xp.asarray([[2.5]], requires_grad=True)
    value = (x * 2.0).item()  # works on the tape, like float(t)
    assert type(value) is float and value == 5.0
    assert type(xp.asarray(3).item()) is int and xp.asarray(3).item() == 3
    assert xp.asarray(False).item() is False
    c = xp.asarray(1.0 + 2.0j).item()
    assert type(c) is complex and c == 1 + 2j
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        xp.ones(2).item()


def test_tolist_matches_numpy_and_torch(xp: Any) -> None:
    data = np.arange(6.0).reshape(2, 3)
    t = xp.asarray(data, requires_grad=True)
    assert t.tolist() == data.tolist()
    assert all(type(v) is float for row in t.tolist() for v in row)
    assert xp.asarray([1, 2]).tolist() == [1, 2] and type(xp.asarray([1, 2]).tolist()[0]) is int
    assert xp.asarray(4.0).tolist() == 4.0
    torch = pytest.importorskip("torch")
    assert xp.asarray(data).tolist() == torch.tensor(data).tolist()
    assert xp.asarray(4.0).tolist() == torch.tensor(4.0).tolist()


# -- pickling and deepcopy ------------------------------------------------------------------------------------------


def test_pickle_a_leaf_keeps_its_data_and_requires_grad(xp: Any) -> None:
    w = xp.asarray([1.0, -2.0], requires_grad=True)
    xp.sum(w * w).backward()
    back = pickle.loads(pickle.dumps(w))
    assert back.requires_grad and back.is_leaf and back._backend is w._backend
    assert back.dtype == w.dtype
    np.testing.assert_array_equal(values(back), [1.0, -2.0])
    assert back.grad is None  # torch does not pickle .grad either
    # it is a working leaf: its gradient is its own
    xp.sum(back * 3.0).backward()
    np.testing.assert_array_equal(np.asarray(back.grad), [3.0, 3.0])
    np.testing.assert_array_equal(np.asarray(w.grad), [2.0, -4.0])
    plain = pickle.loads(pickle.dumps(xp.asarray([1, 2])))
    assert not plain.requires_grad and plain.tolist() == [1, 2]


def test_pickle_a_non_leaf_gives_a_leaf_with_its_values(xp: Any) -> None:
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    y = xp.exp(w)
    blob = pickle.dumps({"y": y, "step": 3})
    back = pickle.loads(blob)["y"]
    assert back.is_leaf and back.grad_fn is None and back.requires_grad  # torch's rule
    np.testing.assert_allclose(values(back), np.exp([1.0, 2.0]))
    # the graph is never pickled: the blob does not grow with the graph behind the tensor
    deep = w
    for _ in range(200):
        deep = deep * 1.0
    assert len(pickle.dumps(deep)) == len(pickle.dumps(w.detach().requires_grad_()))


def test_deepcopy_follows_torch(xp: Any) -> None:
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    xp.sum(w * w).backward()
    params = {"w": w, "same": w}
    best = copy.deepcopy(params)  # "keep the best parameters"
    assert best["w"] is best["same"]  # the memo keeps shared tensors shared
    assert best["w"] is not w and best["w"].requires_grad and best["w"].is_leaf
    np.testing.assert_array_equal(np.asarray(best["w"].grad), [2.0, 4.0])  # torch's deepcopy copies .grad
    with wrapgrad.no_grad():
        w -= 1.0
    np.testing.assert_array_equal(values(best["w"]), [1.0, 2.0])  # an independent copy
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(w * 2.0)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="graph leaves"):  # the same refusal
        copy.deepcopy(torch.ones(1, requires_grad=True) * 2)


def test_pickle_within_multiprocessing_style_round_trip(backend: str, xp: Any) -> None:
    """What joblib and multiprocessing do: pickle in one interpreter, unpickle in another."""
    import subprocess
    import sys

    t = xp.asarray([[1.5, 2.5]], requires_grad=True)
    code = (
        "import pickle, sys; import jax; jax.config.update('jax_enable_x64', True)\n" if backend == "jax" else
        "import pickle, sys\n"
    ) + "t = pickle.loads(sys.stdin.buffer.read()); print(t._backend.name, t.requires_grad, t.tolist())"
    result = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(t), capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split(None, 2) == [backend, "True", "[[1.5, 2.5]]\n"]


# -- .grad of a non-leaf ----------------------------------------------------------------------------------------


def test_reading_grad_of_a_non_leaf_warns_as_torch_does(xp: Any) -> None:
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    y = w * 2.0
    xp.sum(y).backward(retain_graph=True)
    with pytest.warns(UserWarning, match="not a leaf Tensor.*retain_grad"):
        assert y.grad is None
    with pytest.warns(UserWarning, match="not a leaf Tensor"):  # every time, not once
        y.grad  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert w.grad is not None  # a leaf: no warning
        z = w * 3.0
        z.retain_grad()
        xp.sum(z).backward()
        np.testing.assert_array_equal(np.asarray(z.grad), [1.0, 1.0])  # retained: no warning
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        (torch.ones(1, requires_grad=True) * 2).grad  # noqa: B018


def test_format_under_jit_prints_and_refuses_clearly() -> None:
    jax = pytest.importorskip("jax")
    import wrapgrad.jax as xj

    seen = []

    def f(x: Any) -> Any:
        t = xj.sum(xj.asarray(x) * 2.0)
        seen.append(f"{t}")  # a traced 0-D tensor still prints (its repr), as it did before __format__
        with pytest.raises(Exception, match=r"(?i)concret|tracer"):
            format(t, ".3f")  # a number format needs a value: jax's own refusal
        return t._data

    jax.jit(f)(jax.numpy.ones(3))
    assert seen and seen[0].startswith("tensor(")
