"""pyproject.toml, environment.yml and binder/environment.yml must name the same packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pip_requirements(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    reqs = [r for r in pip if not r.startswith("-")]
    return {_name(r): r.replace(" ", "") for r in reqs}


def test_environments_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    test = {_name(r): r.replace(" ", "") for r in project["optional-dependencies"]["test"]}
    assert _pip_requirements(ROOT / "binder" / "environment.yml") == runtime
    assert _pip_requirements(ROOT / "environment.yml") == {**runtime, **test}


def test_torch_is_pinned_to_the_cpu_build_everywhere():
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        text = path.read_text()
        assert "torch==2.13.0" in text
        assert "download.pytorch.org/whl/cpu" in text, f"{path} must pull the CPU build of torch"
