"""Regenerate ``wrapgrad/_special_names.py``: the special functions SciPy dispatches to ``xp.special``.

With ``SCIPY_ARRAY_API=1``, ``scipy.special.<name>`` called on the arrays of a namespace SciPy does not know
(wrapgrad's) looks the function up as ``xp.special.<name>``. The list of those names is SciPy's private
``_FuncInfo`` inventory in ``scipy/special/_support_alternative_backends.py``, so it is read from the
installed SciPy here and committed, as ``conformance/spec_table.py`` is for the standard. Run::

    SCIPY_ARRAY_API=1 python -m conformance.make_special_table > wrapgrad/_special_names.py

For each function it records the parameter names (the ufuncs' from the ``name(a, b, out=None)`` line of
their docstrings, the other functions' from their signatures, ``out`` dropped) and whether it is a ufunc.
``tests/test_special.py`` regenerates the table in memory and compares it with the committed one.
"""

from __future__ import annotations

import inspect
import os
import pprint
import re
import sys


def read_table() -> tuple[str, dict[str, tuple[tuple[str, ...], bool]]]:
    """``(scipy version, {name: (parameter names, is_ufunc)})`` of the installed SciPy."""
    os.environ.setdefault("SCIPY_ARRAY_API", "1")
    import scipy
    from scipy.special import _support_alternative_backends as alternative

    table: dict[str, tuple[tuple[str, ...], bool]] = {}
    for info in alternative._special_funcs:
        name = info.name
        if info.is_ufunc:
            # The first line is numpy's generic ``name(x1, x2, /, out=None, *, where=True, ...)``; the
            # documented one, ``name(a, x, out=None)``, follows.
            found = [line for line in re.findall(rf"^\s*{name}\((.*?)\)\s*$", info.func.__doc__ or "", re.MULTILINE)
                     if "/" not in line]
            if not found:
                raise ValueError(f"{name}: no '{name}(...)' line in its docstring")
            params = tuple(p.strip() for p in found[0].split(","))
        else:
            params = tuple(inspect.signature(info.func).parameters)
        params = tuple(p.split("=")[0] for p in params if not p.startswith("out"))
        if len(params) != info.n_args:
            raise ValueError(f"{name}: {len(params)} parameters read ({params}), SciPy says {info.n_args}")
        table[name] = (params, bool(info.is_ufunc))
    return scipy.__version__, table


def render(version: str, table: dict[str, tuple[tuple[str, ...], bool]]) -> str:
    """The text of ``wrapgrad/_special_names.py``."""
    body = pprint.pformat(table, width=110, sort_dicts=True)
    return (
        '"""The special functions SciPy dispatches to ``xp.special``, read from SciPy by\n'
        "``conformance/make_special_table.py``.\n\n"
        "Generated: do not edit by hand. ``FUNCTIONS[name] = (parameter names, is_ufunc)``: every name of SciPy's\n"
        "``_FuncInfo`` list (``scipy/special/_support_alternative_backends.py``) of version ``SCIPY_VERSION``.\n"
        '"""\n\n'
        f"SCIPY_VERSION = {version!r}\n\n"
        f"FUNCTIONS: dict[str, tuple[tuple[str, ...], bool]] = {body}\n"
    )


def main() -> None:
    version, table = read_table()
    sys.stdout.write(render(version, table))


if __name__ == "__main__":
    main()
