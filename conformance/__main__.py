"""``python -m conformance``: prove wrapgrad conforms as well as the backends it wraps.

Two halves, each optional:

* the **official** half runs data-apis/array-api-tests on every raw backend and on wrapgrad over
  it with identical settings, and lists the tests that pass raw but fail wrapped (regressions);
* the **gradient** half runs ``conformance.gradients.run_gradient_matrix`` (when that module
  exists) and lists the rows whose gradients disagree.

It prints a table per backend, writes ``report.md`` and ``report.json`` and exits with status 1
on any regression, broken run or failed gradient row (2 on a usage error, 0 otherwise).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .official import (
    BACKENDS,
    SUITE_ENV_VAR,
    OfficialResult,
    SuiteNotFound,
    find_suite,
    installed_backends,
    run_official,
    suite_commits,
)
from .report import build_report, format_console, write_reports

DEFAULT_API_VERSION = "2025.12"
DEFAULT_MAX_EXAMPLES = 20
DEFAULT_OUT = "conformance-report"
PACKAGES = (
    "numpy",
    "array-api-compat",
    "array-api-strict",
    "jax",
    "jaxlib",
    "torch",
    "cupy",
    "hypothesis",
    "pytest",
    "pytest-json-report",
    "ndindex",
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description=(
            "Run the official array-api-tests suite on each raw backend and on wrapgrad over it "
            "(a test that passes raw but fails wrapped is a regression), and the gradient matrix."
        ),
        epilog=(
            f"The official half needs a checkout of data-apis/array-api-tests: pass --official "
            f"PATH or set {SUITE_ENV_VAR}. See conformance/README.md."
        ),
    )
    parser.add_argument(
        "--backend",
        type=_comma_list,
        default=None,
        metavar="NAMES",
        help=f"comma-separated backends from {', '.join(BACKENDS)} (default: every installed one)",
    )
    parser.add_argument(
        "--api-version",
        type=_comma_list,
        default=[DEFAULT_API_VERSION],
        metavar="VERSIONS",
        help=f"comma-separated standard versions, e.g. 2024.12,2025.12 (default {DEFAULT_API_VERSION})",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"Hypothesis examples per test, in both halves (default {DEFAULT_MAX_EXAMPLES})",
    )
    parser.add_argument(
        "--official",
        default=os.environ.get(SUITE_ENV_VAR) or None,
        metavar="PATH",
        help=f"checkout of data-apis/array-api-tests (default: ${SUITE_ENV_VAR}; absent: the official half is skipped)",
    )
    parser.add_argument(
        "--only",
        choices=("official", "gradients"),
        default=None,
        help="run only one half",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        metavar="DIR",
        help=f"where report.md, report.json and pytest logs go (default {DEFAULT_OUT}/)",
    )
    parser.add_argument(
        "--raw-only",
        action="store_true",
        help="official half: run only the raw backends (a baseline; nothing is compared)",
    )
    parser.add_argument(
        "--shrink",
        action="store_true",
        help="official half: keep Hypothesis shrinking (same outcomes, smaller failing examples, slower)",
    )
    parser.add_argument(
        "-k",
        dest="keyword",
        default=None,
        metavar="EXPR",
        help="official half: pytest -k expression, applied to raw and wrapped runs alike",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="official half: kill a single pytest run after this long",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    return parser


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _line_progress(prefix: str, enabled: bool) -> Callable[[str], None]:
    """A progress callback for the gradient half: one redrawn line on a terminal,
    at most one line every 5 s elsewhere (so CI logs stay short)."""
    tty = sys.stderr.isatty()
    last = [0.0]

    def progress(message: str) -> None:
        if not enabled:
            return
        if tty:
            sys.stderr.write("\r" + f"{prefix}{message}"[:150].ljust(150))
            sys.stderr.flush()
        elif time.monotonic() - last[0] >= 5.0:
            last[0] = time.monotonic()
            print(f"{prefix}{message}", file=sys.stderr, flush=True)

    return progress


def run_gradients(
    backends: list[str], max_examples: int, show_progress: bool
) -> tuple[str, str | None, list[dict[str, Any]]]:
    """Run the gradient half if ``conformance.gradients`` exists.

    Returns
    -------
    status : str
        ``"ran"``, ``"not available"`` (no module yet) or ``"error"`` (it raised).
    note : str or None
        Explanation for anything but ``"ran"``.
    rows : list of dict
        The matrix rows (keys backend, name, dtype, status, detail).
    """
    module_name = f"{__package__ or 'conformance'}.gradients"
    try:
        # Imported lazily: it imports wrapgrad and the backends, which the official half and
        # `--help` must not pay for, and it may not exist yet.
        gradients = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return "not available", "conformance/gradients.py does not exist yet", []
        return "error", f"importing conformance.gradients failed: {exc!r}", []
    except Exception as exc:  # a bug in the module must fail the run, not hide it
        return "error", f"importing conformance.gradients failed: {exc!r}", []
    progress = _line_progress("gradients: ", show_progress)
    try:
        rows = list(gradients.run_gradient_matrix(backends, max_examples, progress))
    except Exception as exc:
        return "error", f"run_gradient_matrix raised {exc!r}", []
    finally:
        if show_progress and sys.stderr.isatty():
            sys.stderr.write("\n")
    return "ran", None, rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conformance check; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    argv_list = list(sys.argv[1:] if argv is None else argv)

    installed = installed_backends()
    if args.backend is None:
        backends = installed
    else:
        unknown = [b for b in args.backend if b not in BACKENDS]
        if unknown:
            parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
        missing = [b for b in args.backend if b not in installed]
        if missing:
            parser.error(f"backend(s) not installed: {', '.join(missing)}")
        backends = list(dict.fromkeys(args.backend))
    if not backends:
        parser.error(f"none of {', '.join(BACKENDS)} is installed")
    bad = [v for v in args.api_version if not re.fullmatch(r"\d{4}\.\d{2}", v)]
    if bad or not args.api_version:
        parser.error(f"--api-version takes versions like 2025.12, got {bad or args.api_version}")
    if args.max_examples < 1:
        parser.error("--max-examples must be at least 1")

    def note(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    meta: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m conformance " + shlex.join(argv_list),
        "python": platform.python_version(),
        "packages": _package_versions(),
        "backends": backends,
        "api_versions": args.api_version,
        "max_examples": args.max_examples,
    }

    # ---- official half
    official: list[OfficialResult] = []
    official_status: str = "skipped"
    official_note: str | None = "not requested (--only gradients)"
    if args.only != "gradients":
        try:
            suite = find_suite(args.official)
        except SuiteNotFound as exc:
            if args.official:
                # A path was given (flag or environment) but is wrong: that is a mistake to fix,
                # not a reason to pass quietly.
                note(f"error: {exc}")
                return EXIT_USAGE
            official_note = str(exc)
            note(f"official suite: skipped: {official_note}")
        else:
            commits = suite_commits(suite)
            meta["suite"] = {"path": str(suite), "commits": commits}
            note(f"array-api-tests at {suite} ({commits['array-api-tests'][:12]})")
            extra = ["-k", args.keyword] if args.keyword else []
            official = run_official(
                backends,
                args.api_version,
                args.max_examples,
                suite,
                raw_only=args.raw_only,
                shrink=args.shrink,
                extra_args=extra,
                log_dir=args.out / "logs",
                show_progress=not args.no_progress,
                timeout_s=args.timeout,
                notify=note,
            )
            official_status, official_note = "ran", None

    # ---- gradient half
    gradients_status: str = "skipped"
    gradients_note: str | None = "not requested (--only official)"
    rows: list[dict[str, Any]] = []
    if args.only != "official":
        gradients_status, gradients_note, rows = run_gradients(backends, args.max_examples, not args.no_progress)
        if gradients_status != "ran":  # requested but missing or broken: say so now
            note(f"gradient matrix: {gradients_status}: {gradients_note}")

    report = build_report(
        meta=meta,
        official_status=official_status,
        official_note=official_note,
        official=official,
        gradients_status=gradients_status,
        gradients_note=gradients_note,
        gradient_rows=rows,
    )
    print(format_console(report))
    md_path, json_path = write_reports(report, args.out)
    print(f"\nwrote {md_path} and {json_path}")
    return EXIT_OK if report["ok"] else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
