"""Train a two-layer MLP on a toy regression with wrapgrad.optim.Adam, on any backend.

    python examples/train_mlp.py --backend numpy|array_api_strict|jax [--steps 500] [--plot loss.png]

Prints the loss curve (every ``--every`` steps) and, when matplotlib is installed, saves it as a plot to the
path given by ``--plot`` (``--plot ""`` for none). ``--small`` is a quick run for smoke tests.
"""

from __future__ import annotations

import argparse
import importlib
import math
from typing import Any

import numpy as np

from wrapgrad import optim


def load_namespace(backend: str) -> Any:
    """wrapgrad's namespace for a backend name (jax in float64, like the other two)."""
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    return importlib.import_module(f"wrapgrad.{backend}")


def mlp(params: list[Any], x: Any) -> Any:
    """tanh hidden layer, linear output: the prediction for each row of ``x``."""
    xp = x.__array_namespace__()
    w1, b1, w2, b2 = params
    return xp.tanh(x @ w1 + b1) @ w2 + b2


def train(backend: str = "numpy", steps: int = 500, hidden: int = 32, samples: int = 256, lr: float = 0.01,
          every: int = 50, seed: int = 0) -> list[float]:
    """Fit ``y = sin(3 x0) * cos(2 x1)`` and return the loss after each step."""
    xp = load_namespace(backend)
    rng = np.random.default_rng(seed)
    x_np = rng.uniform(-1.0, 1.0, (samples, 2))
    x = xp.asarray(x_np)
    y = xp.asarray(np.sin(3 * x_np[:, 0]) * np.cos(2 * x_np[:, 1]))
    params = [
        xp.asarray(rng.standard_normal((2, hidden)) / math.sqrt(2), requires_grad=True),
        xp.zeros(hidden, requires_grad=True),
        xp.asarray(rng.standard_normal(hidden) / math.sqrt(hidden), requires_grad=True),
        xp.zeros((), requires_grad=True),
    ]
    opt = optim.Adam(params, lr=lr)
    sched = optim.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 10)
    curve = []
    for step in range(steps):
        opt.zero_grad()
        loss = xp.mean((mlp(params, x) - y) ** 2)
        loss.backward()
        opt.step()
        sched.step()
        curve.append(loss.item())
        if step % every == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss:.6f}  lr {sched.get_last_lr()[0]:.2e}")
    return curve


def save_plot(curve: list[float], path: str, backend: str) -> bool:
    """Save the loss curve to ``path``; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(curve)
    ax.set_xlabel("step")
    ax.set_ylabel("mean squared error")
    ax.set_title(f"two-layer MLP, wrapgrad.optim.Adam on {backend}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"saved the loss curve to {path}")
    return True


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "array_api_strict", "jax"])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--every", type=int, default=50, help="print the loss every this many steps")
    parser.add_argument("--plot", default="train_mlp_loss.png", help='where to save the plot ("" for none)')
    parser.add_argument("--small", action="store_true", help="a quick run (smoke tests)")
    args = parser.parse_args(argv)
    if args.small:
        args.steps, args.hidden, args.samples, args.every = 20, 8, 32, 5
    curve = train(args.backend, args.steps, args.hidden, args.samples, args.lr, args.every)
    if args.plot:
        save_plot(curve, args.plot, args.backend)
    if not curve[-1] < 0.8 * curve[0]:  # what a smoke test relies on: training must make progress
        raise SystemExit(f"the loss did not fall: {curve[0]:.4f} -> {curve[-1]:.4f}")
    return curve


if __name__ == "__main__":
    main()
