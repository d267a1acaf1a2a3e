"""Artifacts are folders with a manifest.json (versions, file hashes); written atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from assist import __version__
from assist.errors import ArtifactError, ChecksumMismatch, Incompatible

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions(*names: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` whole, so a
    reader never sees half an artifact and a failed build leaves the old one untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_manifest(folder: Path, *, name: str, suffixes: frozenset[str] | None = None, **fields: Any) -> dict[str, Any]:
    """Stamp every file in `folder` (or those with one of `suffixes`) with its sha256, plus
    who made it and with what."""
    files = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST and (suffixes is None or p.suffix in suffixes)
    }
    manifest = {
        "name": name,
        "format_version": FORMAT_VERSION,
        "assist_version": __version__,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **fields,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def read_manifest(folder: Path, *, verify: bool = True) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise ArtifactError(f"{folder}: no {MANIFEST}")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise Incompatible(f"{folder}: format_version {manifest.get('format_version')} != {FORMAT_VERSION}")
    if verify:
        for rel, digest in manifest.get("files", {}).items():
            f = Path(folder) / rel
            if not f.exists() or sha256_file(f) != digest:
                raise ChecksumMismatch(f"{folder}: {rel} is missing or does not match its manifest hash")
    return manifest
