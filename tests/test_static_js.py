"""Our own browser code stays in small files: no own JS file over 300 lines."""

from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent.parent / "static" / "js"
MODULES = sorted(p for p in JS.rglob("*.js") if "vendor" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(JS)))
def test_no_own_javascript_file_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= 300

