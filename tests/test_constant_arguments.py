"""Rules that read only shapes (uses_args=False) see the shapes of constant arguments too."""

from __future__ import annotations

import numpy as np

import wrapgrad


def test_concat_with_a_constant_piece(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    constant = xp.asarray([3.0])
    xp.sum(xp.concat([x, constant]) * xp.asarray([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [1.0, 2.0])


def test_concat_with_a_constant_piece_under_create_graph(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    (g,) = wrapgrad.autograd_grad([xp.sum(x * x * x)], [x], create_graph=True)  # 3x²
    (h,) = wrapgrad.autograd_grad([xp.sum(xp.concat([g, xp.asarray([3.0])]))], [x])
    np.testing.assert_allclose(np.asarray(h), [6.0, 12.0])
