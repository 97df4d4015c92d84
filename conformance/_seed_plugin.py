"""A small pytest plugin that makes runs of the array-api-tests suite reproducible.

Load it with ``-p conformance._seed_plugin`` (the project root must be on ``PYTHONPATH``).
It does four things, each because two runs that should be identical otherwise differ:

1. An autouse fixture seeds Python's global :mod:`random` from the test's node id.
   ``test_special_cases.py::test_unary`` draws its input with ``strategy.example()``, which
   shuffles with the global ``random`` and so ignores ``--derandomize``. (``example()`` also
   draws a seed from Hypothesis' own thread-local generator; the runner pins that one with
   ``--hypothesis-seed``.)
2. After the suite's ``conftest.py`` has loaded its Hypothesis profile, it loads a child
   profile with ``database=None`` (no ``.hypothesis`` example database replaying one backend's
   failures on the next) and, when ``CONFORMANCE_NO_SHRINK=1``, without the shrink and explain
   phases: shrinking only makes failing examples smaller, it does not change whether a test
   fails, and it dominates the run time of backends with many failures.
3. It stops Hypothesis from mixing "local constants" into generated data. Hypothesis scans the
   source of every imported module outside site-packages (wrapgrad lives in a checkout, the
   raw backends do not) and draws from those literals about 5% of the time, so the raw and the
   wrapped run would otherwise be fed different examples.
4. When ``CONFORMANCE_PROGRESS_FD`` names a writable file descriptor, it writes one line per
   event to it (``collected N``, then ``done <outcome> <nodeid>`` per test), which the runner
   reads for its progress bar. A separate descriptor is used because pytest captures 1 and 2.

With ``CONFORMANCE_DEVICE`` set (``cuda``) it also makes that torch's default device, in the raw and the
wrapped torch runs alike (``conformance/device_check.sh``).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import IO, Any

import pytest

_progress: IO[str] | None = None
# Worst outcome seen so far for the test that is running (setup, call and teardown each report).
_outcome: dict[str, str] = {}


def _disable_local_constants() -> None:
    # Private Hypothesis API (hypothesis >= 6.131); absent in older versions, where there is
    # nothing to disable.
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        return
    if not hasattr(providers, "_get_local_constants"):  # pragma: no cover
        return
    empty = providers.Constants()  # type: ignore[attr-defined]
    providers._get_local_constants = lambda: empty


def pytest_configure(config: pytest.Config) -> None:
    global _progress
    fd = os.environ.get("CONFORMANCE_PROGRESS_FD")
    if fd:
        _progress = os.fdopen(int(fd), "w", buffering=1, encoding="utf-8")
    _disable_local_constants()
    _default_torch_device()


def _default_torch_device() -> None:
    # conformance/device_check.sh sets CONFORMANCE_DEVICE=cuda: the suite creates torch arrays without a device,
    # so torch's default device decides where both runs (raw and wrapped alike) put them.
    device = os.environ.get("CONFORMANCE_DEVICE")
    if device and "torch" in os.environ.get("ARRAY_API_TESTS_MODULE", ""):
        import torch

        torch.set_default_device(device)


def _load_profile() -> None:
    from hypothesis import Phase, settings

    changes: dict[str, Any] = {"database": None}
    if os.environ.get("CONFORMANCE_NO_SHRINK") == "1":
        changes["phases"] = [p for p in Phase if p not in (Phase.shrink, Phase.explain)]
    settings.register_profile("conformance", parent=settings.default, **changes)
    settings.load_profile("conformance")


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # The suite's conftest registers and loads its "array-api-tests" profile in its own
    # pytest_configure; by session start that has happened, so our child profile inherits
    # max_examples, derandomize and deadline from it. Collection (where the conftest derives
    # the settings of "unvectorized" tests from the default profile) comes later.
    _load_profile()


@pytest.fixture(autouse=True)
def _seed_global_random(request: pytest.FixtureRequest) -> Iterator[None]:
    # A str seed goes through sha512, so it does not depend on PYTHONHASHSEED.
    state = random.getstate()
    random.seed(request.node.nodeid)
    yield
    random.setstate(state)


def _emit(line: str) -> None:
    if _progress is not None:
        try:
            _progress.write(line + "\n")
        except OSError:  # the runner went away; keep testing
            pass


def pytest_collection_finish(session: pytest.Session) -> None:
    _emit(f"collected {len(session.items)}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    previous = _outcome.get(report.nodeid, "passed")
    if report.failed:
        outcome = "error" if report.when != "call" else "failed"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "passed"
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    if rank[outcome] > rank[previous]:
        previous = outcome
    _outcome[report.nodeid] = previous


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _emit(f"done {_outcome.pop(nodeid, 'passed')} {nodeid}")


def pytest_unconfigure(config: pytest.Config) -> None:
    global _progress
    if _progress is not None:
        try:
            _progress.close()
        except OSError:
            pass
        _progress = None
