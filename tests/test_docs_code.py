"""Every Python code block in README.md and docs/*.md runs, as written, as a test.

A page's blocks run in order in one namespace, in a fresh temporary folder, like a reader
pasting them into one session. What a reader would have on disk (a checkpoint folder, a clip,
an image) is made beforehand by a hidden setup comment on the page, visible to maintainers:

    <!-- test-setup
    from docs_fixtures import wav2vec2_classifier
    wav2vec2_classifier("path/to/model")
    -->

Setup comments run in the same namespace at the point where they appear. A block that cannot
run here (it needs a GPU, the hub, or several machines) carries ``<!-- no-test: reason -->`` on
the line before its fence; the reason is shown in the skip message, and such blocks stay rare.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
_SETUP = re.compile(r"<!--\s*test-setup\s*\n(.*?)-->", re.S)
_SKIP = re.compile(r"<!--\s*no-test:\s*(.*?)-->\s*$")


def page_steps(text: str) -> list[tuple[str, str, str | None]]:
    """(kind, code, skip reason) for each setup comment and python block, in page order."""
    found = []
    for match in _SETUP.finditer(text):
        found.append((match.start(), "setup", match.group(1), None))
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.search(before)
        found.append((match.start(), "block", match.group(1), skip.group(1).strip() if skip else None))
    return [(kind, code, skip) for _, kind, code, skip in sorted(found, key=lambda item: item[0])]


def _pages_with_code():
    return [page for page in PAGES if page.exists() and page_steps(page.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs(page: Path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    namespace: dict = {"__name__": "__docs__"}
    skipped = []
    for number, (kind, code, skip) in enumerate(page_steps(page.read_text(encoding="utf-8")), 1):
        if skip:
            skipped.append(skip)
            continue
        try:
            # dont_inherit: this file's `from __future__ import annotations` must not leak into page code.
            exec(compile(code, f"{page.name}[{kind} {number}]", "exec", dont_inherit=True), namespace)
        except Exception as exc:  # re-raised with the block's text, so the failure is easy to find
            raise AssertionError(f"{page.name}: {kind} {number} failed: {exc!r}\n--- code ---\n{code}") from exc
    if skipped and len(skipped) == sum(1 for k, _, _ in page_steps(page.read_text()) if k == "block"):
        pytest.skip(f"every block on the page is marked no-test: {skipped}")


def test_steps_are_found_in_page_order():
    text = ("<!-- test-setup\nx = 1\n-->\n```python\ny = x + 1\n```\n"
            "<!-- no-test: needs a GPU -->\n```python\nimport cuda_only\n```\n")
    assert page_steps(text) == [("setup", "x = 1\n", None), ("block", "y = x + 1\n", None),
                                ("block", "import cuda_only\n", "needs a GPU")]


if __name__ == "__main__":  # pragma: no cover - run one page by hand: python tests/test_docs_code.py docs/x.md
    sys.exit(pytest.main([__file__, "-k", os.path.basename(sys.argv[1]) if len(sys.argv) > 1 else ""]))
