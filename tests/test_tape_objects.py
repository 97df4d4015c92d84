"""What a recorded node keeps: its edges (split into targets and output numbers), and few GC-tracked objects.

Python's cyclic collector walks every tracked container again and again while a graph grows, so the
number of tracked objects per recorded op is what makes a long forward's cost per op grow (issue 14).
These tests count them deterministically; the timings live in ``benchmarks/gcprobe.py``.
"""

from __future__ import annotations

import gc

import numpy as np

import wrapgrad.numpy as wnp
from wrapgrad import _graph


def _residual_chain(x, n_steps):
    y = x
    for _ in range(n_steps):
        y = y + wnp.sin(y) * 1e-4
    return wnp.sum(y)


def test_a_long_chain_keeps_few_gc_tracked_objects_per_op() -> None:
    x = wnp.asarray(np.linspace(-1.0, 1.0, 10), requires_grad=True)
    _residual_chain(x, 10)  # warm the caches the funnel fills on first use (dispatch, shared ArgMetas)
    gc.collect()
    before = len(gc.get_objects())
    loss = _residual_chain(x, 1000)  # 3000 recorded ops
    gc.collect()  # what every later collection sees: tuples of untracked atoms are untracked by now
    per_op = (len(gc.get_objects()) - before) / 3000
    # A node and its tuple of targets; the shared ArgMeta tuple of each add. Five before (edge tuples,
    # saved-argument lists, ArgMeta per argument).
    assert per_op <= 2.5, per_op
    loss.backward()
    x_v = np.linspace(-1.0, 1.0, 10)
    y = x_v.copy()
    d = np.ones_like(y)
    for _ in range(1000):
        d = d * (1 + np.cos(y) * 1e-4)
        y = y + np.sin(y) * 1e-4
    np.testing.assert_allclose(np.asarray(x.grad), d, rtol=1e-12)


def test_saved_arguments_and_meta_are_untracked_tuples() -> None:
    x = wnp.asarray([0.5, -1.0], requires_grad=True)
    s = wnp.sin(x)  # keeps its argument
    a = s + 1.0  # keeps only shapes and dtypes
    gc.collect()
    assert type(s.grad_fn.saved_args) is tuple and not gc.is_tracked(s.grad_fn.saved_args)
    assert type(a.grad_fn.input_meta) is tuple
    assert a.grad_fn.input_meta[0] is wnp.sum(a * 2.0).grad_fn.input_meta[0]  # one shared ArgMeta per (shape, dtype)
    assert a.grad_fn.params is _graph.NO_PARAMS


def test_next_rebuilds_edges_with_output_numbers() -> None:
    x = wnp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = wnp.asarray([-1.0, 0.5], requires_grad=True)
    a, b = wnp.meshgrid(x, y)
    out = a * b
    mesh = a.grad_fn
    assert out.grad_fn.next == ((mesh, 0), (mesh, 1))
    assert (b * 2.0).grad_fn.next == ((mesh, 1), None)
    assert mesh.next == ((x, 0), (y, 0))
    wnp.sum(out).backward()
    # sum_ij x_j y_i: d/dx_j = sum(y), d/dy_i = sum(x)
    np.testing.assert_allclose(np.asarray(x.grad), [-0.5] * 3)
    np.testing.assert_allclose(np.asarray(y.grad), [6.0] * 2)


def test_the_shared_empty_params_stay_empty() -> None:
    x = wnp.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = wnp.sum(wnp.sum(wnp.exp(x), axis=0) * 2.0)  # nodes with and without params
    loss.backward(retain_graph=True)
    loss.backward()
    assert _graph.NO_PARAMS == {}
    np.testing.assert_allclose(np.asarray(x.grad), 4.0 * np.exp([[1.0, 2.0], [3.0, 4.0]]))


def test_one_argmeta_per_shape_and_dtype_across_a_clear_of_the_tables(monkeypatch) -> None:
    """The stand-in tables are cleared when they grow too large: afterwards every table must again hand out
    the same ArgMeta for one shape and dtype (a table that outlived the clear kept the old ones)."""
    from wrapgrad import _apply

    monkeypatch.setattr(_apply, "_ARG_METAS_MAX", 8)
    x = wnp.asarray([0.5, -1.0], requires_grad=True)
    for n in range(1, 20):  # new shapes: the tables fill and are cleared several times
        y = wnp.asarray(np.ones(n), requires_grad=True)
        wnp.sum(y + 1.0)
        x + 1.0
        metas = [(x + 1.0).grad_fn.input_meta[0], wnp.sum(x).grad_fn.input_meta[0],
                 (x + x).grad_fn.input_meta[1], (2.0 + x).grad_fn.input_meta[1]]
        assert all(m is metas[0] for m in metas), n
