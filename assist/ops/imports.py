"""`assist data import FILE`: labelled messages from ops (CSV or JSON lines) checked row by
row, then kept as a versioned, fingerprinted set under <data_dir>/imported/ for retraining.
A file with any bad row imports nothing."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assist.classify.models import SENTIMENTS
from assist.errors import InvalidInput
from assist.normalize import normalize_text
from assist.privacy import mask_pii
from assist.types import INTENTS

COLUMNS = ("text", "intent", "sentiment", "escalate", "history")
REQUIRED = ("text", "intent")
TRUE, FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n", ""}
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Imported:
    name: str
    file: Path
    sha256: str
    rows: int
    new: bool  # False: the same rows were imported before


class ImportErrors(InvalidInput):
    code = "import_invalid"

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} bad row(s); nothing was imported", errors)


def _records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, raw record) for each row of a .csv (header row) or .jsonl file."""
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        return [(reader.line_num, dict(r)) for r in reader]
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                rec = {"__error__": f"invalid JSON: {e.msg}"}
            out.append((n, rec if isinstance(rec, dict) else {"__error__": "expected an object"}))
    return out


def _row(rec: dict[str, Any], max_chars: int) -> tuple[dict[str, Any] | None, str | None]:
    """(the row as stored, or None, with the problem)."""
    if "__error__" in rec:
        return None, rec["__error__"]
    unknown = sorted(set(rec) - set(COLUMNS))
    if unknown:
        return None, f"unknown column(s) {', '.join(map(str, unknown))} (valid: {', '.join(COLUMNS)})"
    missing = [c for c in REQUIRED if not str(rec.get(c) or "").strip()]
    if missing:
        return None, f"missing {', '.join(missing)}"
    text, intent = str(rec["text"]), str(rec["intent"]).strip()
    if len(normalize_text(text)) > max_chars:
        return None, f"text over {max_chars} characters once normalized"
    if intent not in INTENTS:
        return None, f"unknown intent '{intent}' (valid: {', '.join(INTENTS)})"
    sentiment = str(rec.get("sentiment") or "").strip() or None
    if sentiment is not None and sentiment not in SENTIMENTS:
        return None, f"unknown sentiment '{sentiment}' (valid: {', '.join(SENTIMENTS)})"
    esc = rec.get("escalate")
    escalate = esc if isinstance(esc, bool) else None if esc is None else str(esc).strip().lower()
    if isinstance(escalate, str):
        if escalate not in TRUE | FALSE:
            return None, f"escalate must be true or false, got '{esc}'"
        escalate = None if escalate == "" else escalate in TRUE
    history = rec.get("history") or []
    if isinstance(history, str):  # CSV: a JSON list of the customer's earlier messages
        try:
            history = json.loads(history)
        except json.JSONDecodeError:
            return None, "history must be a JSON list of strings"
    if not isinstance(history, list) or not all(isinstance(h, str) and h.strip() for h in history):
        return None, "history must be a list of non-empty strings"
    # Stored masked, like everything else the service keeps.
    return {"text": mask_pii(text), "intent": intent, "sentiment": sentiment, "escalate": escalate,
            "history": [mask_pii(h) for h in history]}, None


def import_file(path: Path, data_dir: Path, *, name: str | None = None, max_chars: int = 2000) -> Imported:
    """Check every row (ImportErrors lists each as `file:line: message`), then write the set
    once: <data_dir>/imported/<name>-<sha12>.jsonl, recorded in the folder's manifest."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportErrors([f"{path}:-: not UTF-8 text (byte {e.start}): save it as UTF-8"]) from e
    except OSError as e:
        raise ImportErrors([f"{path}:-: cannot read: {e.strerror}"]) from e
    if path.suffix.lower() not in {".csv", ".jsonl"}:
        raise ImportErrors([f"{path}:-: expected a .csv or .jsonl file"])
    rows, errors = [], []
    for line, rec in _records(path, text):
        row, problem = _row(rec, max_chars)
        if problem:
            errors.append(f"{path}:{line}: {problem}")
        else:
            rows.append(row)
    if not rows and not errors:
        errors.append(f"{path}:-: no rows")
    if errors:
        raise ImportErrors(errors)
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    sha = hashlib.sha256(body.encode()).hexdigest()
    folder = data_dir / "imported"
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {"sets": []}
    stem = name or path.stem
    for s in manifest["sets"]:
        if s["sha256"] == sha:
            return Imported(s["name"], folder / s["file"], sha, s["rows"], new=False)
    target = folder / f"{stem}-{sha[:12]}.jsonl"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(target)  # a reader sees the whole set or none of it
    manifest["sets"].append({"name": stem, "file": target.name, "sha256": sha, "rows": len(rows), "source": str(path),
                             "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(manifest_path)
    return Imported(stem, target, sha, len(rows), new=True)
