"""Optimizers and learning-rate schedules, in two styles over one update math.

**torch style**, over leaf Tensors, with ``torch.optim``'s names and defaults::

    opt = optim.Adam(params, lr=1e-3)
    for batch in data:
        opt.zero_grad()
        loss(params, batch).backward()
        opt.step()

**functional style**, over pytrees of Tensors or raw arrays, with optax's names, shape and defaults; it
runs under ``jax.jit``::

    opt = optim.adam(1e-3)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = optim.apply_updates(params, updates)

Both styles call the same per-array functions (``_sgd_direction``, ``_adam_direction``, ``_rms_direction``),
written with array-API operators, so the two agree with each other and with torch.optim and optax. Only
their defaults differ, as the libraries' do: torch's ``RMSprop`` has ``alpha=0.99`` and adds ``eps`` outside
the square root, optax's ``rmsprop`` has ``decay=0.9`` and adds it inside.

Updates never record on the tape (they run under :func:`wrapgrad.no_grad`) and a leaf stays a leaf.
Schedules are functions of the step count (optax's); :class:`StepLR` and :class:`CosineAnnealingLR` wrap them
in torch's epoch-counting classes. Real floating-point parameters only.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import array_api_compat

from ._grad_mode import enable_grad, no_grad
from ._pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten
from ._tensor import Tensor

__all__ = [
    "SGD", "Adam", "AdamW", "CosineAnnealingLR", "GradientTransformation", "LRScheduler", "Optimizer", "RMSprop",
    "StepLR", "adam", "adamw", "apply_updates", "constant_schedule", "cosine_decay_schedule", "rmsprop", "sgd",
    "step_decay_schedule",
]

Schedule = Callable[[Any], Any]

# -- the update math, shared by both styles: one array (a Tensor or a raw backend array) at a time -----------


def _moment(m: Any, g: Any, decay: float) -> Any:
    """An exponential moving average: ``decay * m + (1 - decay) * g``."""
    return decay * m + (1 - decay) * g


def _sgd_direction(g: Any, buf: Any, momentum: float, dampening: float, nesterov: bool) -> tuple[Any, Any]:
    """(direction, new momentum buffer). ``buf is None`` on the first step, where the buffer starts as ``g``
    (torch); a buffer of zeros gives the same, as optax's ``trace`` starts."""
    if not momentum:
        return g, buf
    buf = g if buf is None else momentum * buf + (1 - dampening) * g
    return (g + momentum * buf if nesterov else buf), buf


def _adam_direction(g: Any, m: Any, v: Any, vmax: Any, b1: float, b2: float, bc1: Any, bc2: Any, eps: float,
                    eps_root: float) -> tuple[Any, Any, Any, Any]:
    """(direction, m, v, vmax) of one Adam step; ``bc1``/``bc2`` are the bias corrections ``1 - b**t``, and
    ``vmax`` is AMSGrad's running maximum (``None`` without AMSGrad)."""
    xp = array_api_compat.array_namespace(g)
    m = _moment(m, g, b1)
    v = _moment(v, g * g, b2)
    if vmax is not None:
        vmax = xp.maximum(vmax, v)
    denominator = xp.sqrt((v if vmax is None else vmax) / bc2 + eps_root) + eps
    return (m / bc1) / denominator, m, v, vmax


def _rms_direction(g: Any, sq: Any, avg: Any, alpha: float, eps: float, centered: bool, eps_in_sqrt: bool,
                   bc: Any = 1.0) -> tuple[Any, Any, Any]:
    """(direction, mean square, mean) of one RMSprop step: ``g / sqrt(E[g^2] - E[g]^2 (centered) + eps)``, with
    ``eps`` inside the root (optax's default) or outside it (torch's); ``bc`` is an optional bias correction."""
    xp = array_api_compat.array_namespace(g)
    sq = _moment(sq, g * g, alpha)
    variance = sq / bc
    if centered:
        avg = _moment(avg, g, alpha)
        mean = avg / bc
        variance = variance - mean * mean
    if eps_in_sqrt:
        return g / xp.sqrt(variance + eps), sq, avg
    return g / (xp.sqrt(variance) + eps), sq, avg


def _check_real(op: str, x: Any) -> None:
    xp = array_api_compat.array_namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"{op}: parameters and gradients must be real floating-point arrays, got dtype {x.dtype}; "
                        f"optimize the real and imaginary parts as separate real parameters")


# -- schedules: functions of the step count -----------------------------------------------------------------------


def _float_count(count: Any) -> tuple[Any, Any]:
    """(namespace or None, count as a float): a Python number stays one; an array count (a jitted optimizer's)
    becomes a floating array of its own namespace."""
    if isinstance(count, (int, float)):
        return None, float(count)
    xp = array_api_compat.array_namespace(count)
    dtype = xp.__array_namespace_info__().default_dtypes(device=array_api_compat.device(count))["real floating"]
    return xp, xp.astype(count, dtype)


def constant_schedule(value: float) -> Schedule:
    """A schedule that is ``value`` at every step (``optax.constant_schedule``)."""
    return lambda count: value


def step_decay_schedule(init_value: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``init_value * gamma ** (count // step_size)``: torch's ``StepLR`` counted in steps, or
    ``optax.exponential_decay(init_value, step_size, gamma, staircase=True)``."""
    if step_size < 1:
        raise ValueError(f"step_decay_schedule: step_size must be a positive int, got {step_size}")

    def schedule(count: Any) -> Any:
        xp, c = _float_count(count)
        exponent = math.floor(c / step_size) if xp is None else xp.floor(c / step_size)
        return init_value * gamma ** exponent

    return schedule


def cosine_decay_schedule(init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` steps, then constant
    (``optax.cosine_decay_schedule``; torch's ``CosineAnnealingLR`` with ``eta_min = alpha * init_value``)."""
    if decay_steps < 1:
        raise ValueError(f"cosine_decay_schedule: decay_steps must be a positive int, got {decay_steps}")

    def schedule(count: Any) -> Any:
        xp, c = _float_count(count)
        if xp is None:
            cosine = 0.5 * (1 + math.cos(math.pi * min(c, decay_steps) / decay_steps))
        else:
            cosine = 0.5 * (1 + xp.cos(math.pi * xp.clip(c, max=float(decay_steps)) / decay_steps))
        return init_value * ((1 - alpha) * cosine ** exponent + alpha)

    return schedule


# -- functional style (optax's shape) --------------------------------------------------------------------------------


class GradientTransformation(NamedTuple):
    """An optimizer as a pair of pure functions (optax's ``GradientTransformation``).

    ``init(params) -> state`` and ``update(grads, state, params=None) -> (updates, state)``; add the updates to
    the parameters with :func:`apply_updates`. States are NamedTuples of pytrees, so they cross ``jax.jit``.
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class SgdState(NamedTuple):
    """State of :func:`sgd`: the step count and the momentum trace (``None`` without momentum)."""

    count: Any
    trace: Any


class AdamState(NamedTuple):
    """State of :func:`adam` and :func:`adamw`: the step count and the first and second moments."""

    count: Any
    mu: Any
    nu: Any


class RmspropState(NamedTuple):
    """State of :func:`rmsprop`: the step count, the mean square, the mean (centered) and the momentum trace."""

    count: Any
    nu: Any
    mu: Any
    trace: Any


def _leaves_checked(op: str, params: Any) -> list[Any]:
    leaves = tree_leaves(params)
    if not leaves:
        raise ValueError(f"{op}: params holds no array")
    for leaf in leaves:
        if not hasattr(leaf, "__array_namespace__"):
            raise TypeError(f"{op}: params holds a {type(leaf).__name__}, not an array; parameters are pytrees "
                            f"(tuples, lists, dicts, dataclasses, registered nodes) of arrays")
        _check_real(op, leaf)
    return leaves


def _zero_count(leaf: Any) -> Any:
    xp = array_api_compat.array_namespace(leaf)
    return xp.zeros((), dtype=xp.int32, device=array_api_compat.device(leaf))


def _zeros(tree: Any) -> Any:
    return tree_map(lambda p: array_api_compat.array_namespace(p).zeros_like(p), tree)


def _full(tree: Any, value: float) -> Any:
    return tree_map(lambda p: array_api_compat.array_namespace(p).full_like(p, value), tree)


def _like(value: Any, leaf: Any) -> Any:
    """A scalar hyperparameter (a Python number or a schedule's 0-D array) in ``leaf``'s dtype."""
    if isinstance(value, (int, float)):
        return value
    return array_api_compat.array_namespace(leaf).astype(value, leaf.dtype)


def _rate(learning_rate: float | Schedule, count: Any) -> Any:
    return learning_rate(count) if callable(learning_rate) else learning_rate


def _bias_correction(decay: float, count: Any, leaf: Any) -> Any:
    xp = array_api_compat.array_namespace(leaf)
    return 1 - decay ** xp.astype(count, leaf.dtype)


def _per_leaf(op: str, fn: Callable[..., tuple[Any, ...]], n_out: int, tree: Any, *others: Any) -> list[Any]:
    """Call ``fn`` on each leaf of ``tree`` with the matching leaves of ``others`` (``None`` for an absent tree),
    and return its ``n_out`` results as ``n_out`` trees shaped like ``tree``."""
    leaves, treedef = tree_flatten(tree)
    columns = []
    for other in others:
        if other is None:
            columns.append([None] * len(leaves))
            continue
        other_leaves, other_def = tree_flatten(other)
        if other_def != treedef:
            raise ValueError(f"{op}: the gradients have structure {treedef!r}, but the state has {other_def!r}; "
                             f"init the optimizer with parameters shaped like the gradients")
        columns.append(other_leaves)
    results = [[_same_kind(r, xs[0]) for r in fn(*xs)] for xs in zip(leaves, *columns, strict=True)]
    return [tree_unflatten(treedef, [r[i] for r in results]) for i in range(n_out)]


def _same_kind(result: Any, leaf: Any) -> Any:
    # Arithmetic on a 0-D array may give a scalar type (numpy's float64): keep the leaf's array type in the trees.
    if result is None or type(result) is type(leaf):
        return result
    return array_api_compat.array_namespace(leaf).asarray(result)


def _scaled(op: str, lr: Any, directions: Any) -> Any:
    return _per_leaf(op, lambda d: (-_like(lr, d) * d,), 1, directions)[0]


def sgd(learning_rate: float | Schedule, momentum: float | None = None, nesterov: bool = False
        ) -> GradientTransformation:
    """Stochastic gradient descent with optional (Nesterov) momentum (``optax.sgd``).

    ``learning_rate`` is a number or a schedule (a function of the step count). The update is
    ``-lr * g``, or with momentum ``-lr * trace`` where ``trace = g + momentum * trace`` (Nesterov:
    ``-lr * (g + momentum * trace)``).
    """

    def init(params: Any) -> SgdState:
        leaves = _leaves_checked("sgd.init", params)
        with no_grad():
            return SgdState(_zero_count(leaves[0]), _zeros(params) if momentum else None)

    def update(updates: Any, state: SgdState, params: Any = None) -> tuple[Any, SgdState]:
        with no_grad():
            lr = _rate(learning_rate, state.count)
            directions, trace = updates, None
            if momentum:
                directions, trace = _per_leaf("sgd.update", lambda g, t: _sgd_direction(g, t, momentum, 0.0, nesterov),
                                              2, updates, state.trace)
            return _scaled("sgd.update", lr, directions), SgdState(state.count + 1, trace)

    return GradientTransformation(init, update)


def _adam_family(op: str, learning_rate: float | Schedule, b1: float, b2: float, eps: float, eps_root: float,
                 weight_decay: float) -> GradientTransformation:
    def init(params: Any) -> AdamState:
        leaves = _leaves_checked(f"{op}.init", params)
        with no_grad():
            return AdamState(_zero_count(leaves[0]), _zeros(params), _zeros(params))

    def update(updates: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        if weight_decay and params is None:
            raise ValueError(f"{op}.update: weight decay needs the parameters: call update(grads, state, params)")
        with no_grad():
            count = state.count + 1
            lr = _rate(learning_rate, state.count)

            def one(g: Any, m: Any, v: Any, p: Any) -> tuple[Any, Any, Any]:
                d, m, v, _ = _adam_direction(g, m, v, None, b1, b2, _bias_correction(b1, count, g),
                                             _bias_correction(b2, count, g), eps, eps_root)
                return (d + weight_decay * p if weight_decay else d), m, v

            directions, mu, nu = _per_leaf(f"{op}.update", one, 3, updates, state.mu, state.nu,
                                           params if weight_decay else None)
            return _scaled(f"{op}.update", lr, directions), AdamState(count, mu, nu)

    return GradientTransformation(init, update)


def adam(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         eps_root: float = 0.0) -> GradientTransformation:
    """Adam (``optax.adam``): ``-lr * m_hat / (sqrt(v_hat + eps_root) + eps)`` with bias-corrected moments."""
    return _adam_family("adam", learning_rate, b1, b2, eps, eps_root, 0.0)


def adamw(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          eps_root: float = 0.0, weight_decay: float = 1e-4) -> GradientTransformation:
    """Adam with decoupled weight decay (``optax.adamw``): ``-lr * (adam_direction + weight_decay * params)``;
    ``update`` needs ``params``."""
    return _adam_family("adamw", learning_rate, b1, b2, eps, eps_root, weight_decay)


def rmsprop(learning_rate: float | Schedule, decay: float = 0.9, eps: float = 1e-8, initial_scale: float = 0.0,
            eps_in_sqrt: bool = True, centered: bool = False, momentum: float | None = None, nesterov: bool = False,
            bias_correction: bool = False) -> GradientTransformation:
    """RMSprop (``optax.rmsprop``, with its defaults: ``decay=0.9``, ``eps`` inside the square root).

    The direction is ``g / sqrt(nu + eps)`` (centered: ``g / sqrt(nu - mu^2 + eps)``), scaled by ``-lr``, then
    an optional momentum trace as in :func:`sgd` (optax's order).
    """

    def init(params: Any) -> RmspropState:
        leaves = _leaves_checked("rmsprop.init", params)
        with no_grad():
            return RmspropState(_zero_count(leaves[0]), _full(params, initial_scale),
                                _zeros(params) if centered else None, _zeros(params) if momentum else None)

    def update(updates: Any, state: RmspropState, params: Any = None) -> tuple[Any, RmspropState]:
        with no_grad():
            count = state.count + 1
            lr = _rate(learning_rate, state.count)

            def one(g: Any, sq: Any, avg: Any) -> tuple[Any, Any, Any]:
                bc = _bias_correction(decay, count, g) if bias_correction else 1.0
                return _rms_direction(g, sq, avg, decay, eps, centered, eps_in_sqrt, bc)

            directions, nu, mu = _per_leaf("rmsprop.update", one, 3, updates, state.nu, state.mu)
            # optax scales by the learning rate before the momentum trace (torch after it: the same for a constant
            # rate, not under a schedule).
            out, trace = _scaled("rmsprop.update", lr, directions), None
            if momentum:
                out, trace = _per_leaf("rmsprop.update", lambda d, t: _sgd_direction(d, t, momentum, 0.0, nesterov),
                                       2, out, state.trace)
            return out, RmspropState(count, nu, mu if centered else None, trace)

    return GradientTransformation(init, update)


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leaf by leaf, in each parameter's dtype (``optax.apply_updates``).

    Off the tape; a Tensor parameter that requires grad gives a new leaf that requires grad.
    """

    def add(p: Any, u: Any) -> Any:
        xp = array_api_compat.array_namespace(p)
        new = _same_kind(p + u, p)
        if new.dtype != p.dtype:
            new = xp.astype(new, p.dtype)
        if isinstance(p, Tensor) and p.requires_grad:
            new.requires_grad_()
        return new

    with no_grad():
        return tree_map(add, params, updates)


# -- torch style ---------------------------------------------------------------------------------------------------


class Optimizer:
    """The base of the torch-style optimizers (``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable of Tensor, or of dict
        Leaf Tensors, or parameter groups: dicts with a ``"params"`` list and per-group hyperparameters.
    defaults : dict
        The hyperparameters a group gets when it does not name them.

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` and hyperparameters (``"lr"`` is what schedulers change).
    state : dict
        Per-parameter state (momentum buffers, moments, the step count), keyed by the parameter.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, got a "
                            f"Tensor; pass [t]")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the others from the defaults)."""
        name = type(self).__name__
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but one of the params is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (one with a grad_fn); optimize the "
                                 f"leaves it was computed from, or a .detach().requires_grad_() copy")
            _check_real(name, p)
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter appears in more than one parameter group")
            seen.add(id(p))
        group = {**self.defaults, **param_group, "params": params}
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (torch's default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    with no_grad():
                        p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` (re-evaluating the loss) is called first,
        with grad mode on, and its value returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.detach()
                    if group.get("maximize", False):
                        g = -g
                    self._update(group, p, g, self.state.setdefault(p, {}))
        return loss

    def _update(self, group: dict[str, Any], p: Tensor, g: Tensor, state: dict[str, Any]) -> None:
        # The one method each optimizer defines: the update of one parameter from its gradient.
        raise NotImplementedError(f"{type(self).__name__}: an Optimizer subclass must define _update")

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: per-parameter state}, "param_groups": [hyperparameters, "params": indices]}``,
        parameters numbered in group order, as in torch."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            numbers = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                numbers.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": numbers})
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` returned (a deep copy of it) into an optimizer over the same parameters."""
        name = type(self).__name__
        state_dict = copy.deepcopy(state_dict)
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(groups)} parameter groups, the optimizer "
                             f"{len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for mine, saved in zip(self.param_groups, groups, strict=True):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: a parameter group has {len(saved['params'])} parameters "
                                 f"in the state and {len(mine['params'])} in the optimizer")
            by_index.update(zip(saved["params"], mine["params"], strict=True))
        self.state = {}
        for i, s in state_dict["state"].items():
            p = by_index[int(i)]
            for key, value in s.items():
                if isinstance(value, Tensor) and (value.shape != p.shape or value._backend is not p._backend):
                    raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {i} has shape "
                                     f"{value.shape} on {value._backend.name}; the parameter has shape {p.shape} on "
                                     f"{p._backend.name}")
            self.state[p] = s
        for mine, saved in zip(self.param_groups, groups, strict=True):
            mine.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join([*lines, ")"])


def _zeros_like_tensor(p: Tensor) -> Tensor:
    return Tensor._make(p._backend.xp.zeros_like(p._data), p._backend)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and weight decay (``torch.optim.SGD``,
    with its defaults). The direction is ``g + weight_decay * p``, through the momentum buffer
    ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` on the first step), then ``p -= lr * d``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})

    def _update(self, group: dict[str, Any], p: Tensor, g: Tensor, state: dict[str, Any]) -> None:
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        d, buf = _sgd_direction(g, state.get("momentum_buffer"), group["momentum"], group["dampening"],
                                group["nesterov"])
        state["momentum_buffer"] = buf
        p -= group["lr"] * d


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``, with its defaults), with L2 weight decay added to the gradient and optional
    AMSGrad: ``p -= lr * m_hat / (sqrt(v_hat) + eps)``."""

    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid hyperparameters lr={lr}, betas={betas}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize})

    def _update(self, group: dict[str, Any], p: Tensor, g: Tensor, state: dict[str, Any]) -> None:
        lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=_zeros_like_tensor(p), exp_avg_sq=_zeros_like_tensor(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros_like_tensor(p)
        state["step"] += 1
        step = state["step"]
        if wd and self._decoupled:
            p *= 1 - lr * wd
        elif wd:
            g = g + wd * p
        d, state["exp_avg"], state["exp_avg_sq"], vmax = _adam_direction(
            g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), b1, b2, 1 - b1 ** step,
            1 - b2 ** step, group["eps"], 0.0)
        if vmax is not None:
            state["max_exp_avg_sq"] = vmax
        p -= lr * d


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``, with its defaults: ``weight_decay=1e-2``):
    ``p *= 1 - lr * weight_decay`` before the Adam step."""

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``, with its defaults: ``alpha=0.99``, ``eps`` outside the square root):
    ``p -= lr * g / (sqrt(E[g^2] - E[g]^2 (centered)) + eps)``, through a momentum buffer when ``momentum > 0``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or momentum < 0 or alpha < 0:
            raise ValueError(f"RMSprop: invalid hyperparameters lr={lr}, alpha={alpha}, eps={eps}, "
                             f"weight_decay={weight_decay}, momentum={momentum}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def _update(self, group: dict[str, Any], p: Tensor, g: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, square_avg=_zeros_like_tensor(p))
            if group["momentum"]:
                state["momentum_buffer"] = _zeros_like_tensor(p)
            if group["centered"]:
                state["grad_avg"] = _zeros_like_tensor(p)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        d, state["square_avg"], avg = _rms_direction(g, state["square_avg"], state.get("grad_avg"), group["alpha"],
                                                     group["eps"], group["centered"], eps_in_sqrt=False)
        if group["centered"]:
            state["grad_avg"] = avg
        if group["momentum"]:
            d, state["momentum_buffer"] = _sgd_direction(d, state["momentum_buffer"], group["momentum"], 0.0, False)
        p -= group["lr"] * d


# -- torch-style schedulers: the schedules above, counted in epochs ---------------------------------------------------


class LRScheduler:
    """Sets each parameter group's ``lr`` from a schedule of the epoch count (``torch.optim.lr_scheduler``).

    Call :meth:`step` once per epoch, after ``optimizer.step()``. The schedule of each group is built from
    that group's initial learning rate by ``make_schedule``.
    """

    def __init__(self, optimizer: Optimizer, make_schedule: Callable[[float], Schedule], last_epoch: int = -1
                 ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a wrapgrad.optim optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self._schedules = [make_schedule(lr) for lr in self.base_lrs]
        self.last_epoch = last_epoch
        self.step()

    def step(self) -> None:
        """Advance one epoch and set each group's ``lr``."""
        self.last_epoch += 1
        for group, schedule in zip(self.optimizer.param_groups, self._schedules, strict=True):
            group["lr"] = schedule(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group, as last set."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """The epoch count and base learning rates."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the epoch count (the learning rates follow on the next :meth:`step`)."""
        self.last_epoch = int(state_dict["last_epoch"])


class StepLR(LRScheduler):
    """``lr = initial_lr * gamma ** (epoch // step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        super().__init__(optimizer, lambda lr: step_decay_schedule(lr, step_size, gamma), last_epoch)


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``
    (``torch.optim.lr_scheduler.CosineAnnealingLR``). After ``T_max`` epochs it stays at ``eta_min``, as
    optax's schedule does (torch's climbs back up the cosine)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        super().__init__(optimizer, lambda lr: cosine_decay_schedule(lr, T_max, eta_min / lr if lr else 0.0),
                         last_epoch)
