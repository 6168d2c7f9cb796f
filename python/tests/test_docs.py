"""docs/python.md's example runs as written (from the repository root)."""

import re

from conftest import ROOT


def test_docs_python_example_runs(capsys):
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/python.md has no python block"
    for code in blocks:
        exec(compile(code, "docs/python.md", "exec"), {"__name__": "__docs__"})
    printed = capsys.readouterr().out
    assert "bp of UPB" in printed and "rep lines" in printed
