"""The README's code tour runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs():
    text = README.read_text()
    block = re.search(r"## A tour in code\n\n```python\n(.*?)```", text, re.S)
    assert block, "README has no code tour"
    exec(compile(block.group(1), "README.md", "exec"), {})


def test_readme_gives_exactly_two_setup_commands():
    setup = re.search(r"## Set up \(two commands\)\n(.*?)\n## ", README.read_text(), re.S).group(1)
    commands = [line for line in re.search(r"```bash\n(.*?)```", setup, re.S).group(1).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "hsaug reproduce" in commands[0]
    assert commands[1] == ".venv/bin/python -m pytest -q"
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci and 'pip install -q -e ".[test]"' in ci
