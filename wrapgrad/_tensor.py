"""The :class:`Tensor`: a backend array, plus its place on the tape."""

from __future__ import annotations

import itertools
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from . import _graph
from ._backend import Backend, backend_of_array
from ._grad_mode import _GRAD_ENABLED
from ._graph import NO_PARAMS, Node, run_backward

__all__ = ["RemovableHandle", "Tensor"]

_HANDLE_IDS = itertools.count()
# Guards of the read-add-write into .grad (see Tensor._accumulate_grad); ids of live objects differ, so two
# tensors share a lock only by stripe, and then only for the length of one addition.
_GRAD_LOCKS = tuple(threading.Lock() for _ in range(64))


class RemovableHandle:
    """What :meth:`Tensor.register_hook` returns: ``remove()`` unregisters the hook (idempotent)."""

    __slots__ = ("_hooks", "_id", "_leaf")

    def __init__(self, hooks: dict[int, Any], hook: Callable[..., Any], *, leaf: bool) -> None:
        self._id = next(_HANDLE_IDS)
        self._hooks: dict[int, Any] | None = hooks
        self._leaf = leaf
        hooks[self._id] = hook
        if leaf:
            _graph.LEAF_HOOKS_ALIVE[0] += 1

    def remove(self) -> None:
        """Unregister the hook; calling it again does nothing."""
        if self._hooks is not None and self._hooks.pop(self._id, None) is not None and self._leaf:
            _graph.LEAF_HOOKS_ALIVE[0] -= 1
        self._hooks = None

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Tensor:
    """An array of any array-API library that records the operations applied to it.

    A Tensor wraps a backend array (``numpy.ndarray``, a jax array, an ``array_api_strict.Array`` ...)
    and implements the array API's array object on top of it. When it requires grad, every operation
    on it is recorded, and :meth:`backward` computes gradients into the ``.grad`` of the leaves.

    Parameters
    ----------
    data : array
        A conforming backend array, or a Tensor (its value is taken, not its graph).
    requires_grad : bool, optional
        Make this tensor a leaf whose gradient is accumulated into ``.grad``. Floating and complex
        dtypes only.

    Attributes
    ----------
    grad : Tensor or None
        The accumulated gradient of a leaf (or of a non-leaf after :meth:`retain_grad`).
    grad_fn : Node or None
        The operation that produced this tensor; ``None`` for leaves.

    Examples
    --------
    >>> import wrapgrad.numpy as xp
    >>> x = xp.ones((2, 2), requires_grad=True)
    >>> out = xp.mean((x + 2) * (x + 2) * 3)
    >>> out.backward()
    >>> x.grad
    tensor([[4.5, 4.5],
            [4.5, 4.5]])
    """

    # _hooks (hooks of a leaf) is set only by register_hook: the funnel's _make never pays for it. Likewise
    # _view ((root base, chain of steps) of a view) and _views (the live views of a root), set by _views.py.
    __slots__ = ("_data", "_backend", "_node", "_output_nr", "_requires_grad", "_grad", "_retains_grad",
                 "_hooks", "_view", "_views", "__weakref__")

    _data: Any
    _backend: Backend
    _node: Node | None
    _output_nr: int
    _requires_grad: bool
    _view: tuple[Tensor, tuple[tuple[str, Any], ...]]
    _views: list[weakref.ref[Tensor]]

    # Tensors are compared elementwise (__eq__), so they hash by identity, as torch's do.
    __hash__ = object.__hash__
    # Make numpy defer to our reflected operators in `ndarray + Tensor`.
    __array_priority__ = 1000
    __array_ufunc__ = None

    def __init__(self, data: Any, *, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.detach()._data
        backend = backend_of_array(data)
        if backend.normalize is not None:
            data = backend.normalize(data)
        self._data = data
        self._backend = backend
        self._node: Node | None = None
        self._output_nr = 0
        self._requires_grad = False
        self._grad: Tensor | None = None
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: Any, backend: Backend, node: Node | None = None, output_nr: int = 0) -> Tensor:
        # The fast constructor of the funnel: no checks, the caller guarantees a normalized array.
        t = object.__new__(cls)
        t._data = data
        t._backend = backend
        t._node = node
        t._output_nr = output_nr
        t._requires_grad = node is not None
        t._grad = None
        t._retains_grad = False
        return t

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # copy.copy (and pickle, where a backend allows it): a copy is a plain tensor, neither a view nor a
        # base with views, as a copy of a numpy view is an array of its own.
        state = {name: getattr(self, name) for name in Tensor.__slots__
                 if name not in ("_view", "_views", "__weakref__") and hasattr(self, name)}
        return None, state

    # -- autograd attributes ----------------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """True when operations on this tensor are recorded for backward."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` of a leaf in place and return the tensor itself (``torch.Tensor.requires_grad_``)."""
        if self._node is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "requires_grad_: a non-leaf tensor (one with a grad_fn) always requires grad; "
                "use .detach() to get a tensor that does not"
            )
        if requires_grad and self._data.dtype not in self._backend.differentiable_dtypes:
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point or complex dtype can require gradients "
                f"(got {self._data.dtype})"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation (their ``.grad`` is filled by backward)."""
        return self._node is None

    @property
    def grad_fn(self) -> Node | None:
        """The recorded operation that produced this tensor, or ``None`` for a leaf."""
        return self._node

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by :meth:`backward` (leaves and tensors that called :meth:`retain_grad`)."""
        if self._node is not None and not self._retains_grad:
            _warn_non_leaf_grad()
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value)
            if value._backend is not self._backend:
                raise TypeError(
                    f"grad: assigned gradient comes from {value._backend.name}, the tensor from {self._backend.name}"
                )
            if value.shape != self.shape or value.dtype != self.dtype:
                raise ValueError(
                    f"grad: assigned gradient has shape {value.shape} and dtype {value.dtype}, "
                    f"the tensor has shape {self.shape} and dtype {self.dtype}"
                )
        self._grad = value

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf in ``.grad`` during backward (a no-op on leaves).

        Like a leaf's, the retained gradient accumulates over backward calls; ``autograd_grad`` leaves it
        untouched. After an in-place operation the tensor retains the gradient of its new value.
        """
        if self._node is None:
            return
        self._retains_grad = True
        _graph.RETAINED.setdefault(self._node, {})[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf whose ``.grad`` backward fills (see :meth:`retain_grad`)."""
        return self._retains_grad

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed.

        The hook gets the gradient as a Tensor and may return a Tensor of the same shape to replace it
        (``torch.Tensor.register_hook``). It runs for leaves (before the gradient is accumulated into
        ``.grad``) and non-leaves, in backward and in ``autograd_grad``; with ``create_graph=True`` the
        gradient it gets is on the tape. A hook on a non-leaf belongs to the value it was registered on:
        after an in-place operation it still sees the gradient of the old value.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.

        Examples
        --------
        >>> x = xp.asarray([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 2)   # doubles x's gradient
        >>> xp.sum(x * x).backward()                # x.grad == [4., 8.]
        >>> h.remove()
        """
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if not callable(hook):
            raise TypeError(f"register_hook: the hook must be callable, got {type(hook).__name__}")
        if self._node is None:
            hooks: dict[int, Any] | None = getattr(self, "_hooks", None)
            if hooks is None:
                hooks = {}
                self._hooks = hooks
            return RemovableHandle(hooks, hook, leaf=True)
        per_output = _graph.NODE_HOOKS.setdefault(self._node, {})
        return RemovableHandle(per_output.setdefault(self._output_nr, {}), hook, leaf=False)

    def detach(self) -> Tensor:
        """A tensor with the same data that is off the tape and does not require grad."""
        return Tensor._make(self._data, self._backend)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves it depends on.

        Parameters
        ----------
        gradient : Tensor, array or scalar, optional
            The cotangent: the gradient of some scalar with respect to this tensor, shaped like it.
            Required unless the tensor holds a single element (then it defaults to one).
        retain_graph : bool, optional
            Keep the saved values so that backward can run through the graph again.
            Defaults to ``create_graph``.
        create_graph : bool, optional
            Record the backward pass itself, so that the gradients can be differentiated again.
        """
        roots, grads = _check_roots("backward", [self], None if gradient is None else [gradient])
        if retain_graph is None:
            retain_graph = create_graph
        run_backward(roots, grads, retain_graph=retain_graph, create_graph=create_graph)

    def _accumulate_grad(self, g: Any, create_graph: bool) -> None:
        # Called by the engine with every leaf's total cotangent. Like torch, accumulate into the existing
        # .grad tensor in place (its wrapper is kept, its data rebound) unless the graph is being recorded.
        # The read-add-write is atomic with respect to other threads (numpy drops the GIL inside a large add,
        # so two backward calls into one shared leaf would otherwise lose an update, as torch promises not
        # to). The lock is one of a few striped by the tensor's identity: backward calls into unrelated leaves
        # do not wait for each other, and a Tensor pays no lock object of its own.
        if isinstance(g, Tensor):
            g = g if create_graph else g._data
        with _GRAD_LOCKS[id(self) % len(_GRAD_LOCKS)]:
            if not isinstance(g, Tensor):
                if self._grad is not None and not self._grad._requires_grad:
                    self._grad._data = self._grad._data + g
                    return
                g = Tensor._make(g, self._backend)
            self._grad = g if self._grad is None else self._grad + g

    # -- array API attributes ---------------------------------------------------------------------------

    @property
    def dtype(self) -> Any:
        """Data type of the array elements (the backend's dtype object)."""
        return self._data.dtype

    @property
    def device(self) -> Any:
        """Hardware device the array data resides on."""
        import array_api_compat

        return array_api_compat.device(self._data)

    @property
    def shape(self) -> tuple[int | None, ...]:
        """Array dimensions."""
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        """Number of array dimensions (axes)."""
        return self._data.ndim

    @property
    def size(self) -> int | None:
        """Number of elements in the array."""
        import array_api_compat

        return array_api_compat.size(self._data)

    @property
    def T(self) -> Tensor:
        """Transpose of a two-dimensional array."""
        if self.ndim != 2:
            raise ValueError(f"T: only defined for 2-D arrays, got {self.ndim} dimensions (use mT)")
        return _views.track(self, apply("permute_dims", self, axes=(1, 0)), ("permute_dims", (1, 0)))

    @property
    def mT(self) -> Tensor:
        """Transpose of the last two axes (a stack of matrices)."""
        return _views.track(self, apply("matrix_transpose", self), ("matrix_transpose", None))

    # -- leaving the tape -------------------------------------------------------------------------------

    def _refuse_if_tracked(self, what: str) -> None:
        if self._requires_grad:
            raise RuntimeError(
                f"{what}: cannot export a Tensor that requires grad: the result would be a silent detached "
                f"copy and gradients would stop there unseen. If no gradient is needed through this call, pass "
                f"x.detach(). To keep the gradient, use wrapgrad's differentiable form of the function where it "
                f"has one (the namespace's functions and its linalg, fft and other extensions), or wrap the call "
                f"in wrapgrad.custom_vjp or a wrapgrad.Function that supplies its gradient"
            )

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        self._refuse_if_tracked("__array__")
        import numpy as np

        data = self._data
        if not isinstance(data, np.ndarray):
            data = np.from_dlpack(data) if hasattr(data, "__dlpack__") else np.asarray(data)
        if copy:
            return np.array(data, dtype=dtype, copy=True)
        return np.asarray(data, dtype=dtype)

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: bool | None = None) -> Any:
        self._refuse_if_tracked("__dlpack__")
        kwargs: dict[str, Any] = {"stream": stream}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        if copy is not None:
            kwargs["copy"] = copy
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[Any, int]:
        return self._data.__dlpack_device__()

    # Python scalars are visibly off the tape, so these work on tensors that require grad, as in torch.
    def __bool__(self) -> bool:
        return bool(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __complex__(self) -> complex:
        return complex(self._data)

    def __index__(self) -> int:
        return self._data.__index__()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return int(self._data.shape[0])

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __array_namespace__(self, /, *, api_version: str | None = None) -> types.ModuleType:
        """The wrapgrad namespace of this tensor's backend (so ``array_namespace(t)`` is differentiable)."""
        from ._namespace import namespace_of_backend

        return namespace_of_backend(self._backend, api_version)

    def to_device(self, device: Any, /, *, stream: Any = None) -> Tensor:
        """Copy the array to ``device``; the gradient is moved back to this tensor's device."""
        if stream is not None:
            return apply("to_device", self, device=device, stream=stream)
        return apply("to_device", self, device=device)

    # -- printing -------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        try:
            import numpy as np

            values = np.asarray(self.detach())
            body = np.array2string(values, separator=", ", prefix="tensor(")
        except Exception:  # a traced or lazy array has no values to show
            body = repr(self._data)
        extras = []
        default = self._backend.default_float_dtype()
        if self.dtype in self._backend.differentiable_dtypes and self.dtype != default:
            extras.append(f"dtype={self.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.type_name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __str__ = __repr__

    # -- operators (spec order); each is one call of the funnel ------------------------------------------

    def __abs__(self) -> Tensor:
        return apply("abs", self)

    def __add__(self, other: Any, /) -> Tensor:
        return apply("add", self, other)

    def __and__(self, other: Any, /) -> Tensor:
        return apply("bitwise_and", self, other)

    def __eq__(self, other: Any, /) -> Tensor:  # type: ignore[override]
        return apply("equal", self, other)

    def __floordiv__(self, other: Any, /) -> Tensor:
        return apply("floor_divide", self, other)

    def __ge__(self, other: Any, /) -> Tensor:
        return apply("greater_equal", self, other)

    def __getitem__(self, key: Any, /) -> Tensor:
        key = _unwrap_key(key, self._backend)
        out: Tensor = apply("__getitem__", self, key=key)
        if _views.is_view_key(key, self._backend):  # basic indexing: a view that writes through (_views.py)
            _views.track(self, out, ("__getitem__", key))
        return out

    def __gt__(self, other: Any, /) -> Tensor:
        return apply("greater", self, other)

    def __invert__(self) -> Tensor:
        return apply("bitwise_invert", self)

    def __le__(self, other: Any, /) -> Tensor:
        return apply("less_equal", self, other)

    def __lshift__(self, other: Any, /) -> Tensor:
        return apply("bitwise_left_shift", self, other)

    def __lt__(self, other: Any, /) -> Tensor:
        return apply("less", self, other)

    def __matmul__(self, other: Any, /) -> Tensor:
        return apply("matmul", self, other)

    def __mod__(self, other: Any, /) -> Tensor:
        return apply("remainder", self, other)

    def __mul__(self, other: Any, /) -> Tensor:
        return apply("multiply", self, other)

    def __ne__(self, other: Any, /) -> Tensor:  # type: ignore[override]
        return apply("not_equal", self, other)

    def __neg__(self) -> Tensor:
        return apply("negative", self)

    def __or__(self, other: Any, /) -> Tensor:
        return apply("bitwise_or", self, other)

    def __pos__(self) -> Tensor:
        return apply("positive", self)

    def __pow__(self, other: Any, /) -> Tensor:
        return apply("pow", self, other)

    def __rshift__(self, other: Any, /) -> Tensor:
        return apply("bitwise_right_shift", self, other)

    def __setitem__(self, key: Any, value: Any, /) -> None:
        _views.set_item(self, _unwrap_key(key, self._backend), value)  # through a view: into its base

    def __sub__(self, other: Any, /) -> Tensor:
        return apply("subtract", self, other)

    def __truediv__(self, other: Any, /) -> Tensor:
        return apply("divide", self, other)

    def __xor__(self, other: Any, /) -> Tensor:
        return apply("bitwise_xor", self, other)

    # Reflected operators: the Python scalar or raw array is the left operand.
    def __radd__(self, other: Any, /) -> Tensor:
        return apply("add", other, self)

    def __rand__(self, other: Any, /) -> Tensor:
        return apply("bitwise_and", other, self)

    def __rfloordiv__(self, other: Any, /) -> Tensor:
        return apply("floor_divide", other, self)

    def __rlshift__(self, other: Any, /) -> Tensor:
        return apply("bitwise_left_shift", other, self)

    def __rmatmul__(self, other: Any, /) -> Tensor:
        return apply("matmul", other, self)

    def __rmod__(self, other: Any, /) -> Tensor:
        return apply("remainder", other, self)

    def __rmul__(self, other: Any, /) -> Tensor:
        return apply("multiply", other, self)

    def __ror__(self, other: Any, /) -> Tensor:
        return apply("bitwise_or", other, self)

    def __rpow__(self, other: Any, /) -> Tensor:
        return apply("pow", other, self)

    def __rrshift__(self, other: Any, /) -> Tensor:
        return apply("bitwise_right_shift", other, self)

    def __rsub__(self, other: Any, /) -> Tensor:
        return apply("subtract", other, self)

    def __rtruediv__(self, other: Any, /) -> Tensor:
        return apply("divide", other, self)

    def __rxor__(self, other: Any, /) -> Tensor:
        return apply("bitwise_xor", other, self)

    # In-place operators. The spec allows them not to mutate: the wrapper rebinds its data and its node
    # (copy-on-write), so arrays saved for backward keep their values and jax's immutable arrays work.
    def _assign(self, result: Tensor, op: str) -> None:
        if getattr(self, "_view", None) is not None:  # a write through a view goes to its base (_views.py)
            _views.write_through(self, result, op)
            return
        if self._node is None and self._requires_grad and _GRAD_ENABLED.get():
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place operation. To keep the "
                f"gradient, write into a recorded copy instead (y = xp.asarray(x, copy=True); with "
                f"array_api_extra.at(x)[i].set(v), pass copy=True); to change the leaf's values without "
                f"recording it, do it under wrapgrad.no_grad()"
            )
        check_in_place_result(self, result, op)
        self._data = result._data
        if result._node is not None:
            if self._retains_grad and self._node is not None:
                _graph.RETAINED.get(self._node, {}).pop(self._output_nr, None)
            self._node = result._node
            self._output_nr = result._output_nr
            self._requires_grad = True
            if self._retains_grad:  # the tensor now retains the gradient of its new value (torch)
                _graph.RETAINED.setdefault(self._node, {})[self._output_nr] = weakref.ref(self)
        if getattr(self, "_views", None):  # its live views see the new value
            _views.refresh(self)

    def __iadd__(self, other: Any, /) -> Tensor:
        self._assign(apply("add", self, other), "__iadd__")
        return self

    def __iand__(self, other: Any, /) -> Tensor:
        self._assign(apply("bitwise_and", self, other), "__iand__")
        return self

    def __ifloordiv__(self, other: Any, /) -> Tensor:
        self._assign(apply("floor_divide", self, other), "__ifloordiv__")
        return self

    def __ilshift__(self, other: Any, /) -> Tensor:
        self._assign(apply("bitwise_left_shift", self, other), "__ilshift__")
        return self

    def __imatmul__(self, other: Any, /) -> Tensor:
        self._assign(apply("matmul", self, other), "__imatmul__")
        return self

    def __imod__(self, other: Any, /) -> Tensor:
        self._assign(apply("remainder", self, other), "__imod__")
        return self

    def __imul__(self, other: Any, /) -> Tensor:
        self._assign(apply("multiply", self, other), "__imul__")
        return self

    def __ior__(self, other: Any, /) -> Tensor:
        self._assign(apply("bitwise_or", self, other), "__ior__")
        return self

    def __ipow__(self, other: Any, /) -> Tensor:
        self._assign(apply("pow", self, other), "__ipow__")
        return self

    def __irshift__(self, other: Any, /) -> Tensor:
        self._assign(apply("bitwise_right_shift", self, other), "__irshift__")
        return self

    def __isub__(self, other: Any, /) -> Tensor:
        self._assign(apply("subtract", self, other), "__isub__")
        return self

    def __itruediv__(self, other: Any, /) -> Tensor:
        self._assign(apply("divide", self, other), "__itruediv__")
        return self

    def __ixor__(self, other: Any, /) -> Tensor:
        self._assign(apply("bitwise_xor", self, other), "__ixor__")
        return self

    # -- torch-named conveniences that do not clash with the standard ---------------------------------------

    def zero_(self) -> Tensor:
        """Set every element to zero in place and return the tensor (``torch.Tensor.zero_``)."""
        self._assign(apply_untracked("zeros_like", self), "zero_")
        return self

    def item(self) -> bool | int | float | complex:
        """The value of a one-element tensor as a Python scalar (``torch.Tensor.item``).

        Like ``float(t)``, it works on tensors that require grad: a Python number is visibly off the tape.
        Any shape with exactly one element is accepted; bool, integer, real and complex dtypes give
        ``bool``, ``int``, ``float`` and ``complex``.
        """
        if self.size != 1:
            raise RuntimeError(f"item: a Tensor with {self.size} elements cannot be converted to Scalar")
        xp = self._backend.xp
        data = self._data if self._data.ndim == 0 else xp.reshape(self._data, ())
        dtype = self._data.dtype
        if xp.isdtype(dtype, "bool"):
            return bool(data)
        if xp.isdtype(dtype, "integral"):
            return int(data)
        if xp.isdtype(dtype, "complex floating"):
            return complex(data)
        return float(data)

    def tolist(self) -> Any:
        """The values as nested Python lists of Python scalars; a 0-D tensor gives a scalar (``torch.Tensor.tolist``).

        Works on tensors that require grad (the result is plain Python, visibly off the tape).
        """
        if self._data.ndim == 0:
            return self.item()
        import numpy as np

        return np.asarray(self.detach()).tolist()

    def __format__(self, format_spec: str) -> str:
        # A 0-D tensor formats as its value (numpy, torch and jax do too): f"{loss:.3f}". Other shapes take only
        # the empty spec (f"{t}" is str(t)), and refuse a number format in torch's and numpy's words.
        if self._data.ndim == 0:
            try:
                value = self.item()
            except Exception:  # a traced (jax.jit) or lazy value: f"{t}" still prints what repr can show
                if format_spec:
                    raise
                return str(self)
            return format(value, format_spec)
        if format_spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__: {format_spec!r} needs a 0-D "
                            f"tensor; this one has shape {self.shape} (format t.tolist() or an element)")
        return str(self)

    # -- pickling and copying (torch's rules): the value and requires_grad travel, the graph never does ------------

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # The Backend holds modules, which do not pickle: it is found again by name when the tensor is loaded. A
        # non-leaf comes back as a leaf with its values (and requires_grad, as in torch); .grad and hooks stay.
        return (_rebuild_tensor, (self._backend.name, self._data, self._requires_grad))

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        import copy

        if self._node is not None:
            raise RuntimeError(
                "deepcopy: only tensors created explicitly by the user (graph leaves) support the deepcopy protocol, "
                "as in torch; deepcopy t.detach() to copy the values, or the leaves the tensor was computed from"
            )
        new = Tensor._make(copy.deepcopy(self._data, memo), self._backend)
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = copy.deepcopy(self._grad, memo)
        memo[id(self)] = new
        return new


def _warn_non_leaf_grad() -> None:
    import warnings

    warnings.warn(
        "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
        "populated during backward(). If you want the gradient of a non-leaf Tensor, call .retain_grad() on it "
        "before backward; if you meant the leaf, read the leaf's .grad instead (as in torch).",
        UserWarning,
        stacklevel=3,
    )


def _rebuild_tensor(backend_name: str, data: Any, requires_grad: bool) -> Tensor:
    """Unpickle a Tensor: its Backend is found again by the name it was pickled under."""
    from ._backend import backend_for, namespace_by_name

    try:
        backend = backend_for(namespace_by_name(backend_name))
    except ValueError:  # a namespace wrapgrad has no short name for: the array itself says where it belongs
        backend = backend_of_array(data)
    if backend.normalize is not None:
        data = backend.normalize(data)
    t = Tensor._make(data, backend)
    t._requires_grad = requires_grad
    return t


def check_in_place_result(target: Tensor, result: Tensor, op: str) -> None:
    """An in-place operation keeps its tensor's dtype and shape (for views and plain tensors alike)."""
    if result._data.dtype != target._data.dtype:
        raise TypeError(
            f"{op}: the in-place result has dtype {result._data.dtype}, which differs from the "
            f"tensor's dtype {target._data.dtype}"
        )
    if tuple(result._data.shape) != tuple(target._data.shape):
        raise ValueError(
            f"{op}: the in-place result has shape {tuple(result._data.shape)}, which differs from "
            f"the tensor's shape {tuple(target._data.shape)}"
        )


_new_object = object.__new__


def new_result(data: Any, name: str, backend: Backend, rule: Any, targets: Any, nrs: tuple[int, ...] | None,
               input_meta: tuple[Any, ...] | None, saved_args: tuple[Any, ...] | None, ans: Any,
               params: dict[str, Any]) -> Tensor:
    """The Tensor of an op's one result, and the Node that records the op: ``_graph.new_node(...)`` (one output,
    not multi) then ``Tensor._make(data, backend, node, 0)``, in one call.

    Most ops of a graph are recorded here (the funnel's and its fast path's), and on small arrays a Python call
    is a tenth of an op's cost: the two constructors, written out in one body, save one.
    ``tests/test_engine.py`` checks every slot of both objects against those of the two constructors.
    """
    node = Node(targets)
    node.name = name
    node.backend = backend
    node.rule = rule
    node.nrs = nrs
    node.input_meta = input_meta
    node.saved_args = saved_args
    node.ans = ans
    node.params = params if params else NO_PARAMS
    node.n_outputs = 1
    node.multi = False
    node.released = False
    t = _new_object(Tensor)
    t._data = data
    t._backend = backend
    t._node = node
    t._output_nr = 0
    t._requires_grad = True
    t._grad = None
    t._retains_grad = False
    return t


def _unwrap_key(key: Any, backend: Backend) -> Any:
    """An index key with Tensors replaced by their backend arrays (index arrays are not differentiable)."""
    if isinstance(key, Tensor):
        _check_same_backend("__getitem__", key, backend)
        return key._data
    if isinstance(key, tuple):
        return tuple(_unwrap_key(k, backend) for k in key)
    return key


def _check_same_backend(op: str, t: Tensor, backend: Backend) -> None:
    if t._backend is not backend:
        raise TypeError(f"{op}: arguments come from different array libraries ({backend.name}, {t._backend.name})")


from . import _fast, _views  # noqa: E402  (views and the fast path go through the funnel too)
from ._apply import apply, apply_untracked  # noqa: E402  (the funnel needs Tensor; Tensor's methods need the funnel)
from ._autograd import _check_roots  # noqa: E402  (it checks Tensors; Tensor.backward calls it)

_fast.specialise_operators(Tensor)  # the element-wise operators above, each by its fast form (same results)
