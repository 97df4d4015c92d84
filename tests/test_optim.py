"""wrapgrad.optim against torch.optim (torch style), optax and a float64 numpy transcription of optax's published
formulas (functional style), on every backend, over 100 steps to 1e-12."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from array_api_compat import array_namespace

import wrapgrad
from wrapgrad import optim

STEPS = 100
TOL = 1e-12
RNG = np.random.default_rng(7)
A = RNG.standard_normal((6, 3))
W0 = {"b": RNG.standard_normal(()), "w": RNG.standard_normal(3)}


def loss(params: dict[str, Any], a: Any) -> Any:
    # exp keeps the gradients away from zero over 100 steps, so the comparison is well conditioned (near a
    # minimum, g / sqrt(E[g^2]) amplifies the last bits of g, which differ between autodiff systems).
    xp = array_namespace(params["w"], a)
    return xp.sum(xp.exp(0.3 * (a @ params["w"] + params["b"])))


def close(ours: dict[str, Any], ref: dict[str, np.ndarray]) -> None:
    for k in ref:
        value = ours[k].detach() if isinstance(ours[k], wrapgrad.Tensor) else ours[k]
        assert np.all(np.isfinite(ref[k])), "the reference run diverged: the comparison would prove nothing"
        np.testing.assert_allclose(np.asarray(value), ref[k], rtol=TOL, atol=TOL)


# -- torch style against torch.optim ------------------------------------------------------------------------

TORCH_CASES = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 1e-4, "momentum": 0.8, "dampening": 0.3, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.3}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.003, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
]


def torch_run(name: str, kwargs: dict[str, Any], steps: int = STEPS) -> dict[str, np.ndarray]:
    torch = pytest.importorskip("torch")
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in W0.items()}
    opt = getattr(torch.optim, name)(list(params.values()), **kwargs)
    a = torch.tensor(A)
    for _ in range(steps):
        opt.zero_grad()
        torch.sum(torch.exp(0.3 * (a @ params["w"] + params["b"]))).backward()
        opt.step()
    return {k: v.detach().numpy() for k, v in params.items()}


def wrapgrad_params(xp: Any) -> dict[str, Any]:
    return {k: xp.asarray(v, requires_grad=True) for k, v in W0.items()}


@pytest.mark.parametrize(("name", "kwargs"), TORCH_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TORCH_CASES)])
def test_torch_style_matches_torch_optim(xp: Any, name: str, kwargs: dict[str, Any]) -> None:
    ref = torch_run(name, kwargs)
    params = wrapgrad_params(xp)
    opt = getattr(optim, name)(list(params.values()), **kwargs)
    a = xp.asarray(A)
    for _ in range(STEPS):
        opt.zero_grad()
        loss(params, a).backward()
        opt.step()
    close(params, ref)
    for p in params.values():  # updates never record: a leaf stays a leaf
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
    for state in opt.state.values():
        assert all(not v.requires_grad for v in state.values() if isinstance(v, wrapgrad.Tensor))


def test_param_groups_and_closure_match_torch(xp: Any) -> None:
    torch = pytest.importorskip("torch")
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in W0.items()}
    topt = torch.optim.SGD([{"params": [tp["w"]], "lr": 0.02}, {"params": [tp["b"]]}], lr=0.005, momentum=0.9)
    params = wrapgrad_params(xp)
    opt = optim.SGD([{"params": [params["w"]], "lr": 0.02}, {"params": [params["b"]]}], lr=0.005, momentum=0.9)
    a, ta = xp.asarray(A), torch.tensor(A)

    def closure() -> Any:
        opt.zero_grad()
        value = loss(params, a)
        value.backward()
        return value

    def tclosure() -> Any:
        topt.zero_grad()
        value = torch.sum(torch.exp(0.3 * (ta @ tp["w"] + tp["b"])))
        value.backward()
        return value

    for _ in range(20):
        ours = opt.step(closure)
        theirs = topt.step(tclosure)
        assert abs(ours.item() - theirs.item()) <= TOL * abs(theirs.item())
    close(params, {k: v.detach().numpy() for k, v in tp.items()})


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_state_dict_round_trip_continues_the_same_run(xp: Any, name: str) -> None:
    kwargs = {"lr": 0.01, "momentum": 0.9} if name != "Adam" else {"lr": 0.01, "amsgrad": True}
    a = xp.asarray(A)

    def train(params: dict[str, Any], opt: optim.Optimizer, steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            loss(params, a).backward()
            opt.step()

    straight = wrapgrad_params(xp)
    train(straight, getattr(optim, name)(list(straight.values()), **kwargs), 40)
    first = wrapgrad_params(xp)
    opt = getattr(optim, name)(list(first.values()), **kwargs)
    train(first, opt, 20)
    saved = pickle.loads(pickle.dumps((first, opt.state_dict())))  # a checkpoint, through pickle
    params, state = saved
    resumed = getattr(optim, name)(list(params.values()), **kwargs)
    resumed.load_state_dict(state)
    train(params, resumed, 20)
    close(params, {k: np.asarray(v.detach()) for k, v in straight.items()})


def test_zero_grad(xp: Any) -> None:
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    xp.sum(w * w).backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and np.all(np.asarray(w.grad) == 0)
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: nothing to do
    np.testing.assert_array_equal(np.asarray(w.detach()), [1.0, 2.0])


def test_torch_style_refuses_what_torch_refuses(xp: Any) -> None:
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([w * 2])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.ones(2)])
    with pytest.raises(TypeError, match="pass \\[t\\]"):
        optim.Adam(w)
    with pytest.raises(ValueError, match="more than one"):
        optim.Adam([w, w])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], nesterov=True)
    if hasattr(xp, "complex128"):
        with pytest.raises(TypeError, match="real floating"):
            optim.SGD([xp.asarray([1j], requires_grad=True)])


# -- schedules -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["step", "cosine"])
def test_schedulers_match_torch(kind: str) -> None:
    torch = pytest.importorskip("torch")
    tw = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1)
    w = wrapgrad.numpy.asarray([0.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    if kind == "step":
        tsched: Any = torch.optim.lr_scheduler.StepLR(topt, step_size=7, gamma=0.5)
        sched: optim.LRScheduler = optim.StepLR(opt, step_size=7, gamma=0.5)
    else:
        tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=30, eta_min=0.01)
        sched = optim.CosineAnnealingLR(opt, T_max=30, eta_min=0.01)
    for _ in range(30):  # torch's cosine restarts past T_max, ours holds eta_min (documented)
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=TOL, abs=TOL)
        topt.step()
        opt.step()
        tsched.step()
        sched.step()


def test_schedules_match_optax_formulas_with_array_counts(xp: Any) -> None:
    step = optim.step_decay_schedule(0.1, 7, 0.5)
    cosine = optim.cosine_decay_schedule(0.1, 30, alpha=0.2, exponent=2.0)
    for count in range(0, 40, 3):
        c = min(count, 30)
        want_cos = 0.1 * ((1 - 0.2) * (0.5 * (1 + math.cos(math.pi * c / 30))) ** 2 + 0.2)
        assert cosine(count) == pytest.approx(want_cos, rel=TOL)
        assert step(count) == pytest.approx(0.1 * 0.5 ** (count // 7), rel=TOL)
        array_count = xp.asarray(count, dtype=xp.int32)  # what a jitted optimizer passes
        assert float(cosine(array_count)) == pytest.approx(want_cos, rel=TOL)
        assert float(step(array_count)) == pytest.approx(0.1 * 0.5 ** (count // 7), rel=TOL)


# -- functional style ---------------------------------------------------------------------------------------------


def numpy_optax(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[..., Any]:
    """An independent float64 transcription of optax's published update formulas (one array)."""
    lr_arg = args[0]
    lr = lr_arg if callable(lr_arg) else (lambda count: lr_arg)

    if name == "sgd":
        m, nesterov = kwargs.get("momentum"), kwargs.get("nesterov", False)

        def sgd_step(g: np.ndarray, s: dict[str, Any], p: np.ndarray, k: int) -> np.ndarray:
            if not m:
                return -lr(k) * g
            s["t"] = g + m * s.get("t", 0.0)
            return -lr(k) * (g + m * s["t"] if nesterov else s["t"])

        return sgd_step
    if name in ("adam", "adamw"):
        b1, b2 = kwargs.get("b1", 0.9), kwargs.get("b2", 0.999)
        eps, eps_root = kwargs.get("eps", 1e-8), kwargs.get("eps_root", 0.0)
        wd = kwargs.get("weight_decay", 1e-4) if name == "adamw" else 0.0

        def adam_step(g: np.ndarray, s: dict[str, Any], p: np.ndarray, k: int) -> np.ndarray:
            s["mu"] = (1 - b1) * g + b1 * s.get("mu", 0.0)
            s["nu"] = (1 - b2) * g * g + b2 * s.get("nu", 0.0)
            mu_hat, nu_hat = s["mu"] / (1 - b1 ** (k + 1)), s["nu"] / (1 - b2 ** (k + 1))
            return -lr(k) * (mu_hat / (np.sqrt(nu_hat + eps_root) + eps) + wd * p)

        return adam_step
    decay, eps = kwargs.get("decay", 0.9), kwargs.get("eps", 1e-8)
    centered, m = kwargs.get("centered", False), kwargs.get("momentum")
    in_sqrt, bias = kwargs.get("eps_in_sqrt", True), kwargs.get("bias_correction", False)

    def rms_step(g: np.ndarray, s: dict[str, Any], p: np.ndarray, k: int) -> np.ndarray:
        s["nu"] = (1 - decay) * g * g + decay * s.get("nu", kwargs.get("initial_scale", 0.0))
        s["mu"] = (1 - decay) * g + decay * s.get("mu", 0.0)
        bc = 1 - decay ** (k + 1) if bias else 1.0
        var = s["nu"] / bc - ((s["mu"] / bc) ** 2 if centered else 0.0)
        u = -lr(k) * (g / np.sqrt(var + eps) if in_sqrt else g / (np.sqrt(var) + eps))
        if m:
            s["t"] = u + m * s.get("t", 0.0)
            u = u + m * s["t"] if kwargs.get("nesterov") else s["t"]
        return u

    return rms_step


FUNCTIONAL_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("sgd", (0.01,), {}),
    ("sgd", (0.01,), {"momentum": 0.9, "nesterov": True}),
    ("sgd", (optim.step_decay_schedule(0.02, 30, 0.5),), {"momentum": 0.5}),
    ("adam", (0.01,), {}),
    ("adam", (optim.cosine_decay_schedule(0.05, 60, alpha=0.1),), {"b1": 0.8, "eps_root": 1e-8}),
    ("adamw", (0.01,), {"weight_decay": 0.1}),
    ("rmsprop", (0.01,), {}),
    ("rmsprop", (0.003,), {"centered": True, "momentum": 0.5}),
    ("rmsprop", (optim.cosine_decay_schedule(0.01, 60),), {"eps_in_sqrt": False, "initial_scale": 0.1,
                                                          "bias_correction": True, "momentum": 0.3, "nesterov": True}),
]
IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(FUNCTIONAL_CASES)]


def functional_run(opt: optim.GradientTransformation, params: dict[str, Any], a: Any) -> dict[str, Any]:
    state = opt.init(params)
    grad = wrapgrad.grad(loss)
    for _ in range(STEPS):
        updates, state = opt.update(grad(params, a), state, params)
        params = optim.apply_updates(params, updates)
    return params


def numpy_reference(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, np.ndarray]:
    step = numpy_optax(name, args, kwargs)
    params = {k: np.array(v, dtype=np.float64) for k, v in W0.items()}
    states: dict[str, dict[str, Any]] = {k: {} for k in params}
    for k_step in range(STEPS):
        z = np.exp(0.3 * (A @ params["w"] + params["b"]))
        grads = {"w": 0.3 * A.T @ z, "b": np.asarray(0.3 * np.sum(z))}
        params = {k: params[k] + step(grads[k], states[k], params[k], k_step) for k in params}
    return params


@pytest.mark.parametrize(("name", "args", "kwargs"), FUNCTIONAL_CASES, ids=IDS)
def test_functional_matches_numpy_transcription(xp: Any, raw_xp: Any, name: str, args: tuple[Any, ...],
                                                kwargs: dict[str, Any]) -> None:
    ref = numpy_reference(name, args, kwargs)
    opt = getattr(optim, name)(*args, **kwargs)
    # raw arrays in, raw arrays out; and Tensors (that require grad: they stay leaves)
    raw = functional_run(opt, {k: raw_xp.asarray(v) for k, v in W0.items()}, raw_xp.asarray(A))
    close({k: np.asarray(v) for k, v in raw.items()}, ref)
    tensors = functional_run(opt, wrapgrad_params(xp), xp.asarray(A))
    close({k: np.asarray(v.detach()) for k, v in tensors.items()}, ref)
    assert all(t.is_leaf and t.requires_grad for t in tensors.values())


_OPTAX_RUNS: dict[int, dict[str, np.ndarray]] = {}


def optax_reference(case: int) -> dict[str, np.ndarray]:
    """optax's own run of a case (jitted, once per case)."""
    if case not in _OPTAX_RUNS:
        optax = pytest.importorskip("optax")
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        name, args, kwargs = FUNCTIONAL_CASES[case]
        theirs = getattr(optax, name)(*args, **kwargs)

        @jax.jit
        def step(params: Any, state: Any) -> Any:
            updates, state = theirs.update(jax.grad(loss)(params, jnp.asarray(A)), state, params)
            return optax.apply_updates(params, updates), state

        params = {k: jnp.asarray(v) for k, v in W0.items()}
        state = theirs.init(params)
        for _ in range(STEPS):
            params, state = step(params, state)
        _OPTAX_RUNS[case] = {k: np.asarray(v) for k, v in params.items()}
    return _OPTAX_RUNS[case]


@pytest.mark.parametrize("case", range(len(FUNCTIONAL_CASES)), ids=IDS)
def test_functional_matches_optax(raw_xp: Any, case: int) -> None:
    ref = optax_reference(case)
    name, args, kwargs = FUNCTIONAL_CASES[case]
    ours = functional_run(getattr(optim, name)(*args, **kwargs), {k: raw_xp.asarray(v) for k, v in W0.items()},
                          raw_xp.asarray(A))
    close({k: np.asarray(v) for k, v in ours.items()}, ref)


def test_functional_and_torch_style_share_the_math(xp: Any) -> None:
    """With aligned hyperparameters the two styles agree (AdamW's decay is the same decoupled decay)."""
    a = xp.asarray(A)
    params = wrapgrad_params(xp)
    opt = optim.AdamW(list(params.values()), lr=0.01, weight_decay=0.1)
    for _ in range(STEPS):
        opt.zero_grad()
        loss(params, a).backward()
        opt.step()
    functional = functional_run(optim.adamw(0.01, weight_decay=0.1), wrapgrad_params(xp), a)
    close({k: np.asarray(v.detach()) for k, v in functional.items()},
          {k: np.asarray(v.detach()) for k, v in params.items()})


def test_functional_runs_under_jit() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    schedule = optim.cosine_decay_schedule(0.05, 60, alpha=0.1)
    opt = optim.adam(schedule, b1=0.8, eps_root=1e-8)

    @jax.jit
    def step(params: Any, state: Any, a: Any) -> Any:
        updates, state = opt.update(wrapgrad.grad(loss)(params, a), state, params)
        return optim.apply_updates(params, updates), state

    params = {k: jnp.asarray(v) for k, v in W0.items()}
    state = opt.init(params)
    for _ in range(STEPS):
        params, state = step(params, state, jnp.asarray(A))
    assert int(state.count) == STEPS
    close({k: np.asarray(v) for k, v in params.items()},
          numpy_reference("adam", (schedule,), {"b1": 0.8, "eps_root": 1e-8}))


def test_functional_refuses_bad_input(xp: Any) -> None:
    with pytest.raises(TypeError, match="not an array"):
        optim.adam(0.1).init({"w": [1.0, 2.0]})
    with pytest.raises(ValueError, match="no array"):
        optim.sgd(0.1).init({})
    opt = optim.adamw(0.1)
    params = {"w": xp.asarray([1.0])}
    state = opt.init(params)
    with pytest.raises(ValueError, match="needs the parameters"):
        opt.update(params, state)
    with pytest.raises(ValueError, match="structure"):
        opt.update({"v": xp.asarray([1.0])}, state, params)
