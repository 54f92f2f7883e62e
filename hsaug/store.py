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
import warnings
from pathlib import Path
from typing import Any

__all__ = ["ResultStore", "run_key", "jsonable", "CorruptRunWarning"]


def jsonable(value: Any) -> Any:
    """Plain-JSON version of numpy/torch scalars and arrays, tuples and paths."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def run_key(config: dict) -> str:
    """A short stable key for a configuration: sha1 of its canonical JSON (16 hex digits)."""
    text = json.dumps(jsonable(config), sort_keys=True, separators=(",", ":"))
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

    def get(self, config: dict, required: tuple[str, ...] = ()) -> dict | None:
        """The stored result of a configuration, or None when it has not finished.

        A file that cannot be read back (truncated, emptied, not this store's format, or a
        result without the ``required`` keys) is named in a warning and treated as missing,
        so the caller trains that run again and overwrites it."""
        if self.root is None:
            return None
        path = self.path(config)
        if not path.exists():
            return None
        return _read_result(path, required)

    def put(self, config: dict, result: dict) -> None:
        """Write one finished run atomically."""
        if self.root is None:
            return
        payload = json.dumps({"config": jsonable(config), "result": jsonable(result)}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(payload)
        os.replace(tmp, self.path(config))

    def all(self) -> list[dict]:
        """Every stored ``{"config", "result"}`` record of this experiment."""
        if self.root is None or not self.folder.exists():
            return []
        out = []
        for path in sorted(self.folder.glob("*.json")):
            if _read_result(path) is not None:
                out.append(json.loads(path.read_text()))
        return out


class CorruptRunWarning(UserWarning):
    """A stored run could not be read back; it is trained again."""


def _read_result(path: Path, required: tuple[str, ...] = ()) -> dict | None:
    """``{"result"}`` of a stored file, or None (with a :class:`CorruptRunWarning` naming the
    file) when it is unreadable or lacks a ``required`` key."""
    try:
        record = json.loads(path.read_text())
        result = record["result"]
        missing = [k for k in required if not isinstance(result, dict) or k not in result]
        if missing:
            raise KeyError(f"no {missing[0]!r} in its result")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        reason = "empty file" if path.exists() and path.stat().st_size == 0 else f"{type(err).__name__}: {err}"
        warnings.warn(f"stored run {path} is unreadable ({reason}); it is treated as missing and will be "
                      "trained again", CorruptRunWarning, stacklevel=3)
        return None
    return result
