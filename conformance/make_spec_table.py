"""Regenerate ``conformance/spec_table.py`` from the standard's own stubs.

The stubs live in the data-apis/array-api repository (``src/array_api_stubs/_<version>/``). Run::

    python -m conformance.make_spec_table /path/to/array-api-git-dir > conformance/spec_table.py

It reads each section's ``__all__`` (the names a namespace must define) for every revision wrapgrad serves,
and, for the newest revision, every function's parameters (name, kind, default) with ``ast``, so the tests
that use the table need neither the stubs nor the network.
"""

from __future__ import annotations

import ast
import pprint
import subprocess
import sys

VERSIONS = ("2023.12", "2024.12", "2025.12")
MAIN_SECTIONS = (
    "constants", "creation_functions", "data_type_functions", "elementwise_functions", "indexing_functions",
    "linear_algebra_functions", "manipulation_functions", "searching_functions", "set_functions",
    "sorting_functions", "statistical_functions", "utility_functions",
)
EXTENSIONS = ("linalg", "fft")
_KINDS = {"posonly": "POSITIONAL_ONLY", "arg": "POSITIONAL_OR_KEYWORD", "vararg": "VAR_POSITIONAL",
          "kwonly": "KEYWORD_ONLY", "kwarg": "VAR_KEYWORD"}


def _source(git_dir: str, version: str, section: str) -> str:
    path = f"HEAD:src/array_api_stubs/_{version.replace('.', '_')}/{section}.py"
    return subprocess.run(["git", "-C", git_dir, "show", path], capture_output=True, text=True, check=True).stdout


def _all(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise ValueError("no __all__")


def _parameters(fn: ast.FunctionDef) -> list[tuple[str, str, object]]:
    a = fn.args
    out: list[tuple[str, str, object]] = []
    positional = [(p, "posonly") for p in a.posonlyargs] + [(p, "arg") for p in a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for (p, kind), d in zip(positional, defaults, strict=True):
        out.append((p.arg, _KINDS[kind], _default(d)))
    if a.vararg is not None:
        out.append((a.vararg.arg, _KINDS["vararg"], "<required>"))
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append((p.arg, _KINDS["kwonly"], _default(d)))
    if a.kwarg is not None:
        out.append((a.kwarg.arg, _KINDS["kwarg"], "<required>"))
    return out


def _default(node: ast.expr | None) -> object:
    if node is None:
        return "<required>"
    return ast.literal_eval(node)


def main(git_dir: str) -> None:
    names: dict[str, list[str]] = {}
    signatures: dict[str, list[tuple[str, str, object]]] = {}
    for version in VERSIONS:
        found: list[str] = []
        for section in (*MAIN_SECTIONS, "info", *EXTENSIONS):
            tree = ast.parse(_source(git_dir, version, section))
            prefix = f"{section}." if section in EXTENSIONS else ""
            found += [prefix + n for n in _all(tree)]
            if version != VERSIONS[-1]:
                continue
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name in _all(tree):
                    signatures[prefix + node.name] = _parameters(node)
        names[version] = sorted(found)
    print('"""The standard\'s names and signatures, read from its stubs by ``conformance/make_spec_table.py``.')
    print()
    print("Generated: do not edit by hand. ``NAMES[version]``: every name a namespace of that revision defines")
    print("(``linalg.*``/``fft.*`` in the extensions; the inspection names are ``__array_namespace_info__``")
    print("and the methods of the object it returns). ``SIGNATURES``: for the newest revision, each function's")
    print("parameters as ``(name, inspect.Parameter kind name, default)``, ``'<required>'`` for no default.")
    print('"""')
    print()
    print(f"NAMES = {pprint.pformat({v: tuple(n) for v, n in names.items()}, width=110, compact=True)}")
    print()
    print(f"SIGNATURES = {pprint.pformat(signatures, width=110, compact=True)}")


if __name__ == "__main__":
    main(sys.argv[1])
