"""The official half: run data-apis/array-api-tests on a raw backend and on wrapgrad over it.

Both runs use the same flags, environment and Hypothesis settings, so a test that passes on
the raw namespace and fails on the wrapped one is a regression that wrapgrad introduced.
The suite is not a dependency: point the runner at a local checkout (see ``conformance/README.md``).
Nothing here imports an array library; every backend is only touched in subprocesses.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "BACKENDS",
    "SUITE_ENV_VAR",
    "Backend",
    "Comparison",
    "OfficialResult",
    "SuiteNotFound",
    "SuiteRun",
    "compare",
    "find_suite",
    "installed_backends",
    "parse_json_report",
    "run_official",
    "run_suite",
    "suite_commits",
]

#: Environment variable that points at a checkout of data-apis/array-api-tests.
SUITE_ENV_VAR = "ARRAY_API_TESTS_DIR"

#: The root of the wrapgrad checkout; subprocesses need it on PYTHONPATH to import
#: ``wrapgrad`` and ``conformance._seed_plugin`` while running from the suite's folder.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

SETUP_HINT = (
    "git clone https://github.com/data-apis/array-api-tests /path/to/array-api-tests\n"
    "  cd /path/to/array-api-tests && git submodule update --init\n"
    f"  export {SUITE_ENV_VAR}=/path/to/array-api-tests   (or pass --official PATH)\n"
    "  (see conformance/README.md for the pinned commit and an offline setup)"
)

# Outcomes as pytest-json-report spells them, grouped the way the comparison reads them.
PASS = frozenset({"passed", "xpassed"})
FAIL = frozenset({"failed", "error"})
SKIP = frozenset({"skipped", "xfailed"})
MISSING = "missing"


@dataclass(frozen=True)
class Backend:
    """One array library as the suite sees it, raw and wrapped.

    Attributes
    ----------
    name : str
        Short name used on the command line and in wrapgrad (``wrapgrad.<name>``).
    raw_module : str
        Value of ``ARRAY_API_TESTS_MODULE`` for the raw namespace.
    wrapped_module : str
        Value of ``ARRAY_API_TESTS_MODULE`` for wrapgrad over that namespace.
    requires : tuple of str
        Top-level modules that must be importable for the backend to count as installed.
    env : Mapping[str, str]
        Extra environment for both runs.
    api_versions : tuple of str or None
        Standard versions the library implements; ``None`` means it follows the version it is
        asked for (``ARRAY_API_STRICT_API_VERSION``) or is not version-specific.
    version_note : str
        Why other versions are skipped.
    """

    name: str
    raw_module: str
    wrapped_module: str
    requires: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    api_versions: tuple[str, ...] | None = None
    version_note: str = ""


BACKENDS: dict[str, Backend] = {
    "numpy": Backend(
        name="numpy",
        raw_module="array_api_compat.numpy",
        wrapped_module="wrapgrad.numpy",
        requires=("numpy", "array_api_compat"),
    ),
    "array_api_strict": Backend(
        name="array_api_strict",
        raw_module="array_api_strict",
        wrapped_module="wrapgrad.array_api_strict",
        requires=("array_api_strict",),
    ),
    "jax": Backend(
        name="jax",
        raw_module="jax.numpy",
        wrapped_module="wrapgrad.jax",
        requires=("jax",),
        # Without x64, float64/int64/uint64 silently become 32-bit and ~200 more tests fail
        # on the raw namespace alone: the comparison would measure jax's defaults, not wrapgrad.
        env={"JAX_ENABLE_X64": "1"},
        api_versions=("2024.12",),
        version_note=(
            "jax.numpy implements API 2024.12 (its __array_api_version__; "
            "__array_namespace__(api_version=...) raises for any other version)"
        ),
    ),
    "torch": Backend(
        name="torch",
        raw_module="array_api_compat.torch",
        wrapped_module="wrapgrad.torch",
        requires=("torch", "array_api_compat"),
    ),
    "cupy": Backend(
        name="cupy",
        raw_module="array_api_compat.cupy",
        wrapped_module="wrapgrad.cupy",
        requires=("cupy", "array_api_compat"),
    ),
    "dask": Backend(
        name="dask",
        raw_module="array_api_compat.dask.array",
        wrapped_module="wrapgrad.dask",
        requires=("dask", "array_api_compat"),
    ),
}


class SuiteNotFound(Exception):
    """No usable array-api-tests checkout; the message says how to provide one."""


@dataclass
class SuiteRun:
    """The outcome of one pytest run of the suite on one namespace.

    Attributes
    ----------
    module : str
        The ``ARRAY_API_TESTS_MODULE`` that was tested.
    api_version : str
        The ``ARRAY_API_TESTS_VERSION`` it was tested at.
    outcomes : dict of str to str
        pytest-json-report outcome per test node id.
    messages : dict of str to str
        First lines of the failure message per failing (or skip reason per skipped) node id.
    collect_errors : list of str
        Modules that failed to import, with their error.
    duration_s : float
        Wall time of the run.
    returncode : int
        pytest's exit status (0 all passed, 1 some failed; anything else is a broken run).
    error : str or None
        Why the run produced no usable report, if it did not.
    log : str or None
        Path of the file holding pytest's own output.
    """

    module: str
    api_version: str
    outcomes: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    collect_errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    returncode: int = 0
    error: str | None = None
    log: str | None = None

    def counts(self) -> dict[str, int]:
        """Return the number of tests passed, failed, skipped and in total."""
        values = list(self.outcomes.values())
        return {
            "passed": sum(v in PASS for v in values),
            "failed": sum(v in FAIL for v in values),
            "skipped": sum(v in SKIP for v in values),
            "total": len(values),
        }


@dataclass
class Comparison:
    """Test-by-test difference between a raw run and a wrapped run.

    Every list holds dicts with keys ``nodeid``, ``raw``, ``wrapped`` (outcomes) and
    ``message`` (the wrapped run's message, or the raw one when only raw failed).
    """

    regressions: list[dict[str, str]] = field(default_factory=list)
    """Passed raw; failed, errored or is missing wrapped. These fail the run."""
    improvements: list[dict[str, str]] = field(default_factory=list)
    """Failed raw, passed wrapped."""
    both_failed: list[dict[str, str]] = field(default_factory=list)
    """Failed on both: a limitation of the backend that wrapgrad inherits."""
    newly_skipped: list[dict[str, str]] = field(default_factory=list)
    """Passed raw, skipped wrapped (e.g. an extension wrapgrad does not expose yet)."""
    new_failures: list[dict[str, str]] = field(default_factory=list)
    """Skipped (or absent) raw, failed wrapped: not a regression, but worth a look."""

    def counts(self) -> dict[str, int]:
        """Return the size of each category."""
        return {
            "regressions": len(self.regressions),
            "improvements": len(self.improvements),
            "both_failed": len(self.both_failed),
            "newly_skipped": len(self.newly_skipped),
            "new_failures": len(self.new_failures),
        }


@dataclass
class OfficialResult:
    """Everything the official half learned about one backend at one API version."""

    backend: str
    api_version: str
    raw: SuiteRun | None = None
    wrapped: SuiteRun | None = None
    comparison: Comparison | None = None
    skipped: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether this pair neither broke nor regressed."""
        if self.error is not None:
            return False
        for run in (self.raw, self.wrapped):
            if run is not None and run.error is not None:
                return False
        return self.comparison is None or not self.comparison.regressions


# --------------------------------------------------------------------------- discovery


def installed_backends() -> list[str]:
    """Return the names of the backends whose libraries are importable, in table order.

    Uses :func:`importlib.util.find_spec` on top-level names, so nothing is imported.
    """
    return [
        name
        for name, backend in BACKENDS.items()
        if all(importlib.util.find_spec(req) is not None for req in backend.requires)
    ]


def find_suite(path: str | os.PathLike[str] | None) -> Path:
    """Validate a checkout of array-api-tests and return its root.

    Parameters
    ----------
    path : path-like or None
        The checkout; ``None`` or empty means "not configured".

    Returns
    -------
    Path
        The resolved root of the checkout.

    Raises
    ------
    SuiteNotFound
        With a message that says what is missing and how to set the suite up.
    """
    if not path:
        raise SuiteNotFound(
            f"no array-api-tests checkout configured: set {SUITE_ENV_VAR} or pass --official PATH.\n  {SETUP_HINT}"
        )
    root = Path(path).expanduser().resolve()
    if not (root / "conftest.py").is_file() or not (root / "array_api_tests").is_dir():
        raise SuiteNotFound(
            f"{root} is not a checkout of data-apis/array-api-tests "
            "(expected conftest.py and array_api_tests/ at its root).\n"
            f"  {SETUP_HINT}"
        )
    if not (root / "array-api" / "src" / "array_api_stubs").is_dir():
        raise SuiteNotFound(
            f"{root} lacks its spec submodule (array-api/src/array_api_stubs): run\n"
            f"  git -C {root} submodule update --init\n"
            "  offline: git config submodule.array_api_tests/array-api.url <checkout of data-apis/array-api>\n"
            "           git -c protocol.file.allow=always submodule update --init"
        )
    return root


def suite_commits(root: Path) -> dict[str, str]:
    """Return the git commits of the suite and of its spec submodule (``"unknown"`` if not git)."""
    commits = {}
    for key, where in (("array-api-tests", root), ("array-api", root / "array-api")):
        try:
            out = subprocess.run(
                ["git", "-C", str(where), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            )
            commits[key] = out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commits[key] = "unknown"
    return commits


# --------------------------------------------------------------------------- reports


def _first_lines(text: str, lines: int = 4, chars: int = 600) -> str:
    # Stop at the first blank line: what follows in pytest's crash messages is assertion
    # rewriting detail ("assert False / + where ...") that repeats the first line.
    kept = []
    for line in text.strip().splitlines()[:lines]:
        if not line.strip():
            break
        kept.append(line.rstrip())
    text = "\n".join(kept)
    return text if len(text) <= chars else text[: chars - 3] + "..."


def _message(test: Mapping[str, Any]) -> str:
    """The most useful short explanation pytest-json-report recorded for one test."""
    for stage in ("call", "setup", "teardown"):
        info = test.get(stage) or {}
        if info.get("outcome") not in ("failed", "skipped"):
            continue
        crash = info.get("crash") or {}
        if crash.get("message"):
            return _first_lines(str(crash["message"]))
        longrepr = info.get("longrepr")
        if longrepr:
            # For skips pytest stores "(path, lineno, 'Skipped: reason')"; keep the reason.
            text = str(longrepr)
            if "Skipped: " in text:
                text = text.split("Skipped: ", 1)[1].rstrip("')\"")
            return _first_lines(text)
    return ""


def parse_json_report(report: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Extract per-test outcomes from a pytest-json-report document.

    Parameters
    ----------
    report : Mapping
        The decoded ``--json-report-file``.

    Returns
    -------
    outcomes : dict of str to str
        Outcome per node id (``passed``, ``failed``, ``error``, ``skipped``, ...).
    messages : dict of str to str
        Failure message or skip reason per node id that has one.
    collect_errors : list of str
        ``"<nodeid>: <first line of the error>"`` for every collector that failed.
    """
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    for test in report.get("tests", []):
        nodeid = test["nodeid"]
        outcomes[nodeid] = test.get("outcome", "error")
        if outcomes[nodeid] not in PASS:
            message = _message(test)
            if message:
                messages[nodeid] = message
    collect_errors = [
        f"{c.get('nodeid', '?')}: {_first_lines(str(c.get('longrepr', '')), lines=2)}"
        for c in report.get("collectors", [])
        if c.get("outcome") == "failed"
    ]
    return outcomes, messages, collect_errors


def compare(
    raw: Mapping[str, str],
    wrapped: Mapping[str, str],
    raw_messages: Mapping[str, str] | None = None,
    wrapped_messages: Mapping[str, str] | None = None,
) -> Comparison:
    """Compare two runs of the suite test by test.

    Parameters
    ----------
    raw, wrapped : Mapping of str to str
        Outcome per node id, as returned by :func:`parse_json_report`.
    raw_messages, wrapped_messages : Mapping of str to str, optional
        Messages per node id, copied into the entries.

    Returns
    -------
    Comparison
        A test that passed raw and failed, errored or was not collected wrapped is a
        regression. The entries of every category are sorted by node id.
    """
    raw_messages = raw_messages or {}
    wrapped_messages = wrapped_messages or {}
    result = Comparison()
    for nodeid in sorted(set(raw) | set(wrapped)):
        before = raw.get(nodeid, MISSING)
        after = wrapped.get(nodeid, MISSING)
        entry = {
            "nodeid": nodeid,
            "raw": before,
            "wrapped": after,
            "message": wrapped_messages.get(nodeid) or raw_messages.get(nodeid, ""),
        }
        if before in PASS:
            if after in FAIL or after == MISSING:
                if after == MISSING:
                    entry["message"] = "not collected in the wrapped run"
                result.regressions.append(entry)
            elif after in SKIP:
                result.newly_skipped.append(entry)
        elif before in FAIL:
            if after in PASS:
                entry["message"] = raw_messages.get(nodeid, "")
                result.improvements.append(entry)
            elif after in FAIL:
                entry["message"] = raw_messages.get(nodeid, "")
                result.both_failed.append(entry)
        elif after in FAIL:  # raw skipped or absent
            result.new_failures.append(entry)
    return result


# --------------------------------------------------------------------------- running


class ProgressBar:
    """A dependency-free progress line on stderr.

    On a terminal it redraws one line; elsewhere (CI logs) it prints a line at every tenth.
    """

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.total = 0
        self.done = 0
        self.failed = 0
        self.start = time.monotonic()
        self._last_tenth = -1

    def update(self) -> None:
        """Redraw (or, off a terminal, maybe print) the current state."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        if self.total:
            frac = min(self.done / self.total, 1.0)
            width = 24
            bar = "#" * int(frac * width) + "." * (width - int(frac * width))
            text = f"{self.label:<52} [{bar}] {self.done:>5}/{self.total:<5} {self.failed:>4} failed {elapsed:6.0f}s"
        else:
            text = f"{self.label:<52} collecting... {elapsed:6.0f}s"
        if self.tty:
            self.stream.write("\r" + text[:160])
            self.stream.flush()
        else:
            tenth = int(10 * self.done / self.total) if self.total else -1
            if tenth != self._last_tenth:
                self._last_tenth = tenth
                self.stream.write(text + "\n")
                self.stream.flush()

    def close(self, summary: str) -> None:
        """Finish the line with a summary."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        text = f"{self.label:<52} {summary} ({elapsed:.0f}s)"
        if self.tty:
            self.stream.write("\r" + text.ljust(120) + "\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment minus anything that would make two runs differ."""
    env = {
        k: v
        for k, v in os.environ.items()
        # An inherited ARRAY_API_TESTS_SKIP_DTYPES or strict version would silently change
        # what is tested; the runner sets every such variable itself.
        if not k.startswith(("ARRAY_API_TESTS_", "ARRAY_API_STRICT_", "HYPOTHESIS_"))
        and k not in ("PYTEST_ADDOPTS", "JAX_ENABLE_X64")
    }
    pythonpath = [str(PROJECT_ROOT)]
    if os.environ.get("PYTHONPATH"):
        pythonpath.append(os.environ["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    # Parametrisation order and set iteration in the suite must not vary between runs.
    env["PYTHONHASHSEED"] = "0"
    env.update(extra)
    return env


def wrapped_module_for(module: str, api_version: str) -> str:
    """The wrapgrad namespace that implements ``api_version``: the newest is the module itself, older
    revisions are its views (``wrapgrad.numpy.v2024_12``), which return lists where 2024.12 wants lists."""
    from wrapgrad._namespace import API_VERSIONS

    if api_version == API_VERSIONS[-1]:
        return module
    return f"{module}.v{api_version.replace('.', '_')}"


def check_importable(module: str, env: Mapping[str, str]) -> str | None:
    """Import ``module`` in a subprocess; return ``None`` or the error's last line."""
    code = "import importlib, sys; importlib.import_module(sys.argv[1])"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, module],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        return f"importing {module} took more than 300 s"
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {proc.returncode}"


def pytest_command(
    max_examples: int,
    json_path: Path,
    extra_args: Sequence[str] = (),
    seed: int = 0,
) -> list[str]:
    """The pytest command line used for every run (raw and wrapped alike).

    Parameters
    ----------
    max_examples : int
        Hypothesis ``max_examples`` (the suite divides it by 10 for "unvectorized" tests).
    json_path : Path
        Where pytest-json-report writes its report.
    extra_args : sequence of str
        Additional pytest arguments (e.g. ``-k``), placed before the report options.
    seed : int
        ``--hypothesis-seed``: fixes the generator behind ``strategy.example()``, which
        ``--derandomize`` does not reach. Derandomized ``@given`` tests ignore it.
    """
    return [
        sys.executable,
        "-m",
        "pytest",
        # Test paths go first: --json-report-omit takes several values and would swallow them.
        "array_api_tests/",
        "-p",
        "conformance._seed_plugin",
        # Keep .pytest_cache (last-failed ordering) and pytest-benchmark's .benchmarks
        # out of the suite folder.
        "-p",
        "no:cacheprovider",
        "-p",
        "no:benchmark",
        "-q",
        "--tb=short",
        "-o",
        "console_output_style=classic",
        "--derandomize",
        "--disable-deadline",
        f"--max-examples={max_examples}",
        f"--hypothesis-seed={seed}",
        *extra_args,
        "--json-report",
        f"--json-report-file={json_path}",
        "--json-report-omit",
        "keywords",
        "streams",
        "log",
        "traceback",
        "warnings",
    ]


def run_suite(
    suite_dir: Path,
    module: str,
    api_version: str,
    max_examples: int,
    *,
    env: Mapping[str, str] | None = None,
    shrink: bool = False,
    extra_args: Sequence[str] = (),
    log_path: Path | None = None,
    label: str | None = None,
    show_progress: bool = True,
    timeout_s: float | None = None,
) -> SuiteRun:
    """Run the suite once on one namespace and parse its report.

    Parameters
    ----------
    suite_dir : Path
        Root of the array-api-tests checkout (pytest runs from there).
    module : str
        ``ARRAY_API_TESTS_MODULE``.
    api_version : str
        Sets ``ARRAY_API_TESTS_VERSION`` and ``ARRAY_API_STRICT_API_VERSION``.
    max_examples : int
        Hypothesis examples per test.
    env : Mapping of str to str, optional
        Extra environment (e.g. ``JAX_ENABLE_X64``).
    shrink : bool
        Keep Hypothesis' shrink phase (slower; outcomes are the same).
    extra_args : sequence of str
        Additional pytest arguments.
    log_path : Path, optional
        Where to keep pytest's own output; a temporary file otherwise.
    label : str, optional
        Progress-bar label.
    show_progress : bool
        Draw the progress bar on stderr.
    timeout_s : float, optional
        Kill the run after this long.

    Returns
    -------
    SuiteRun
        ``error`` is set when pytest did not produce a usable report.
    """
    full_env = _clean_env(
        {
            **(env or {}),
            "ARRAY_API_TESTS_MODULE": module,
            "ARRAY_API_TESTS_VERSION": api_version,
            "ARRAY_API_STRICT_API_VERSION": api_version,
            "CONFORMANCE_NO_SHRINK": "0" if shrink else "1",
        }
    )
    run = SuiteRun(module=module, api_version=api_version)
    bar = ProgressBar(label or f"{module} @ {api_version}", enabled=show_progress)
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        tmpdir = Path(tmp)
        json_path = tmpdir / "report.json"
        # Anything Hypothesis wants to store goes here, not into the suite folder.
        full_env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(tmpdir / "hypothesis")
        log_file = log_path or tmpdir / "pytest.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        full_env["CONFORMANCE_PROGRESS_FD"] = str(write_fd)
        cmd = pytest_command(max_examples, json_path, extra_args)
        start = time.monotonic()
        with open(log_file, "w", encoding="utf-8") as log:
            log.write("$ " + " ".join(cmd) + "\n\n")
            log.flush()
            try:
                proc = subprocess.Popen(
                    cmd,
                    cwd=suite_dir,
                    env=full_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    pass_fds=(write_fd,),
                )
            finally:
                os.close(write_fd)  # the child holds the only write end: EOF when it exits
            timer = None
            if timeout_s is not None:
                timer = threading.Timer(timeout_s, proc.kill)
                timer.start()
            try:
                _follow_progress(read_fd, bar)
                run.returncode = proc.wait()
            finally:
                if timer is not None:
                    timer.cancel()
                if proc.poll() is None:  # interrupted: do not leave pytest running
                    proc.kill()
                    proc.wait()
        run.duration_s = time.monotonic() - start
        if log_path is not None:
            run.log = str(log_path)
        if json_path.is_file():
            try:
                report = json.loads(json_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                report = None
                run.error = f"unreadable json report: {exc}"
            if report is not None:
                run.outcomes, run.messages, run.collect_errors = parse_json_report(report)
        # 0: all passed, 1: some failed. 2 (interrupted), 3 (internal error), 4 (usage error,
        # e.g. the conftest could not import the module) and 5 (nothing collected) are broken runs.
        if run.error is None and (run.returncode not in (0, 1) or not run.outcomes):
            tail = _tail(log_file)
            run.error = f"pytest exited with status {run.returncode}: {tail}"
    counts = run.counts()
    bar.close(
        f"error: {run.error}"
        if run.error
        else f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    )
    return run


def _follow_progress(read_fd: int, bar: ProgressBar) -> None:
    """Read the plugin's progress lines until the child closes the pipe."""
    bar.update()
    with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as pipe:
        for line in pipe:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "collected":
                bar.total = int(rest or 0)
            elif kind == "done":
                bar.done += 1
                if rest.split(" ", 1)[0] in FAIL:
                    bar.failed += 1
            bar.update()


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def run_official(
    backends: Iterable[str],
    api_versions: Iterable[str],
    max_examples: int,
    suite_dir: Path,
    *,
    raw_only: bool = False,
    shrink: bool = False,
    extra_args: Sequence[str] = (),
    log_dir: Path | None = None,
    show_progress: bool = True,
    timeout_s: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> list[OfficialResult]:
    """Run the suite raw and wrapped for every backend and version, and compare.

    Parameters
    ----------
    backends : iterable of str
        Keys of :data:`BACKENDS`.
    api_versions : iterable of str
        Standard versions, e.g. ``["2024.12", "2025.12"]``.
    max_examples : int
        Hypothesis examples per test.
    suite_dir : Path
        Root of a checkout validated by :func:`find_suite`.
    raw_only : bool
        Only run the raw namespaces (a baseline; nothing is compared).
    shrink : bool
        Keep Hypothesis' shrink phase.
    extra_args : sequence of str
        Additional pytest arguments for both runs (e.g. ``["-k", "abs"]``).
    log_dir : Path, optional
        Keep pytest's output of every run there.
    show_progress : bool
        Draw progress bars on stderr.
    timeout_s : float, optional
        Per-run time limit.
    notify : callable, optional
        Receives one-line notes (skips, import failures) as they happen.

    Returns
    -------
    list of OfficialResult
        One per (backend, version), in the order given.
    """
    say = notify or (lambda message: None)
    results = []
    versions = list(api_versions)
    for name in backends:
        backend = BACKENDS[name]
        for version in versions:
            result = OfficialResult(backend=name, api_version=version)
            results.append(result)
            if backend.api_versions is not None and version not in backend.api_versions:
                result.skipped = f"{backend.version_note}; not run at {version}"
                say(f"{name} @ {version}: skipped: {result.skipped}")
                continue
            env = dict(backend.env)
            check_env = _clean_env({**env, "ARRAY_API_STRICT_API_VERSION": version})
            sides = [("raw", backend.raw_module)]
            if not raw_only:
                sides.append(("wrapped", wrapped_module_for(backend.wrapped_module, version)))
            broken = [
                f"{module} does not import: {err}"
                for _, module in sides
                if (err := check_importable(module, check_env)) is not None
            ]
            if broken:
                result.error = "; ".join(broken)
                say(f"{name} @ {version}: {result.error}")
                continue
            for side, module in sides:
                log_path = log_dir / f"{name}-{version}-{side}.log" if log_dir else None
                run = run_suite(
                    suite_dir,
                    module,
                    version,
                    max_examples,
                    env=env,
                    shrink=shrink,
                    extra_args=extra_args,
                    log_path=log_path,
                    label=f"{name} @ {version} {side} ({module})",
                    show_progress=show_progress,
                    timeout_s=timeout_s,
                )
                setattr(result, side, run)
            if result.raw is not None and result.wrapped is not None:
                if result.raw.error is None and result.wrapped.error is None:
                    result.comparison = compare(
                        result.raw.outcomes,
                        result.wrapped.outcomes,
                        result.raw.messages,
                        result.wrapped.messages,
                    )
    return results
