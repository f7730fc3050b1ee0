"""The README's Python quick start runs as written."""

import re

from conftest import ROOT, run_python


def test_readme_quick_start_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python block"
    run_python(blocks[0], cwd=tmp_path)
    assert (tmp_path / "fer.keras").is_file()
