"""Every ```python block of README.md and docs/*.md runs, each on its own, top to bottom, in a fresh namespace.

So a snippet can never rot. A block whose first line is ``# requires: mod1, mod2`` is skipped when one of those
modules cannot be imported; fragments that are not meant to run go in ```text blocks.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
import types
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_REQUIRES = re.compile(r"^#\s*requires:\s*(.+?)\s*$")


class Block(NamedTuple):
    page: Path
    line: int  # 1-based line of the block's first code line
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    """The ```python blocks of a Markdown page (indented fences too, as in lists), dedented."""
    blocks, lines = [], page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, lang = match.groups()
        j = i + 1
        while j < len(lines) and not (lines[j].strip() == "```" and lines[j].startswith(indent)):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{i + 1}: a ``` fence that is never closed")
        if lang == "python":
            body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:j]]
            blocks.append(Block(page, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


BLOCKS = [b for page in PAGES if page.exists() for b in python_blocks(page)]


def missing_modules(code: str) -> list[str]:
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    match = _REQUIRES.match(first)
    if not match:
        return []
    names = [n.strip() for n in match.group(1).split(",") if n.strip()]
    return [n for n in names if importlib.util.find_spec(n) is None]


def test_the_pages_have_blocks() -> None:
    assert (ROOT / "README.md").exists() and BLOCKS, "no ```python block found: the extraction is broken"
    assert len({b.page for b in BLOCKS}) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = missing_modules(block.code)
    if missing:
        pytest.skip(f"{block.where} requires {', '.join(missing)}")
    # A fresh namespace per block, run in this process (an interpreter per block would cost an import of jax
    # each); files a block writes go to a temporary directory, and plots to a non-interactive backend.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    name = str(block.page.relative_to(ROOT))
    # Blank lines up to the block's own line, so a traceback's line numbers are the page's.
    code = compile("\n" * (block.line - 1) + block.code, name, "exec")
    # A real module, so that what needs one (dataclasses, pickling a class the block defines) finds it.
    module = types.ModuleType("__docs_block__")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    try:
        exec(code, module.__dict__)
    except BaseException as error:  # any failure, SystemExit included, is the block's
        frames = traceback.format_exception(error)
        page_frames = "".join(f for f in frames if name in f or not f.startswith("  File"))
        pytest.fail(f"the python block at {block.where} fails:\n{page_frames[-4000:]}", pytrace=False)
