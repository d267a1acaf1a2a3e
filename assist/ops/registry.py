"""Model versions: each trained model is a folder models/<name>/<version>/ (manifest, card,
files), and models/<name>/current.json names the version in service and the ones it replaced,
so a promotion is one atomic file write and a rollback goes back one step.

A retrained challenger that the promotion gate refused stays beside the others with a
gate.json saying why; `assist models list` shows every version and its state."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assist.artifacts import MANIFEST, read_manifest
from assist.errors import ArtifactError, NotFound

POINTER = "current.json"
GATE = "gate.json"
VERSIONED = ("intent", "sentiment", "escalation", "ranker")


class UnknownVersion(NotFound):
    code = "unknown_version"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    created_at: str
    state: str                  # in_service | previous | candidate | rejected
    gate: dict[str, Any] | None  # the promotion gate's decision, for retrained versions


def resolve(folder: Path) -> Path:
    """The folder to load: the version current.json names, or `folder` itself when it is a
    model folder (an absolute path given in settings, a test's copy)."""
    pointer = folder / POINTER
    if not pointer.exists():
        return folder
    return folder / _read_pointer(folder)["version"]


def in_service(root: Path) -> str | None:
    return _read_pointer(root)["version"] if (root / POINTER).exists() else None


def versions(root: Path) -> list[ModelVersion]:
    """Every version folder under root, newest first."""
    pointer = _read_pointer(root) if (root / POINTER).exists() else {"version": None, "previous": []}
    out = []
    for folder in root.iterdir() if root.is_dir() else []:
        if not (folder / MANIFEST).is_file():
            continue
        manifest = read_manifest(folder, verify=False)
        gate = json.loads((folder / GATE).read_text(encoding="utf-8")) if (folder / GATE).exists() else None
        if folder.name == pointer["version"]:
            state = "in_service"
        elif folder.name in pointer["previous"]:
            state = "previous"
        elif gate is not None and not gate.get("promote", False):
            state = "rejected"
        else:
            state = "candidate"
        out.append(ModelVersion(name=root.name, version=folder.name, created_at=manifest.get("created_at", ""),
                                state=state, gate=gate))
    return sorted(out, key=lambda v: v.created_at, reverse=True)


def promote(root: Path, version: str) -> str | None:
    """Put `version` in service; returns the version it replaced. The folder must hold a
    readable model (its manifest is checked); a reload makes the service load it."""
    check_version(root, version)
    pointer = _read_pointer(root) if (root / POINTER).exists() else {"version": None, "previous": [], "history": []}
    old = pointer["version"]
    if old == version:
        return old
    previous = [v for v in pointer["previous"] if v != version]
    if old:
        previous.append(old)
    _write_pointer(root, {"version": version, "previous": previous,
                          "history": [*pointer.get("history", []), _event("promote", version, old)]})
    return old


def check_version(root: Path, version: str) -> None:
    """UnknownVersion unless root/version is a whole model (its manifest and file hashes)."""
    folder = root / version
    if version in {"", ".", ".."} or "/" in version or "\\" in version or not (folder / MANIFEST).is_file():
        known = ", ".join(v.version for v in versions(root)) or "none"
        raise UnknownVersion(f"{root.name} has no version '{version}' (known: {known})")
    try:
        read_manifest(folder)
    except ArtifactError as e:
        raise UnknownVersion(f"{root.name} {version} cannot be used: {e}") from e


def rollback(root: Path) -> tuple[str, str]:
    """Back to the version in service before the current one: (from, to)."""
    if not (root / POINTER).exists():
        raise UnknownVersion(f"{root.name} has no version history to roll back")
    pointer = _read_pointer(root)
    previous = list(pointer["previous"])
    while previous and not (root / previous[-1] / MANIFEST).is_file():
        previous.pop()  # a version folder deleted by hand cannot be gone back to
    if not previous:
        raise UnknownVersion(f"{root.name} {pointer['version']} is the first version in service: nothing to roll back to")
    to = previous.pop()
    _write_pointer(root, {"version": to, "previous": previous,
                          "history": [*pointer.get("history", []), _event("rollback", to, pointer["version"])]})
    return pointer["version"], to


def retraining_runs(model_root: Callable[[str], Path], start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Each retrained version (one the gate judged) made from start (inclusive) to end
    (exclusive), newest first: the model, the version, its state and the gate's decision.
    model_root: a model's folder by name (Settings.model_root)."""
    runs = []
    for name in VERSIONED:
        for v in versions(model_root(name)):
            made = dt.datetime.fromisoformat(v.created_at) if v.created_at else None
            if v.gate is not None and made is not None and start <= made < end:
                runs.append({"model": name, "version": v.version, "created_at": v.created_at, "state": v.state,
                             "gate": v.gate})
    return sorted(runs, key=lambda r: r["created_at"], reverse=True)


def write_gate(folder: Path, decision: dict[str, Any]) -> None:
    (folder / GATE).write_text(json.dumps(decision, ensure_ascii=False, indent=2), encoding="utf-8")


def _event(action: str, version: str, old: str | None) -> dict[str, Any]:
    return {"action": action, "version": version, "from": old,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def _read_pointer(root: Path) -> dict[str, Any]:
    try:
        pointer = json.loads((root / POINTER).read_text(encoding="utf-8"))
        pointer["previous"] = list(pointer.get("previous", []))
        str(pointer["version"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ArtifactError(f"{root / POINTER}: unreadable version pointer ({e}); "
                            f"run `assist models promote VERSION` to rewrite it") from e
    return pointer  # type: ignore[no-any-return]


def _write_pointer(root: Path, pointer: dict[str, Any]) -> None:
    tmp = root / f".{POINTER}.tmp"
    tmp.write_text(json.dumps(pointer, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, root / POINTER)  # a reader sees the old pointer or the new, never half


@dataclass(frozen=True)
class Destination:
    """Where a trainer writes its model: a new version under a model's folder (the default),
    or one plain folder (`assist train --out DIR`)."""
    folder: Path
    versioned: bool = True

    def path(self, version: str) -> Path:
        return self.folder / version if self.versioned else self.folder
