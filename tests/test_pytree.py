"""Pytrees: tree_map / tree_leaves / tree_flatten / tree_unflatten, registered nodes, dataclasses and NamedTuples,
in every functional transform and optimizer, on every backend; jax.tree_util sees the same nodes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from typing import Any, NamedTuple

import numpy as np
import pytest
from array_api_compat import array_namespace

import wrapgrad
from wrapgrad import optim


@dataclasses.dataclass
class Layer:
    w: Any
    b: Any
    name: str = dataclasses.field(default="layer", metadata={"static": True})


class Pair(NamedTuple):
    first: Any
    second: Any


class Box:
    """A plain class, made a node by register_pytree_node."""

    def __init__(self, value: Any, label: str) -> None:
        self.value, self.label = value, label


wrapgrad.register_pytree_node(Box, lambda b: ((b.value,), b.label), lambda label, children: Box(*children, label))


@dataclasses.dataclass
class Explicit:
    x: Any
    scale: float


wrapgrad.register_dataclass(Explicit, data_fields=["x"], meta_fields=["scale"])


def test_flatten_unflatten_round_trip() -> None:
    tree = {"b": [1, (2, None)], "a": Layer(3, 4, "L"), "c": Pair(5, Box(6, "x")), "d": Explicit(7, 0.5)}
    leaves, treedef = wrapgrad.tree_flatten(tree)
    assert leaves == [3, 4, 1, 2, 5, 6, 7]  # dict keys sorted, dataclass fields in order, static fields skipped
    assert treedef.num_leaves == 7
    back = wrapgrad.tree_unflatten(treedef, leaves)
    assert back["a"] == Layer(3, 4, "L") and back["c"].second.label == "x" and back["d"] == Explicit(7, 0.5)
    assert back["b"] == [1, (2, None)]
    assert wrapgrad.tree_leaves(tree) == leaves
    assert wrapgrad.tree_structure(tree) == treedef
    assert wrapgrad.tree_structure(Layer(1, 2, "other")) != wrapgrad.tree_structure(Layer(1, 2, "L"))
    with pytest.raises(ValueError, match="has 7 leaves, got 2"):
        wrapgrad.tree_unflatten(treedef, [1, 2])


def test_tree_map_matches_jax_tree_util() -> None:
    jax = pytest.importorskip("jax")
    tree = {"a": Layer(1.0, 2.0), "b": [3.0, Pair(4.0, 5.0)], "c": Box(6.0, "t")}
    other = wrapgrad.tree_map(lambda x: 10 * x, tree)
    ours = wrapgrad.tree_map(lambda x, y: x + y, tree, other)
    # jax knows our nodes (wrapgrad registered them with jax, since jax is imported), so it is a reference
    theirs = jax.tree_util.tree_map(lambda x, y: x + y, tree, other)
    assert wrapgrad.tree_leaves(ours) == jax.tree_util.tree_leaves(theirs) == [11.0, 22.0, 33.0, 44.0, 55.0, 66.0]
    assert wrapgrad.tree_leaves(tree, is_leaf=lambda x: isinstance(x, Pair))[3] == Pair(4.0, 5.0)
    with pytest.raises(ValueError, match="structure"):
        wrapgrad.tree_map(lambda x, y: x, tree, {"a": 1})


def test_register_refuses_twice_and_non_types() -> None:
    with pytest.raises(ValueError, match="already"):
        wrapgrad.register_pytree_node(Box, lambda b: ((), None), lambda a, c: Box(0, ""))
    with pytest.raises(ValueError, match="already"):
        wrapgrad.register_pytree_node(dict, lambda b: ((), None), lambda a, c: {})
    with pytest.raises(TypeError, match="expected a type"):
        wrapgrad.register_pytree_node(Box(1, "x"), lambda b: ((), None), lambda a, c: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a dataclass"):
        wrapgrad.register_dataclass(Box)
    with pytest.raises(ValueError, match="must split"):

        @dataclasses.dataclass
        class Bad:
            x: Any
            y: Any

        wrapgrad.register_dataclass(Bad, data_fields=["x"], meta_fields=[])


def model_loss(layer: Layer, pair: Pair, box: Box, x: Any) -> Any:
    xp = array_namespace(layer.w, x)
    h = xp.tanh(x @ layer.w + layer.b) * pair.first + pair.second * box.value
    return xp.sum(h * h)


def make_args(xp: Any) -> tuple[Any, ...]:
    rng = np.random.default_rng(3)
    layer = Layer(xp.asarray(rng.standard_normal((3, 2))), xp.asarray(rng.standard_normal(2)), "hidden")
    pair = Pair(xp.asarray(rng.standard_normal(())), xp.asarray(rng.standard_normal(2)))
    box = Box(xp.asarray(rng.standard_normal(())), "scale")
    return layer, pair, box, xp.asarray(rng.standard_normal((4, 3)))


def flat_loss(xp: Any, args: tuple[Any, ...]) -> tuple[Any, list[Any]]:
    """The same loss as a function of one flat vector of every leaf, for finite differences."""
    trees = args[:3]
    leaves, treedef = wrapgrad.tree_flatten(trees)
    arrays = [np.asarray(leaf) for leaf in leaves]

    def f(v: np.ndarray) -> float:
        parts, start = [], 0
        for a in arrays:
            parts.append(xp.asarray(v[start:start + a.size].reshape(a.shape)))
            start += a.size
        return float(model_loss(*wrapgrad.tree_unflatten(treedef, parts), args[3]))

    return f, arrays


def test_grad_and_vjp_accept_registered_nodes(xp: Any) -> None:
    args = make_args(xp)
    g_layer, g_pair, g_box = wrapgrad.grad(model_loss, argnums=(0, 1, 2))(*args)
    assert isinstance(g_layer, Layer) and g_layer.name == "hidden"
    assert isinstance(g_pair, Pair) and isinstance(g_box, Box) and g_box.label == "scale"
    f, arrays = flat_loss(xp, args)
    v = np.concatenate([a.ravel() for a in arrays])
    eps = 1e-6
    numeric = np.array([(f(v + eps * e) - f(v - eps * e)) / (2 * eps) for e in np.eye(v.size)])
    ours = np.concatenate([np.asarray(leaf).ravel() for leaf in wrapgrad.tree_leaves((g_layer, g_pair, g_box))])
    np.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-8)

    out, vjp_fn = wrapgrad.vjp(lambda layer: layer.w * 2.0, args[0])
    (ct,) = vjp_fn(xp.ones_like(out))
    assert isinstance(ct, Layer)
    np.testing.assert_array_equal(np.asarray(ct.w), 2.0)
    np.testing.assert_array_equal(np.asarray(ct.b), 0.0)


def test_jacrev_and_hessian_accept_dataclasses(xp: Any) -> None:
    layer = Layer(xp.asarray([1.0, 2.0]), xp.asarray(0.5))

    def f(p: Layer) -> Any:
        array_namespace(p.w)
        return p.w * p.w * p.b

    jac = wrapgrad.jacrev(f)(layer)
    assert isinstance(jac, Layer)
    np.testing.assert_allclose(np.asarray(jac.w), np.diag([2.0, 4.0]) * 0.5)
    np.testing.assert_allclose(np.asarray(jac.b), [1.0, 4.0])
    xq = array_namespace(layer.w)
    hess = wrapgrad.hessian(lambda p: xq.sum(p.w ** 3) * p.b)(layer)
    assert isinstance(hess, Layer) and isinstance(hess.w, Layer)
    np.testing.assert_allclose(np.asarray(hess.w.w), np.diag([6.0 * 1 * 0.5, 6.0 * 2 * 0.5]))
    np.testing.assert_allclose(np.asarray(hess.w.b), [3.0, 12.0])


def test_optimizers_accept_dataclasses(xp: Any) -> None:
    args = make_args(xp)
    layer = args[0]
    opt = optim.adam(0.1)
    state = opt.init(layer)
    grads = wrapgrad.grad(model_loss)(*args)
    updates, state = opt.update(grads, state, layer)
    new = optim.apply_updates(layer, updates)
    assert isinstance(new, Layer) and new.name == "hidden"
    # Adam's first step is -lr * sign(g) (up to eps)
    want = np.asarray(layer.w) - 0.1 * np.sign(np.asarray(grads.w))
    np.testing.assert_allclose(np.asarray(new.w), want, rtol=1e-6)


def test_stop_gradient_walks_dataclasses(xp: Any) -> None:
    layer = Layer(xp.asarray([1.0], requires_grad=True), xp.asarray(2.0, requires_grad=True))
    out = wrapgrad.stop_gradient(layer)
    assert isinstance(out, Layer) and not out.w.requires_grad and not out.b.requires_grad


def test_a_leaf_that_is_not_an_array_is_named(xp: Any) -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"holds a Opaque, which is neither an array nor a pytree node.*register"):
        wrapgrad.grad(lambda p: p)({"w": Opaque()})


def test_jitted_optimizer_state_with_dataclasses() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    layer = Layer(jnp.asarray([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]]), jnp.asarray([0.1, -0.2]), "jitted")
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)))
    opt = optim.adamw(0.01, weight_decay=0.1)

    def loss(p: Layer, x: Any) -> Any:
        xp = array_namespace(p.w, x)
        return xp.sum(xp.tanh(x @ p.w + p.b) ** 2)

    @jax.jit
    def step(p: Layer, state: Any) -> tuple[Layer, Any]:
        updates, state = opt.update(wrapgrad.grad(loss)(p, x), state, p)
        return optim.apply_updates(p, updates), state

    state = opt.init(layer)
    p_jit, p_eager = layer, layer
    state_eager = state
    for _ in range(5):
        p_jit, state = step(p_jit, state)
        updates, state_eager = opt.update(wrapgrad.grad(loss)(p_eager, x), state_eager, p_eager)
        p_eager = optim.apply_updates(p_eager, updates)
    assert isinstance(p_jit, Layer) and p_jit.name == "jitted"
    np.testing.assert_allclose(np.asarray(p_jit.w), np.asarray(p_eager.w), rtol=1e-12)
    # the reference: jax.grad on the same dataclass, which jax can flatten because wrapgrad registered it
    g = jax.grad(loss)(layer, x)
    np.testing.assert_allclose(np.asarray(wrapgrad.grad(loss)(layer, x).w), np.asarray(g.w), rtol=1e-12)


def test_jax_registration_is_lazy() -> None:
    """Registering a node never imports jax; importing jax later still gets the node registered."""
    code = textwrap.dedent("""
        import dataclasses, sys
        import wrapgrad
        @dataclasses.dataclass
        class P:
            w: object
        class Q:
            def __init__(self, v): self.v = v
        wrapgrad.register_pytree_node(Q, lambda q: ((q.v,), None), lambda _, c: Q(*c))
        wrapgrad.tree_leaves(P(1.0))
        assert "jax" not in sys.modules, "wrapgrad imported jax"
        import jax
        wrapgrad.tree_leaves(P(2.0))   # the first flatten after jax is imported registers the pending nodes
        assert jax.tree_util.tree_leaves([P(3.0), Q(4.0)]) == [3.0, 4.0]
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_configuration_dataclass_passes_through_unchanged(xp: Any) -> None:
    @dataclasses.dataclass
    class Config:
        scale: float

    config = Config(3.0)
    seen = []

    def f(x: Any, cfg: Config) -> Any:
        seen.append(cfg)
        return array_namespace(x).sum(x * cfg.scale)

    g = wrapgrad.grad(f)(xp.asarray([1.0, 2.0]), config)
    assert seen[0] is config  # no array inside: nothing to wrap, so the object itself
    np.testing.assert_array_equal(np.asarray(g), [3.0, 3.0])
