"""Turn the results of both halves into one report: a console table, Markdown and JSON.

Everything is derived from one plain dict (:func:`build_report`), which is also what the JSON
file holds, so the three views cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .official import FAIL, OfficialResult, SuiteRun

__all__ = ["build_report", "format_console", "format_markdown", "gradient_summary", "write_reports"]

SCHEMA_VERSION = 1
# How many entries of a long list the console and the Markdown summary show inline.
CONSOLE_LIMIT = 15


def _run_dict(run: SuiteRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    failures = [
        {"nodeid": nodeid, "outcome": outcome, "message": run.messages.get(nodeid, "")}
        for nodeid, outcome in sorted(run.outcomes.items())
        if outcome in FAIL
    ]
    return {
        "module": run.module,
        "api_version": run.api_version,
        "counts": run.counts(),
        "duration_s": round(run.duration_s, 1),
        "returncode": run.returncode,
        "error": run.error,
        "collect_errors": run.collect_errors,
        "log": run.log,
        "failures": failures,
    }


def _official_dict(result: OfficialResult) -> dict[str, Any]:
    comparison = None
    if result.comparison is not None:
        c = result.comparison
        comparison = {
            "counts": c.counts(),
            "regressions": c.regressions,
            "improvements": c.improvements,
            "both_failed": c.both_failed,
            "newly_skipped": c.newly_skipped,
            "new_failures": c.new_failures,
        }
    return {
        "backend": result.backend,
        "api_version": result.api_version,
        "ok": result.ok,
        "skipped": result.skipped,
        "error": result.error,
        "raw": _run_dict(result.raw),
        "wrapped": _run_dict(result.wrapped),
        "comparison": comparison,
    }


def gradient_summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Count gradient rows per backend and status.

    Parameters
    ----------
    rows : iterable of Mapping
        Rows from ``conformance.gradients.run_gradient_matrix`` (keys ``backend``, ``status``).

    Returns
    -------
    dict
        ``{backend: {"passed": n, "failed": n, "skipped": n}}``.
    """
    summary: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = summary.setdefault(str(row["backend"]), {"passed": 0, "failed": 0, "skipped": 0})
        status = str(row.get("status", "failed"))
        # Anything but passed/skipped counts as failed, so an unexpected status cannot hide.
        counts[status if status in counts else "failed"] += 1
    return summary


def build_report(
    *,
    meta: Mapping[str, Any],
    official_status: str,
    official_note: str | None,
    official: Sequence[OfficialResult],
    gradients_status: str,
    gradients_note: str | None,
    gradient_rows: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Assemble the report document.

    Parameters
    ----------
    meta : Mapping
        Run metadata (date, command, package versions, suite commits, settings).
    official_status, gradients_status : str
        ``"ran"``, ``"skipped"``, ``"not available"`` or ``"error"``.
    official_note, gradients_note : str or None
        Why a half did not run (or broke).
    official : sequence of OfficialResult
        Results of the official half.
    gradient_rows : sequence of Mapping
        Rows of the gradient matrix.

    Returns
    -------
    dict
        JSON-serialisable; ``ok`` is False on any regression, broken run or failed gradient row.
    """
    rows = [dict(row) for row in gradient_rows]
    summary = gradient_summary(rows)
    official_ok = all(r.ok for r in official) and official_status != "error"
    gradients_ok = gradients_status != "error" and all(c["failed"] == 0 for c in summary.values())
    return {
        "schema": SCHEMA_VERSION,
        "ok": official_ok and gradients_ok,
        "meta": dict(meta),
        "official": {
            "status": official_status,
            "note": official_note,
            "results": [_official_dict(r) for r in official],
        },
        "gradients": {
            "status": gradients_status,
            "note": gradients_note,
            "summary": summary,
            "rows": rows,
        },
    }


# --------------------------------------------------------------------------- console


def _backends_in(report: Mapping[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for name in report["meta"].get("backends", []):
        seen[name] = None
    for result in report["official"]["results"]:
        seen[result["backend"]] = None
    for name in report["gradients"]["summary"]:
        seen[name] = None
    return list(seen)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _counts_cells(run: Mapping[str, Any]) -> list[str]:
    c = run["counts"]
    return [str(c["passed"]), str(c["failed"]), str(c["skipped"]), str(c["total"]), f"{run['duration_s']:.0f}s"]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]

    # Text left, numbers right.
    def fmt(row: Sequence[str]) -> str:
        cells = [
            str(cell).rjust(w) if str(cell).rstrip("s").isdigit() else str(cell).ljust(w)
            for cell, w in zip(row, widths, strict=True)
        ]
        return indent + "  ".join(cells).rstrip()

    return [fmt(header), indent + "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def _comparison_line(comparison: Mapping[str, Any]) -> str:
    c = comparison["counts"]
    return (
        f"vs raw: {c['regressions']} regressions, {c['improvements']} improvements, "
        f"{c['both_failed']} fail on both, {c['newly_skipped']} newly skipped, "
        f"{c['new_failures']} fail where raw skips"
    )


def format_console(report: Mapping[str, Any]) -> str:
    """Render the report as plain-text tables, one block per backend."""
    lines: list[str] = []
    official = report["official"]
    gradients = report["gradients"]
    # Only the first line of a note: the runner already printed the whole of it to stderr.
    if official["status"] != "ran":
        lines.append(f"official suite: {official['status']}: {_first_line(official['note'])}")
    if gradients["status"] != "ran":
        lines.append(f"gradient matrix: {gradients['status']}: {_first_line(gradients['note'])}")
    header = ["official suite", "module", "API", "passed", "failed", "skipped", "total", "time"]
    for backend in _backends_in(report):
        lines.append("")
        lines.append(f"== {backend} " + "=" * max(0, 70 - len(backend)))
        results = [r for r in official["results"] if r["backend"] == backend]
        rows = []
        notes = []
        for r in results:
            for side in ("raw", "wrapped"):
                run = r[side]
                if run is not None:
                    rows.append([side, run["module"], r["api_version"], *_counts_cells(run)])
                    if run["error"]:
                        notes.append(f"{r['api_version']} {side}: ERROR {run['error']}")
            if r["skipped"]:
                notes.append(f"{r['api_version']}: skipped: {r['skipped']}")
            if r["error"]:
                notes.append(f"{r['api_version']}: ERROR {r['error']}")
            if r["comparison"] is not None:
                notes.append(f"{r['api_version']} {_comparison_line(r['comparison'])}")
                regressions = r["comparison"]["regressions"]
                for entry in regressions[:CONSOLE_LIMIT]:
                    message = entry["message"].splitlines()[0] if entry["message"] else ""
                    notes.append(f"    REGRESSION {entry['nodeid']}: {message[:160]}")
                if len(regressions) > CONSOLE_LIMIT:
                    notes.append(f"    ... and {len(regressions) - CONSOLE_LIMIT} more (see the report)")
        if rows:
            lines.extend(_table(header, rows))
        elif not notes and backend not in gradients["summary"]:
            lines.append("  nothing ran for this backend")
        lines.extend("  " + note for note in notes)
        summary = gradients["summary"].get(backend)
        if summary is not None:
            lines.append(
                f"  gradients: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped"
            )
            failed = [
                row
                for row in gradients["rows"]
                if row["backend"] == backend and row.get("status") not in ("passed", "skipped")
            ]
            for row in failed[:CONSOLE_LIMIT]:
                lines.append(
                    f"    GRADIENT FAILED {row.get('name')} [{row.get('dtype')}]: {str(row.get('detail', ''))[:160]}"
                )
            if len(failed) > CONSOLE_LIMIT:
                lines.append(f"    ... and {len(failed) - CONSOLE_LIMIT} more (see the report)")
        elif gradients["status"] == "ran":
            lines.append("  gradients: no rows")
    lines.append("")
    lines.append("OK" if report["ok"] else "FAILED: regressions, broken runs or gradient mismatches above")
    return "\n".join(lines)


# --------------------------------------------------------------------------- markdown


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_entries(title: str, entries: Sequence[Mapping[str, str]], open_: bool) -> list[str]:
    if not entries:
        return []
    lines = [
        f"<details{' open' if open_ else ''}><summary>{title} ({len(entries)})</summary>",
        "",
        "| test | raw | wrapped | message |",
        "|---|---|---|---|",
    ]
    for e in entries:
        lines.append(
            f"| `{_md_escape(e['nodeid'])}` | {e['raw']} | {e['wrapped']} | {_md_escape(e['message'])[:300]} |"
        )
    lines += ["", "</details>", ""]
    return lines


def format_markdown(report: Mapping[str, Any]) -> str:
    """Render the report as Markdown (summary tables, then the lists of tests)."""
    meta = report["meta"]
    official = report["official"]
    gradients = report["gradients"]
    out = ["# wrapgrad conformance report", ""]
    out.append(f"**Result: {'OK' if report['ok'] else 'FAILED'}**")
    out.append("")
    for key in ("date", "command", "max_examples", "api_versions", "backends"):
        if key in meta:
            out.append(f"- {key.replace('_', ' ')}: `{meta[key]}`")
    suite = meta.get("suite") or {}
    if suite:
        out.append(
            f"- array-api-tests: `{suite.get('path')}` at "
            f"`{suite.get('commits', {}).get('array-api-tests', '?')}` (spec submodule "
            f"`{suite.get('commits', {}).get('array-api', '?')}`)"
        )
    packages = meta.get("packages") or {}
    if packages:
        out.append("- packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()))
    out.append("")

    out += ["## Official suite (data-apis/array-api-tests)", ""]
    if official["status"] != "ran":
        out += [f"{official['status']}:", "", "```text", str(official["note"]), "```", ""]
    else:
        out += [
            "| backend | API | side | module | passed | failed | skipped | total | time | regressions |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in official["results"]:
            if r["skipped"] or r["error"]:
                why = f"skipped: {r['skipped']}" if r["skipped"] else f"ERROR: {r['error']}"
                out.append(f"| {r['backend']} | {r['api_version']} | | | | | | | | {_md_escape(why)} |")
                continue
            for side in ("raw", "wrapped"):
                run = r[side]
                if run is None:
                    continue
                c = run["counts"]
                regress = ""
                if side == "wrapped" and r["comparison"] is not None:
                    regress = str(r["comparison"]["counts"]["regressions"])
                if run["error"]:
                    regress = f"ERROR: {_md_escape(run['error'])}"
                out.append(
                    f"| {r['backend']} | {r['api_version']} | {side} | `{run['module']}` | "
                    f"{c['passed']} | {c['failed']} | {c['skipped']} | {c['total']} | "
                    f"{run['duration_s']:.0f} s | {regress} |"
                )
        out.append("")
        for r in official["results"]:
            title = f"### {r['backend']} @ {r['api_version']}"
            comparison = r["comparison"]
            if comparison is not None:
                out += [title, "", _comparison_line(comparison), ""]
                out += _md_entries("Regressions", comparison["regressions"], open_=True)
                out += _md_entries("Fail where raw skips", comparison["new_failures"], open_=True)
                out += _md_entries("Newly skipped", comparison["newly_skipped"], open_=False)
                out += _md_entries("Improvements", comparison["improvements"], open_=False)
                out += _md_entries("Fail on both (inherited from the backend)", comparison["both_failed"], open_=False)
            elif r["raw"] is not None and r["raw"]["failures"]:
                out += [title, ""]
                entries = [
                    {"nodeid": f["nodeid"], "raw": f["outcome"], "wrapped": "-", "message": f["message"]}
                    for f in r["raw"]["failures"]
                ]
                out += _md_entries("Raw failures", entries, open_=False)

    out += ["## Gradient matrix", ""]
    if gradients["status"] != "ran":
        out += [f"{gradients['status']}:", "", "```text", str(gradients["note"]), "```", ""]
    else:
        out += ["| backend | passed | failed | skipped |", "|---|---|---|---|"]
        for backend, c in gradients["summary"].items():
            out.append(f"| {backend} | {c['passed']} | {c['failed']} | {c['skipped']} |")
        out.append("")
        failed = [row for row in gradients["rows"] if row.get("status") not in ("passed", "skipped")]
        if failed:
            out += ["### Failed gradient rows", "", "| backend | name | dtype | detail |", "|---|---|---|---|"]
            for row in failed:
                out.append(
                    f"| {row.get('backend')} | `{row.get('name')}` | {row.get('dtype')} | "
                    f"{_md_escape(str(row.get('detail', '')))[:300]} |"
                )
            out.append("")
    return "\n".join(out) + "\n"


def write_reports(report: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.json`` into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / "report.md"
    json_path = out_dir / "report.json"
    md_path.write_text(format_markdown(report), encoding="utf-8")
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    return md_path, json_path
