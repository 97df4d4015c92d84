"""The regression check of ``run.py``: W1-W6 against the last committed run in ``benchmarks/results/``.

Absolute times move with the machine and its load, so the check compares what a run measures in one
process: ratios. For W1, W2, W3 and W6, wrapgrad's fwd+bwd ÷ torch's (and, for W2, W3, W6, wrapgrad's
fwd+bwd ÷ its own fwd); for W5, wrapgrad ÷ torch for the retain_graph loop and the vjp rows; for W4,
wrapgrad ÷ torch for the forward and for the backward. A ratio more than 5 % above the baseline's is a FAIL.

The baseline is ``benchmarks/results/results.md`` as committed at ``HEAD`` (``git show``), the file the
benchmark wrote last time and someone committed; the JSON next to it is not committed. Both runs' tables
are read by the same parser (the current run's from the markdown it is about to write), so both sides
are rounded and defined alike.
"""

from __future__ import annotations

import os
import re
import subprocess

THRESHOLD = 0.05

_TIME_UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def _time(cell):
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ns|µs|us|ms|s)\s*", cell)
    return float(m.group(1)) * _TIME_UNITS[m.group(2)] if m else None


def _ratio(cell):
    m = re.match(r"\s*([0-9.]+)×", cell)  # noqa: RUF001
    return float(m.group(1)) if m else None


def metrics_from_markdown(md):
    """``{metric name: value}`` from a ``results.md``; lower is better for every metric."""
    out = {}
    section = dtype = None
    header = None
    rows = {}

    def flush():
        if section is None or not rows:
            return
        wg, to = rows.get("wrapgrad (numpy)"), rows.get("torch eager")
        if section == "W4":
            for k in ("fwd", "bwd"):
                a, b = (None if r is None else _time(r.get(k, "")) for r in (wg, to))
                if a and b:
                    out[f"W4 {k}: wrapgrad ÷ torch"] = a / b
            return
        tag = f"{section} {dtype}"
        if section == "W5" and to is not None:
            cell = to.get("wrapgrad ÷ lib (loop / vjp)", "")
            parts = [_ratio(p) for p in cell.split("/")]
            for mode, v in zip(("loop", "vjp"), parts):
                if v:
                    out[f"{tag} jacobian {mode}: wrapgrad ÷ torch"] = v
            return
        if to is not None and _ratio(to.get("wrapgrad ÷ lib", "")):
            out[f"{tag}: wrapgrad fwd+bwd ÷ torch"] = _ratio(to["wrapgrad ÷ lib"])
        if section in ("W2", "W3", "W6") and wg is not None and _ratio(wg.get("fwd+bwd ÷ fwd", "")):
            out[f"{tag}: wrapgrad fwd+bwd ÷ own fwd"] = _ratio(wg["fwd+bwd ÷ fwd"])

    for line in md.splitlines():
        h = re.match(r"## (W[1-6])\b", line)
        if line.startswith("## "):
            flush()
            rows, header, dtype = {}, None, None
            section = h.group(1) if h else None
            continue
        d = re.fullmatch(r"\*\*(float\d+)\*\*", line.strip())
        if d:
            flush()
            rows, header, dtype = {}, None, d.group(1)
            continue
        if section and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] == "library":
                header = cells
            elif header and not set(cells[0]) <= {"-"}:
                rows[cells[0]] = dict(zip(header, cells))
    flush()
    return out


def committed_baseline(repo_root, path="benchmarks/results/results.md"):
    """The committed results.md at HEAD (or None, with the reason)."""
    try:
        p = subprocess.run(["git", "-C", repo_root, "show", f"HEAD:{path}"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"git show failed: {e}"
    if p.returncode != 0:
        on_disk = os.path.join(repo_root, path)
        if os.path.exists(on_disk):
            with open(on_disk) as f:
                return f.read(), f"{path} on disk (not committed)"
        return None, (p.stderr.strip() or "no committed results.md")
    return p.stdout, f"{path} at HEAD"


def baseline_header(md):
    m = re.search(r"- date: (\S+)\s+profile: `(\w+)`", md)
    return f"{m.group(1)} ({m.group(2)} profile)" if m else "unknown date"


def compare(current, baseline, threshold=THRESHOLD):
    """Rows ``{metric, current, baseline, change, status}`` for the metrics both runs have."""
    rows = []
    for k in sorted(set(current) | set(baseline)):
        c, b = current.get(k), baseline.get(k)
        if c is None or b is None:
            rows.append({"metric": k, "current": c, "baseline": b, "change": None,
                         "status": "n/a (" + ("not in this run" if c is None else "no baseline") + ")"})
            continue
        change = c / b - 1.0
        rows.append({"metric": k, "current": c, "baseline": b, "change": change,
                     "status": "**FAIL**" if change > threshold else "**PASS**"})
    return rows


def markdown(rows, source, header, load):
    L = [f"## Regression check against the last committed run ({header}, {source})\n",
         f"_A ratio more than {THRESHOLD:.0%} above the baseline's is a FAIL. Both runs' ratios come from their own "
         f"rounds; a loaded machine moves them (load average during this run: {load})._\n",
         "| metric | this run | baseline | change | status |", "|---|---|---|---|---|"]
    for r in rows:
        c = "—" if r["current"] is None else f"{r['current']:.3f}"
        b = "—" if r["baseline"] is None else f"{r['baseline']:.3f}"
        ch = "—" if r["change"] is None else f"{r['change']:+.1%}"
        L.append(f"| {r['metric']} | {c} | {b} | {ch} | {r['status']} |")
    L.append("")
    return L
