"""The tape: :class:`Node`, :func:`fit_grad` and the one iterative backward engine.

A Node is one recorded operation. Its ``next`` holds one edge per positional array argument: ``None``
when that argument needs no gradient, else ``(target, output_nr)`` where ``target`` is the argument's own
Node (a non-leaf) or the argument Tensor itself (a leaf that requires grad). The node stores the edges
split: it is itself the list of their targets, and keeps their output numbers in a tuple (see
:class:`Node`); ``next`` builds the pairs.

:func:`run_backward` walks the graph without recursion (Kahn's algorithm over dependency counts), so a
chain of 10^5 operations needs no deep Python stack, and it drops every cotangent buffer as soon as it is
consumed and every saved array as soon as its node has run (unless ``retain_graph``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ._zero_cotangent import ZERO_COTANGENTS

if TYPE_CHECKING:
    from ._backend import Backend
    from ._tensor import Tensor

__all__ = ["ANOMALY", "ArgMeta", "Factor", "Node", "Rule", "fit_grad", "new_node", "node_from_edges", "run_backward"]

Edge = tuple[Any, int]  # (Node or leaf Tensor, output number)


class Rule(NamedTuple):
    """The gradient rule of one operation: one VJP per positional array argument.

    Each VJP is ``vjp(xp, g, ans, *args, **params) -> cotangent of that argument``; ``None`` marks an
    argument that is not differentiable (an index, a condition). ``uses_args`` and ``uses_ans`` say what the
    node must keep alive for backward: ``add`` keeps nothing, ``exp`` keeps only its result.
    """

    vjps: tuple[Callable[..., Any] | None, ...]
    uses_args: bool = True
    uses_ans: bool = False
    joint: bool = False  # vjps holds one function that returns the cotangents of all arguments
    # A rule built for one call of a user-defined Function (wrapgrad._custom): an object with
    # ``grads(node, g, create_graph) -> list`` that runs the user's backward on Tensors itself.
    custom: Any = None
    # An element-wise rule given by local derivatives (``_derivatives.defderiv``): per argument, None or a
    # Factor, from which ``vjps`` were composed. The engine's hot path runs the factor itself: the derivative,
    # then the backend's guarded product, two calls where the composed VJP makes four.
    factors: tuple[Factor | None, ...] | None = None


class Factor(NamedTuple):
    """An argument's part of an element-wise rule: its cotangent is ``g * conj(deriv(xp, ans, *args))``, or with
    ``quotient`` ``g / conj(...)``, exactly 0 wherever ``g`` is 0 (``Backend.guarded_product``, the
    zero-cotangent guard)."""

    deriv: Callable[..., Any]
    quotient: bool


class ArgMeta(NamedTuple):
    """Stands in for an argument whose rule needs only its shape and dtype (``sum``, ``reshape``, ``add``)."""

    shape: tuple[int, ...]
    dtype: Any

    @property
    def ndim(self) -> int:
        return len(self.shape)


# What stands in for, or is saved as, a Python number argument (the lane's test of shapes): None or the number.
_NUMBER_TYPES = frozenset((type(None), bool, int, float, complex))

# The params of every node recorded without any (most of them): one shared, never-mutated dict, so that a
# node costs no dict of its own. Rules receive params as ``**params``, a fresh dict per call.
NO_PARAMS: dict[str, Any] = {}


def new_node(name: str, backend: Backend, rule: Rule | None, targets: Sequence[Any], nrs: tuple[int, ...] | None,
             input_meta: tuple[Any, ...] | None, saved_args: tuple[Any, ...] | None, ans: Any,
             params: dict[str, Any], n_outputs: int, multi: bool) -> Node:
    """The one constructor of a :class:`Node` (the funnel's): the edges already split (``targets``, ``nrs``), no
    checks; :func:`node_from_edges` splits them first."""
    node = Node(targets)
    node.name = name
    node.backend = backend
    node.rule = rule
    node.nrs = nrs
    node.input_meta = input_meta
    node.saved_args = saved_args
    node.ans = ans
    node.params = params if params else NO_PARAMS
    node.n_outputs = n_outputs
    node.multi = multi
    node.released = False
    return node


def node_from_edges(name: str, backend: Backend, rule: Rule | None, next_edges: tuple[Edge | None, ...],
                    input_meta: tuple[Any, ...] | None, saved_args: tuple[Any, ...] | None, ans: Any,
                    params: dict[str, Any], n_outputs: int, multi: bool = False) -> Node:
    """A :class:`Node` from ``(target, output_nr)`` edges (user-defined Functions): split, then :func:`new_node`."""
    targets = tuple(None if edge is None else edge[0] for edge in next_edges)
    nrs = tuple(0 if edge is None else edge[1] for edge in next_edges)
    return new_node(name, backend, rule, targets, nrs if any(nrs) else None, input_meta, saved_args, ans, params,
                    n_outputs, multi)


# How torch names the nodes of the operators, so grad_fn reads as PyTorch users know it.
_TORCH_NODE_NAMES = {"multiply": "Mul", "subtract": "Sub", "divide": "Div", "negative": "Neg", "__getitem__": "Index"}


class Node(list[Any]):
    """One recorded operation: what backward needs to send cotangents to the operation's inputs.

    A Node *is* the list of its edges' targets: ``node[k]`` is the Node (or leaf Tensor) that argument k came
    from, ``None`` where that argument needs no gradient; ``nrs[k]`` is its output number (``nrs`` is ``None``
    as a whole when all are 0). Why a list: a long graph is mostly nodes, and Python's cyclic collector walks
    every container object that it tracks, again and again while the graph grows. A list keeps its items in
    its own memory, so the edges cost the collector no object of their own (a tuple of targets holds Nodes,
    so it would stay tracked: one more object per node). The rest holds as few tracked objects as it can:
    ``nrs`` holds ints only, the saved arguments are tuples of arrays and atoms (the collector untracks both),
    the ``ArgMeta`` stand-ins of a node are one tuple shared by every node of the same argument shapes and
    dtypes, and a node without params shares ``NO_PARAMS``. ``benchmarks/gcprobe.py`` counts what is left: one
    object per node.

    A Node compares and hashes by identity (it is a key of the engine's dicts) and is always true.
    """

    __slots__ = (
        "name", "backend", "rule", "nrs", "input_meta", "saved_args", "ans", "params", "n_outputs", "multi",
        "released", "__weakref__",
    )

    __hash__ = object.__hash__  # type: ignore[assignment]
    __eq__ = object.__eq__
    __ne__ = object.__ne__

    def __bool__(self) -> bool:
        return True

    name: str
    backend: Backend
    rule: Rule | None
    nrs: tuple[int, ...] | None
    # A stand-in with the shape and dtype of each array argument (an ArgMeta; or for an element-wise rule that
    # keeps its result, the result itself: _apply.stand_ins_of_one), None for scalars; None as a whole when
    # saved_args holds the arguments themselves (see arg_meta).
    input_meta: Sequence[Any] | None
    saved_args: Sequence[Any] | None
    ans: Any
    params: dict[str, Any]
    n_outputs: int
    # A tuple result (even of one array, as meshgrid(x)): cotangents travel as a list, one slot each.
    multi: bool
    released: bool

    @property
    def targets(self) -> tuple[Any, ...]:
        """The target of each edge: the argument's Node, the leaf Tensor itself, or ``None``."""
        return tuple(self)

    @property
    def next(self) -> tuple[Edge | None, ...]:
        """One edge per positional array argument: ``None``, or ``(target, output_nr)``."""
        nrs = self.nrs
        if nrs is None:
            return tuple(None if t is None else (t, 0) for t in self)
        return tuple(None if t is None else (t, nr) for t, nr in zip(self, nrs))

    def __repr__(self) -> str:
        return f"<{self.type_name()} object at {id(self):#x}>"

    def type_name(self) -> str:
        """The torch-style name of this node, e.g. ``AddBackward0``, ``MulBackward0``, or ``MyFnBackward`` for a
        user-defined Function ``MyFn``."""
        if self.rule is not None and self.rule.custom is not None:
            return f"{self.name}Backward"
        base = _TORCH_NODE_NAMES.get(self.name)
        if base is None:
            base = "".join(part.capitalize() for part in self.name.replace(".", "_").split("_"))
        return f"{base}Backward0"

    def release(self) -> None:
        """Drop the saved arrays: backward has used them and the graph is not retained."""
        if self.rule is not None and (self.rule.uses_args or self.rule.uses_ans):
            self.released = True
            # A released node runs no rule again, and its stand-ins may hold its result (stand_ins_of_one).
            self.input_meta = None
        self.saved_args = None
        self.ans = None

    def input_grads(self, g: Any, create_graph: bool) -> list[Any]:
        """Run the rule: the cotangent of every argument with an edge (``None`` elsewhere), fitted to its
        shape and dtype.

        The engine runs the common case (a rule with one VJP per argument, on raw arrays) inline; this is
        the general form: joint rules, user-defined Functions and ``create_graph`` (a recorded backward),
        and the place that says why backward cannot pass through a node.
        """
        rule = self.rule
        if rule is None:
            raise NotImplementedError(
                f"{self.name}: no gradient rule is defined, so backward cannot pass through it "
                f"(detach its input, or compute it under no_grad)"
            )
        if self.released:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time (the saved values of "
                f"{self.type_name()} were freed by the first backward); pass retain_graph=True to the "
                f"first backward call if you need to backward twice"
            )
        args: Sequence[Any] | None
        if create_graph:
            if rule.custom is not None:  # a user-defined Function: it handles Tensors itself
                return rule.custom.grads(self, g, True)
            xp, g, ans, args = self._recorded_inputs(g)
        else:
            if rule.custom is not None:
                return rule.custom.grads(self, g, False)
            xp, ans, args = self.backend.xp, self.ans, self.saved_args
        metas = self.arg_meta()
        if args is None:  # the rule reads only shapes and dtypes: its ArgMeta stand-ins, not the arrays
            args = metas
        params = self.params
        if rule.joint:
            joint_vjp = rule.vjps[0]
            assert joint_vjp is not None
            raw_grads = joint_vjp(xp, g, ans, *args, **params)
        else:
            raw_grads = [None if edge is None or vjp is None else vjp(xp, g, ans, *args, **params)
                         for vjp, edge in zip(rule.vjps, self.next)]
        fitted: list[Any] = []
        for gi, edge, meta in zip(raw_grads, self.next, metas):
            if edge is None or gi is None or meta is None:
                fitted.append(None)
            else:
                fitted.append(fit_grad(xp, gi, meta.shape, meta.dtype))
        return fitted

    def arg_meta(self) -> Sequence[Any]:
        """A stand-in of each array argument, with its ``shape`` and ``dtype`` (see ``input_meta``), ``None`` for
        scalars and absent arguments.

        The funnel keeps them only for rules that do not keep the arguments themselves (``uses_args=False``);
        otherwise they are made from the saved arguments.
        """
        if self.input_meta is not None:
            return self.input_meta
        assert self.saved_args is not None, "arg_meta: the saved arguments were released"
        return tuple(None if not hasattr(a, "shape") else ArgMeta(a.shape, a.dtype) for a in self.saved_args)

    def _recorded_inputs(self, g: Any) -> tuple[Any, Any, Any, Any]:
        """The rule's inputs as Tensors on the graph, so that backward itself is recorded."""
        from ._tensor import Tensor

        backend = self.backend
        xp = backend.namespace

        def as_tensor(value: Any, edge: Edge | None) -> Any:
            if value is None or isinstance(value, (bool, int, float, complex, Tensor)):
                return value
            if edge is not None and type(edge[0]) is not Node:
                return edge[0]  # a leaf: the Tensor itself, so gradients reach it
            node, nr = edge if edge is not None else (None, 0)
            return Tensor._make(value, backend, node, nr)

        if isinstance(g, (list, tuple)):
            g = type(g)(None if gi is None else as_tensor(gi, None) for gi in g)
        else:
            g = as_tensor(g, None)
        args = None
        if self.saved_args is not None:
            args = tuple(as_tensor(a, e) for a, e in zip(self.saved_args, self.next))
        ans = self.ans
        if ans is not None:
            if not self.multi:
                ans = Tensor._make(ans, backend, self, 0)
            else:
                ans = type(ans)(*(Tensor._make(a, backend, self, i) for i, a in enumerate(ans)))
        return xp, g, ans, args


def fit_grad(xp: Any, g: Any, shape: Any, dtype: Any) -> Any:
    """Fit a cotangent to its input: sum over broadcast axes, then cast to the input's dtype.

    The one place where broadcasting and dtype promotion are undone; rules never deal with either.
    A complex cotangent of a real input keeps its real part (torch's convention).
    """
    if g.shape != shape:
        g = _unbroadcast(xp, g, tuple(shape))
    if g.dtype != dtype:
        if xp.isdtype(g.dtype, "complex floating") and not xp.isdtype(dtype, "complex floating"):
            g = xp.real(g)
        g = xp.astype(g, dtype)
    return g


def _unbroadcast(xp: Any, g: Any, shape: tuple[int, ...]) -> Any:
    lead = g.ndim - len(shape)
    if lead > 0:
        g = xp.sum(g, axis=tuple(range(lead)))
    if lead >= 0:
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        if axes:
            g = xp.sum(g, axis=axes, keepdims=True)
    if g.shape != shape:  # a rule may return a cotangent that still needs broadcasting up, e.g. a 0-D zero
        g = xp.broadcast_to(g, shape)
    return g


# -- per-tensor extras: hooks, retained gradients, anomaly mode ------------------------------------------
# They live outside Node and Tensor so that a graph without them pays nothing: the engine looks here only
# when one of them is non-empty. Keyed weakly by Node (which compares by identity), so they never keep a
# graph alive. Hooks of a leaf are kept on the leaf Tensor itself (``Tensor._hooks``).


class _AnomalyState:
    """Whether anomaly mode is on (a process-wide switch, like torch's), and what it recorded."""

    __slots__ = ("check_forward", "on", "where_created")

    def __init__(self) -> None:
        self.on = False
        self.check_forward = True
        # Node -> the traceback of the forward call that recorded it (only filled in anomaly mode).
        self.where_created: weakref.WeakKeyDictionary[Node, str] = weakref.WeakKeyDictionary()


ANOMALY = _AnomalyState()

# Node -> {output_nr: {handle id: hook}}
NODE_HOOKS: weakref.WeakKeyDictionary[Node, dict[int, dict[int, Callable[..., Any]]]] = weakref.WeakKeyDictionary()
# Node -> {output_nr: weak reference to the non-leaf Tensor whose .grad backward fills (retain_grad)}
RETAINED: weakref.WeakKeyDictionary[Node, dict[int, Any]] = weakref.WeakKeyDictionary()
LEAF_HOOKS_ALIVE = [0]  # how many hooks are registered on leaves (the engine skips the look-up at 0)


def _wrap_for_hook(g: Any, backend: Any) -> Any:
    from ._tensor import Tensor

    return g if isinstance(g, Tensor) else Tensor._make(g, backend)


def _run_hooks(hooks: dict[int, Callable[..., Any]], g: Any, backend: Any, create_graph: bool, what: str) -> Any:
    """Call each hook with the gradient as a Tensor; a hook that returns something replaces the gradient."""
    from ._tensor import Tensor

    for hook in list(hooks.values()):
        result = hook(_wrap_for_hook(g, backend))
        if result is None:
            continue
        if not isinstance(result, Tensor):
            result = Tensor(result)
        if result._backend is not backend:
            raise TypeError(f"register_hook: a hook of {what} returned a gradient from {result._backend.name}, "
                            f"the tensor is from {backend.name}")
        if tuple(result._data.shape) != tuple(g.shape):
            raise ValueError(f"register_hook: a hook of {what} returned a gradient of shape "
                             f"{tuple(result._data.shape)}, but the gradient has shape {tuple(g.shape)}")
        g = result if create_graph else result._data
    return g


def _node_extras(target: Node, g: Any, create_graph: bool, leaf_grads: list[tuple[Any, Any]]) -> Any:
    """Run the hooks of the outputs of ``target`` and note the gradients that non-leaves retain."""
    hooks = NODE_HOOKS.get(target)
    retained = RETAINED.get(target)
    multi = target.multi
    for nr in range(target.n_outputs):
        gi = g[nr] if multi else g
        if gi is None:
            continue
        if hooks is not None and hooks.get(nr):
            gi = _run_hooks(hooks[nr], gi, target.backend, create_graph, target.type_name())
            if multi:
                g[nr] = gi
            else:
                g = gi
        if retained is not None and nr in retained:
            tensor = retained[nr]()
            if tensor is not None:
                leaf_grads.append((tensor, gi))
    return g


def _add_grad(buffers: dict[Any, Any], target: Any, nr: int, n_outputs: int, g: Any) -> None:
    if n_outputs == 0:
        previous = buffers.get(target)
        buffers[target] = g if previous is None else previous + g
        return
    slots = buffers.get(target)
    if slots is None:
        slots = buffers[target] = [None] * n_outputs
    slots[nr] = g if slots[nr] is None else slots[nr] + g


def _n_outputs(target: Any) -> int:
    """The number of cotangent slots of a multi-output node; 0 for a single array result (or a leaf)."""
    return target.n_outputs if type(target) is Node and target.multi else 0


def _leading_to(starts: list[Any], wanted: dict[Any, int]) -> set[Any]:
    """The nodes from which some wanted node or leaf can be reached: ``autograd_grad`` runs only these (as
    torch does), so it neither wastes work on other branches nor trips over their missing rules or freed
    values. An iterative post-order walk: a node is done after all of its inputs."""
    needed: set[Any] = set()
    visited: set[Any] = set()
    for start in starts:
        if type(start) is not Node:
            continue
        stack: list[tuple[Node, bool]] = [(start, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                if node in wanted or any(
                        t is not None and (t in needed or t in wanted) for t in node):
                    needed.add(node)
                continue
            if node in visited:
                continue
            visited.add(node)
            stack.append((node, True))
            for t in node:
                if t is not None and type(t) is Node and t not in visited:
                    stack.append((t, False))
    return needed


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Any],
    *,
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None = None,
) -> list[Any] | None:
    """Send ``root_grads`` back from ``roots`` through the recorded graph.

    With ``capture=None`` the gradients of the leaves are accumulated into their ``.grad``, all at the end,
    so an error half-way leaves every ``.grad`` as it was. With ``capture`` the gradients of those tensors
    (leaves or not) are returned instead, in order, ``None`` where no path leads to one.
    """
    # 1. Count, for every reachable node and leaf, how many edges lead into it (deps doubles as the seen-set).
    deps: dict[Any, int] = {}
    buffers: dict[Any, Any] = {}
    starts: list[Any] = []
    for root, g in zip(roots, root_grads):
        target = root._node if root._node is not None else root
        _add_grad(buffers, target, root._output_nr, _n_outputs(target), g)
        if target not in deps:
            deps[target] = 0
            starts.append(target)
    # (Plain loops, not comprehensions, here and below: on Python 3.11 each comprehension is a function call,
    # and a small backward, such as each row of a Jacobian, pays the set-up many times.)
    stack: list[Node] = []
    for t in starts:
        if type(t) is Node:
            stack.append(t)
    while stack:
        node: Node | None = stack.pop()
        while node is not None:  # down a chain without the stack: its one new input is the next node
            next_node: Node | None = None
            for child in node:
                if child is not None:
                    if child in deps:
                        deps[child] += 1
                    else:
                        deps[child] = 1
                        if type(child) is Node:
                            if next_node is None:
                                next_node = child
                            else:
                                stack.append(child)
            node = next_node

    captured: dict[Any, Any] = {}
    wanted: dict[Any, int] | None = None
    needed: set[Any] | None = None
    if capture is not None:
        wanted = {}
        for t in capture:
            key = t._node if t._node is not None else t
            wanted[key] = t._output_nr
        needed = _leading_to(starts, wanted)

    # 2. Run each node once all of its consumers have sent their cotangents.
    leaf_grads: list[tuple[Any, Any]] = []
    ready = []
    for t in starts:
        if deps[t] == 0:
            ready.append(t)
    # Looked up once: without hooks, retained non-leaves, capture and anomaly mode the loop below takes
    # only its plain path.
    extras = bool(NODE_HOOKS) or bool(RETAINED)
    leaf_hooks = LEAF_HOOKS_ALIVE[0] > 0
    anomaly = ANOMALY.on
    plain = not extras and wanted is None and not anomaly
    general = create_graph or anomaly  # every node through input_grads (recorded, or checked)
    # With the zero-cotangent guard on (the default), the hot path runs an element-wise rule's factors (see
    # Rule.factors); with ieee_cotangents() the composed VJPs, which then multiply plainly.
    use_factors = ZERO_COTANGENTS.get()
    lane = not extras and not general  # the lane (below): what the loop's top would do for a node, it does too
    args: Sequence[Any] = ()  # the hot path's rule arguments, per node
    # The node to run next, and its cotangent, when the last node made it ready: a chain (most of a graph)
    # then passes its cotangent straight on, without a round trip through ``buffers`` and ``ready``. Ready
    # nodes still run in the same order: ``upcoming`` is the top of the stack ``ready``.
    upcoming: Any = None
    upcoming_g: Any = None
    while upcoming is not None or ready:
        if upcoming is not None:
            target, g = upcoming, upcoming_g
            upcoming = upcoming_g = None
        else:
            target = ready.pop()
            g = buffers.pop(target, None)
        if type(target) is not Node:
            if g is not None:
                if leaf_hooks and getattr(target, "_hooks", None):
                    g = _run_hooks(target._hooks, g, target._backend, create_graph, "a leaf")
                if wanted is not None and target in wanted:
                    captured[target] = g
                leaf_grads.append((target, g))
            continue
        if not plain:
            if extras and g is not None:
                g = _node_extras(target, g, create_graph, leaf_grads if capture is None else [])
            if wanted is not None and target in wanted:
                captured[target] = g
            if (type(g) is list and all(gi is None for gi in g)) or (needed is not None and target not in needed):
                g = None
        # The lane: a run of nodes that each send their cotangent to one input Node, of which each is the last
        # consumer (a chain: most of a long graph), runs here without the bookkeeping of the loop below (the
        # dependency counts, buffers, the ready stack). It takes an input only if the checks above would pass
        # it unchanged (no capture of it, and it leads to something wanted), and stops at the first node it
        # cannot take, which the loop below then runs with its cotangent. The rule is called as in that loop's
        # hot path.
        while lane and g is not None:
            rule = target.rule
            child = target[0]
            n_edges = len(target)
            if (rule is None or rule.joint or target.released or type(child) is not Node or child.multi
                    or (n_edges != 1 and (n_edges != 2 or target[1] is not None))
                    or deps[child] != 1 or (buffers and child in buffers)
                    or (needed is not None and (child in wanted or child not in needed))):  # type: ignore[operator]
                break
            backend = target.backend
            xp, ans = backend.xp, target.ans
            saved = target.saved_args
            args = target.input_meta if saved is None else saved  # type: ignore[assignment]
            factors = rule.factors if use_factors else None
            if factors is not None:
                factor = factors[0]
                if factor is None:
                    gi = None
                else:
                    deriv, quotient = factor
                    gi = backend.factor_product(g, deriv(xp, ans, *args), quotient)
            else:
                vjp, params = rule.vjps[0], target.params
                gi = None if vjp is None else (
                    vjp(xp, g, ans, *args) if params is NO_PARAMS else vjp(xp, g, ans, *args, **params))
            if gi is not None:
                arg = args[0]
                dtype = arg.dtype
                # An element-wise rule (factors) of one array argument, alone or beside a Python number (None in
                # the stand-ins), keeps its argument's shape, and so does its cotangent, made in g's shape, the
                # result's: only its dtype can differ then.
                if ((gi.dtype is not dtype and gi.dtype != dtype)
                        or ((factors is None or (n_edges != 1 and type(args[1]) not in _NUMBER_TYPES))
                            and gi.shape != arg.shape)):
                    gi = fit_grad(xp, gi, arg.shape, dtype)
            if not retain_graph and (saved is not None or ans is not None):
                # Node.release, inline: on this path something saved means a rule that saves (1.5 % of W1).
                target.saved_args = target.ans = target.input_meta = None  # (the stand-ins may hold the result)
                target.released = True
            target, g = child, gi  # (its count stays 1: no other edge leads to it)
            gi = ans = None
            args = ()
        # What flows to the inputs: ``grads`` from input_grads, or, on the hot path (a rule with one VJP per
        # argument on raw arrays, by far the most common node), each VJP run in the loop below.
        rule = target.rule
        grads: list[Any] | None = None
        hot = False
        if g is not None:
            if rule is None or rule.joint or general or target.released:
                grads = target.input_grads(g, create_graph)
                if anomaly:
                    from ._anomaly import check_backward

                    check_backward(target, g, grads)
            else:
                hot = True
                backend = target.backend
                xp, ans, params, vjps = backend.xp, target.ans, target.params, rule.vjps
                factors = rule.factors if use_factors else None
                # The arguments, or for a rule that reads only shapes and dtypes, their ArgMeta stand-ins (the
                # funnel keeps one or the other).
                saved = target.saved_args
                args = target.input_meta if saved is None else saved  # type: ignore[assignment]
        for k, child in enumerate(target):
            if child is None:
                continue
            if hot:
                if factors is not None:  # an element-wise rule (no params): the guarded product, in two calls
                    factor = factors[k]
                    if factor is None:
                        gi = None
                    else:
                        deriv, quotient = factor
                        gi = backend.factor_product(g, deriv(xp, ans, *args), quotient)
                else:
                    vjp = vjps[k]
                    # Most nodes have no params (NO_PARAMS): a call without ** builds no kwargs dict.
                    gi = None if vjp is None else (
                        vjp(xp, g, ans, *args) if params is NO_PARAMS else vjp(xp, g, ans, *args, **params))
                if gi is not None:
                    # The argument (or its stand-in) has the shape and dtype the cotangent must have. Most
                    # cotangents already fit: test dtype identity before equality; fit_grad only if needed.
                    arg = args[k]
                    dtype = arg.dtype
                    if gi.shape != arg.shape or (gi.dtype is not dtype and gi.dtype != dtype):
                        gi = fit_grad(xp, gi, arg.shape, dtype)
            elif grads is None:
                gi = None
            else:
                gi = grads[k]
            remaining = deps[child] - 1
            deps[child] = remaining
            if type(child) is Node and child.multi:
                if gi is not None:
                    nrs = target.nrs
                    _add_grad(buffers, child, 0 if nrs is None else nrs[k], child.n_outputs, gi)
                if remaining:
                    continue
                total = buffers.pop(child, None)
            else:
                # The sum so far, taken out of buffers while gi is added to it (accumulate's reference count
                # then sees only this local name), and put back while other consumers are still to run.
                total = buffers.pop(child, None)
                if total is None:
                    total = gi
                elif gi is not None:
                    total = target.backend.accumulate(total, gi)
                if remaining:
                    if total is not None:
                        buffers[child] = total
                    total = None
                    continue
            if upcoming is not None:  # a second input made ready by this node: the first waits in ready
                ready.append(upcoming)
                if upcoming_g is not None:
                    buffers[upcoming] = upcoming_g
            upcoming, upcoming_g = child, total
            total = None
        if not retain_graph and (target.saved_args is not None or target.ans is not None):
            target.release()
        # Drop this node's cotangents and saved values now, not when the next iteration rebinds the names:
        # on large arrays that is one array less at the peak of backward.
        g = gi = grads = ans = None
        args = ()

    if capture is not None:
        results = []
        for t in capture:
            key = t._node if t._node is not None else t
            g = captured.get(key)
            if type(g) is list:
                g = g[t._output_nr]
            results.append(g)
        return results
    # A rule may hand the same array to several inputs (add's cotangent is g itself), and a root's cotangent
    # may be the caller's own array: give each .grad its own copy of such an array, so that writing into one
    # gradient (np.asarray(x.grad)[...] = 0) never changes another, or the caller's cotangent.
    given = set()
    for g in root_grads:
        given.add(id(g))
    for leaf, g in leaf_grads:
        if id(g) in given and not hasattr(g, "_node"):
            g = leaf._backend.xp.asarray(g, copy=True)
        given.add(id(g))
        leaf._accumulate_grad(g, create_graph)
    return None
