"""Tests of the conformance runner's own logic; none of them needs the array-api-tests checkout.

Run with ``python -m pytest conformance/test_runner.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from conformance import official
from conformance.__main__ import main
from conformance.official import (
    SUITE_ENV_VAR,
    Comparison,
    OfficialResult,
    ProgressBar,
    SuiteNotFound,
    SuiteRun,
    _follow_progress,
    compare,
    find_suite,
    parse_json_report,
    run_official,
)
from conformance.report import build_report, format_console, format_markdown, write_reports

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- synthetic reports


def _test(nodeid: str, outcome: str, message: str = "") -> dict[str, Any]:
    """One entry of a pytest-json-report ``tests`` list, shaped as the plugin writes it."""
    entry: dict[str, Any] = {
        "nodeid": nodeid,
        "outcome": outcome,
        "setup": {"outcome": "passed"},
        "teardown": {"outcome": "passed"},
    }
    if outcome == "skipped":
        entry["setup"] = {"outcome": "skipped", "longrepr": f"('conftest.py', 12, 'Skipped: {message}')"}
    elif outcome == "error":
        entry["setup"] = {"outcome": "failed", "crash": {"message": message}}
    else:
        call: dict[str, Any] = {"outcome": outcome}
        if outcome == "failed":
            call["crash"] = {"path": "x.py", "lineno": 1, "message": message}
        entry["call"] = call
    return entry


def _report(*tests: dict[str, Any], collectors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"exitcode": 1, "summary": {}, "tests": list(tests), "collectors": collectors or []}


RAW = _report(
    _test("t.py::test_abs", "passed"),
    _test("t.py::test_sign", "passed"),
    _test("t.py::test_floor_divide", "failed", "AssertionError: out=nan, but should be -0"),
    _test("t.py::test_expm1", "failed", "AssertionError: complex expm1"),
    _test("t.py::test_linalg", "passed"),
    _test("t.py::test_fft", "skipped", "fft not found in array module"),
    _test("t.py::test_roll", "passed"),
)
WRAPPED = _report(
    _test("t.py::test_abs", "passed"),
    _test("t.py::test_sign", "failed", "AssertionError: out.dtype=float32, but should be float64"),
    _test("t.py::test_floor_divide", "failed", "AssertionError: out=nan, but should be -0"),
    _test("t.py::test_expm1", "passed"),
    _test("t.py::test_linalg", "skipped", "linalg not found in array module"),
    _test("t.py::test_fft", "error", "TypeError: bad fixture"),
    # t.py::test_roll is absent: its module failed to collect in the wrapped run.
    collectors=[{"nodeid": "t2.py", "outcome": "failed", "longrepr": "ImportError: no roll\nmore"}],
)


def _compare(raw: dict[str, Any], wrapped: dict[str, Any]) -> Comparison:
    raw_out, raw_msg, _ = parse_json_report(raw)
    wrapped_out, wrapped_msg, _ = parse_json_report(wrapped)
    return compare(raw_out, wrapped_out, raw_msg, wrapped_msg)


# --------------------------------------------------------------------------- parsing, comparing


def test_parse_json_report_outcomes_messages_and_collect_errors() -> None:
    outcomes, messages, collect_errors = parse_json_report(WRAPPED)
    assert outcomes == {
        "t.py::test_abs": "passed",
        "t.py::test_sign": "failed",
        "t.py::test_floor_divide": "failed",
        "t.py::test_expm1": "passed",
        "t.py::test_linalg": "skipped",
        "t.py::test_fft": "error",
    }
    assert messages["t.py::test_sign"].startswith("AssertionError: out.dtype=float32")
    assert messages["t.py::test_linalg"] == "linalg not found in array module"
    assert messages["t.py::test_fft"] == "TypeError: bad fixture"
    assert "t.py::test_abs" not in messages
    assert collect_errors == ["t2.py: ImportError: no roll\nmore"]


def test_parse_json_report_keeps_only_the_head_of_long_messages() -> None:
    message = "AssertionError: out=1, but should be 2\n\nassert False\n + where False = f(1)"
    outcomes, messages, _ = parse_json_report(_report(_test("t.py::a", "failed", message)))
    assert outcomes == {"t.py::a": "failed"}
    assert messages["t.py::a"] == "AssertionError: out=1, but should be 2"


def test_compare_sorts_tests_into_categories() -> None:
    c = _compare(RAW, WRAPPED)
    ids = {
        name: [e["nodeid"] for e in getattr(c, name)]
        for name in ("regressions", "improvements", "both_failed", "newly_skipped", "new_failures")
    }
    assert ids == {
        # passed raw; failed wrapped, or not collected at all
        "regressions": ["t.py::test_roll", "t.py::test_sign"],
        "improvements": ["t.py::test_expm1"],
        "both_failed": ["t.py::test_floor_divide"],
        "newly_skipped": ["t.py::test_linalg"],
        "new_failures": ["t.py::test_fft"],
    }
    assert c.counts() == {"regressions": 2, "improvements": 1, "both_failed": 1, "newly_skipped": 1, "new_failures": 1}


def test_compare_messages_come_from_the_side_that_failed() -> None:
    c = _compare(RAW, WRAPPED)
    by_id = {e["nodeid"]: e for e in c.regressions + c.improvements + c.both_failed}
    assert by_id["t.py::test_sign"]["message"].startswith("AssertionError: out.dtype=float32")
    assert by_id["t.py::test_sign"]["raw"] == "passed"
    assert by_id["t.py::test_sign"]["wrapped"] == "failed"
    assert by_id["t.py::test_roll"]["wrapped"] == "missing"
    assert "not collected" in by_id["t.py::test_roll"]["message"]
    assert by_id["t.py::test_expm1"]["message"] == "AssertionError: complex expm1"


def test_compare_identical_runs_have_no_regressions() -> None:
    c = _compare(RAW, RAW)
    assert c.regressions == [] and c.improvements == [] and c.newly_skipped == []
    assert [e["nodeid"] for e in c.both_failed] == ["t.py::test_expm1", "t.py::test_floor_divide"]


def test_an_error_counts_as_a_failure() -> None:
    raw = {"a": "passed", "b": "error"}
    wrapped = {"a": "error", "b": "passed"}
    c = compare(raw, wrapped)
    assert [e["nodeid"] for e in c.regressions] == ["a"]
    assert [e["nodeid"] for e in c.improvements] == ["b"]


def test_official_result_ok() -> None:
    assert OfficialResult("numpy", "2025.12", comparison=Comparison()).ok
    assert not OfficialResult("numpy", "2025.12", comparison=_compare(RAW, WRAPPED)).ok
    assert not OfficialResult("numpy", "2025.12", error="wrapgrad.numpy does not import").ok
    broken = SuiteRun("wrapgrad.numpy", "2025.12", error="pytest exited with status 4")
    assert not OfficialResult("numpy", "2025.12", wrapped=broken).ok
    assert OfficialResult("jax", "2025.12", skipped="jax implements 2024.12").ok


def test_suite_run_counts() -> None:
    run = SuiteRun("m", "2025.12", outcomes=parse_json_report(WRAPPED)[0])
    assert run.counts() == {"passed": 2, "failed": 3, "skipped": 1, "total": 6}


# --------------------------------------------------------------------------- suite discovery


def test_find_suite_without_a_path_says_how_to_set_one() -> None:
    with pytest.raises(SuiteNotFound, match=SUITE_ENV_VAR) as info:
        find_suite(None)
    assert "--official PATH" in str(info.value)


def test_find_suite_rejects_a_folder_that_is_not_the_suite(tmp_path: Path) -> None:
    with pytest.raises(SuiteNotFound, match="not a checkout of data-apis/array-api-tests"):
        find_suite(tmp_path)


def test_find_suite_asks_for_the_spec_submodule(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("")
    (tmp_path / "array_api_tests").mkdir()
    with pytest.raises(SuiteNotFound, match="submodule"):
        find_suite(tmp_path)
    (tmp_path / "array-api" / "src" / "array_api_stubs").mkdir(parents=True)
    assert find_suite(tmp_path) == tmp_path.resolve()


def test_jax_is_skipped_at_versions_it_does_not_implement(tmp_path: Path) -> None:
    notes: list[str] = []
    # Decided before anything is imported or run, so a dummy suite folder is enough.
    results = run_official(["jax"], ["2025.12"], 5, tmp_path, notify=notes.append)
    assert len(results) == 1
    assert results[0].skipped is not None and "2024.12" in results[0].skipped
    assert results[0].raw is None and results[0].ok
    assert notes and "skipped" in notes[0]


def test_clean_env_drops_inherited_suite_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARRAY_API_TESTS_SKIP_DTYPES", "uint64")
    monkeypatch.setenv("ARRAY_API_STRICT_API_VERSION", "2023.12")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = official._clean_env({"JAX_ENABLE_X64": "1"})
    assert "ARRAY_API_TESTS_SKIP_DTYPES" not in env
    assert "ARRAY_API_STRICT_API_VERSION" not in env
    assert env["PYTHONPATH"].split(os.pathsep) == [str(PROJECT_ROOT), "/elsewhere"]
    assert env["JAX_ENABLE_X64"] == "1"


def test_pytest_command_puts_test_paths_before_multi_value_options(tmp_path: Path) -> None:
    cmd = official.pytest_command(20, tmp_path / "r.json")
    assert cmd.index("array_api_tests/") < cmd.index("--json-report-omit")
    for flag in ("--derandomize", "--disable-deadline", "--max-examples=20"):
        assert flag in cmd
    assert "conformance._seed_plugin" in cmd


# --------------------------------------------------------------------------- progress


def test_progress_lines_are_counted() -> None:
    read_fd, write_fd = os.pipe()

    def child() -> None:
        with os.fdopen(write_fd, "w") as pipe:
            pipe.write("collected 3\ndone passed a\ndone failed b\ndone error c\n")

    thread = threading.Thread(target=child)
    thread.start()
    bar = ProgressBar("x", enabled=False)
    _follow_progress(read_fd, bar)
    thread.join()
    assert (bar.total, bar.done, bar.failed) == (3, 3, 2)


def test_seed_plugin_makes_global_random_reproducible(tmp_path: Path) -> None:
    test_file = tmp_path / "test_draw.py"
    test_file.write_text(
        "import random\n"
        "def test_one():\n    print('DRAW', random.random())\n"
        "def test_two():\n    print('DRAW', random.random())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "conformance._seed_plugin",
        "-p",
        "no:cacheprovider",
        "-s",
        "-q",
        str(test_file),
    ]

    def draws() -> list[str]:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, check=True)
        # With -s the prints share lines with pytest's progress dots.
        return re.findall(r"DRAW (\S+)", out.stdout)

    first = draws()
    assert len(first) == 2 and first[0] != first[1]  # seeded per test, not once
    assert draws() == first


# --------------------------------------------------------------------------- report


def _sample_report(rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    raw_out, raw_msg, _ = parse_json_report(RAW)
    wrapped_out, wrapped_msg, _ = parse_json_report(WRAPPED)
    result = OfficialResult(
        "numpy",
        "2025.12",
        raw=SuiteRun("array_api_compat.numpy", "2025.12", raw_out, raw_msg, duration_s=1.0, returncode=1),
        wrapped=SuiteRun("wrapgrad.numpy", "2025.12", wrapped_out, wrapped_msg, duration_s=2.0, returncode=1),
        comparison=compare(raw_out, wrapped_out, raw_msg, wrapped_msg),
    )
    return build_report(
        meta={"date": "2026-11-25", "backends": ["numpy"]},
        official_status="ran",
        official_note=None,
        official=[result],
        gradients_status="ran" if rows is not None else "not available",
        gradients_note=None if rows is not None else "conformance/gradients.py does not exist yet",
        gradient_rows=rows or [],
    )


def test_report_views_show_regressions(tmp_path: Path) -> None:
    report = _sample_report()
    assert report["ok"] is False
    text = format_console(report)
    assert "REGRESSION t.py::test_sign" in text and "2 regressions" in text
    assert "not available" in text
    markdown = format_markdown(report)
    assert "Regressions (2)" in markdown and "`t.py::test_sign`" in markdown
    md_path, json_path = write_reports(report, tmp_path / "out")
    assert md_path.read_text() == markdown
    loaded = json.loads(json_path.read_text())
    assert loaded["official"]["results"][0]["comparison"]["counts"]["regressions"] == 2
    assert loaded["gradients"]["status"] == "not available"


def test_failed_gradient_rows_fail_the_report() -> None:
    rows = [
        {"backend": "numpy", "name": "sin", "dtype": "float64", "status": "passed", "detail": ""},
        {"backend": "numpy", "name": "cos", "dtype": "float64", "status": "failed", "detail": "off by 2"},
        {"backend": "numpy", "name": "abs", "dtype": "int64", "status": "skipped", "detail": "int"},
    ]
    report = _sample_report(rows)
    assert report["gradients"]["summary"] == {"numpy": {"passed": 1, "failed": 1, "skipped": 1}}
    assert "GRADIENT FAILED cos [float64]: off by 2" in format_console(report)


# --------------------------------------------------------------------------- command line


def _no_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if gradients.py did not exist.
    monkeypatch.setitem(sys.modules, "conformance.gradients", None)


def _fake_gradients(monkeypatch: pytest.MonkeyPatch, status: str) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def run_gradient_matrix(backends, max_examples, progress):  # type: ignore[no-untyped-def]
        calls.append((backends, max_examples))
        if progress is not None:
            progress("sin float64")
        return [{"backend": b, "name": "sin", "dtype": "float64", "status": status, "detail": ""} for b in backends]

    module = types.ModuleType("conformance.gradients")
    module.run_gradient_matrix = run_gradient_matrix  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conformance.gradients", module)
    return calls


def test_cli_skips_the_official_half_with_a_message_when_no_suite_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(SUITE_ENV_VAR, raising=False)
    _no_gradients(monkeypatch)
    status = main(["--backend", "numpy", "--out", str(tmp_path), "--no-progress"])
    assert status == 0
    err = capsys.readouterr().err
    assert "official suite: skipped" in err
    assert SUITE_ENV_VAR in err and "--official PATH" in err
    assert "gradient matrix: not available" in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["official"]["status"] == "skipped"
    assert SUITE_ENV_VAR in report["official"]["note"]
    assert report["gradients"]["status"] == "not available"
    assert report["gradients"]["rows"] == []
    assert (tmp_path / "report.md").is_file()


def test_cli_rejects_a_wrong_suite_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--official", str(tmp_path), "--only", "official", "--out", str(tmp_path / "o")])
    assert status == 2
    assert "not a checkout" in capsys.readouterr().err


def test_cli_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--backend", "tensorflow"])  # torch is a backend now
    assert info.value.code == 2
    assert "unknown backend" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--api-version", "2025"])
    with pytest.raises(SystemExit):
        main(["--only", "both"])


def test_cli_exit_status_follows_the_gradient_rows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _fake_gradients(monkeypatch, "passed")
    assert (
        main(
            [
                "--only",
                "gradients",
                "--backend",
                "numpy",
                "--max-examples",
                "7",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    assert calls == [(["numpy"], 7)]
    _fake_gradients(monkeypatch, "failed")
    assert main(["--only", "gradients", "--backend", "numpy", "--out", str(tmp_path), "--no-progress"]) == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is False and report["official"]["status"] == "skipped"


def test_cli_reports_a_gradient_module_that_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = types.ModuleType("conformance.gradients")

    def run_gradient_matrix(backends, max_examples, progress):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    module.run_gradient_matrix = run_gradient_matrix  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conformance.gradients", module)
    assert main(["--only", "gradients", "--backend", "numpy", "--out", str(tmp_path), "--no-progress"]) == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["gradients"]["status"] == "error" and "boom" in report["gradients"]["note"]
