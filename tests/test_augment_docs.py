"""docs/augmentations.md: its worked example runs as written and prints what it says."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "augmentations.md"


def test_worked_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "GainOffset(gain=(0.8, 1.25), offset=(-0.02, 0.02))"
    assert out[1].startswith("gain_offset: parameter gain must lie in [0.5, 2]; got 3")
    assert out[2] == "(8, 50)"
