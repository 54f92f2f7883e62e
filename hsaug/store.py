"""A results folder that makes experiments resumable: one JSON file per finished run.

A run is keyed by its full configuration (a JSON-able dict): the same configuration
always maps to the same file, so re-running an experiment skips what already finished.
Files are written atomically (temporary file, then rename), so an interrupted run
leaves either a complete result or nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["ResultStore", "run_key"]


def _jsonable(value: Any) -> Any:
    """Plain-JSON version of numpy/torch scalars and arrays, tuples and paths."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


jsonable = _jsonable  # the public name other modules import (one line: store.py is the house's)


def run_key(config: dict) -> str:
    """A short stable key for a configuration: sha1 of its canonical JSON (16 hex digits)."""
    text = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class ResultStore:
    """``<root>/<experiment>/<key>.json`` files, each ``{"config": ..., "result": ...}``."""

    def __init__(self, root: str | os.PathLike | None, experiment: str) -> None:
        self.root = None if root is None else Path(root)
        self.experiment = experiment
        if self.root is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def folder(self) -> Path:
        if self.root is None:
            raise ValueError("this store has no folder (results_dir=None keeps results in memory only)")
        return self.root / self.experiment

    def path(self, config: dict) -> Path:
        return self.folder / f"{run_key(config)}.json"

    def get(self, config: dict) -> dict | None:
        """The stored result of a configuration, or None when it has not finished."""
        if self.root is None:
            return None
        path = self.path(config)
        if not path.exists():
            return None
        return json.loads(path.read_text())["result"]

    def put(self, config: dict, result: dict) -> None:
        """Write one finished run atomically."""
        if self.root is None:
            return
        payload = json.dumps({"config": _jsonable(config), "result": _jsonable(result)}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(payload)
        os.replace(tmp, self.path(config))

    def all(self) -> list[dict]:
        """Every stored ``{"config", "result"}`` record of this experiment."""
        if self.root is None or not self.folder.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]
