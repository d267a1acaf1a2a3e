"""Draft FAQ entries awaiting review (knowledge/drafts/<id>.yaml, written by `assist mine`):
checked by `assist kb validate`, approved into faq/ with an answer a person wrote, or
dismissed (kept, so the same question is not drafted again). The service never reads drafts.

Approval edits the FAQ file with ruamel.yaml's round trip, so the authors' comments and layout
stay as they were; the whole knowledge base is checked with the change, and a change that
would break it is not written."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from assist.errors import InvalidInput, NotFound
from assist.knowledge import ID_RE, MIN_PARAPHRASES, KnowledgeBase, _fmt_pydantic, _Strict, load_knowledge
from assist.normalize import normalize_text
from assist.types import INTENT_PHASES, INTENTS

FOLDER = "drafts"


class Draft(_Strict):
    id: str = Field(pattern=r"^draft-[a-z0-9-]+$")
    status: Literal["draft", "dismissed"]
    intent: str
    question: str = Field(min_length=2)
    paraphrases: list[str] = Field(default_factory=list)
    answer: str = ""             # written by a person; required to approve a new entry
    merge_into: str | None = None  # an existing entry this question duplicates
    mined: dict[str, Any] = Field(default_factory=dict)


class DraftError(InvalidInput):
    code = "draft_invalid"


def load_drafts(root: Path, kb: KnowledgeBase | None = None) -> tuple[list[tuple[Path, Draft]], list[str]]:
    """Every draft under root/drafts/, with each problem as `drafts/<file>:<id>: message`
    (checked against the knowledge base: intent, merge_into)."""
    folder = root / FOLDER
    out: list[tuple[Path, Draft]] = []
    errors: list[str] = []
    if kb is None:
        kb, _ = load_knowledge(root)
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        rel = f"{FOLDER}/{path.name}"
        try:
            raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("draft")
            d = Draft.model_validate(raw)
        except (yaml.YAMLError, UnicodeDecodeError, AttributeError) as e:
            errors.append(f"{rel}:-: cannot read: {e}".replace("\n", " "))
            continue
        except ValidationError as e:
            errors.extend(f"{rel}:{(raw or {}).get('id', '?')}: {m}" for m in _fmt_pydantic(e))
            continue
        if path.stem != d.id:
            errors.append(f"{rel}:{d.id}: the file must be named {d.id}.yaml")
        if d.intent not in INTENTS:
            errors.append(f"{rel}:{d.id}: unknown intent '{d.intent}'")
        if d.merge_into and kb is not None and d.merge_into not in kb.faqs:
            errors.append(f"{rel}:{d.id}: merge_into '{d.merge_into}' is not an FAQ entry")
        out.append((path, d))
    return out, errors


def find(root: Path, draft_id: str, kb: KnowledgeBase | None = None) -> tuple[Path, Draft]:
    drafts, errors = load_drafts(root, kb)
    for path, d in drafts:
        if d.id == draft_id:
            problems = [e for e in errors if f":{draft_id}:" in e]
            if problems:
                raise DraftError("; ".join(problems))
            return path, d
    raise NotFound(f"no draft '{draft_id}' in {root / FOLDER} (`assist mine` writes them)")


def approve(root: Path, draft_id: str, *, answer: str | None = None, entry_id: str | None = None) -> str:
    """Move a draft into faq/: as a new entry (answer required), or, when it has merge_into,
    as new phrasings of that entry. Returns what was done."""
    kb, errors = load_knowledge(root)
    if kb is None:
        raise DraftError(f"the knowledge base has {len(errors)} error(s); fix them first (`assist kb validate`)")
    path, d = find(root, draft_id, kb)
    if d.status != "draft":
        raise DraftError(f"{draft_id} was {d.status}")
    phrasings = [d.question, *d.paraphrases]
    if d.merge_into:
        entry = kb.faqs[d.merge_into]
        have = {normalize_text(t) for t in (entry.question, *entry.paraphrases)}
        new = [t for t in phrasings if normalize_text(t) not in have]
        _edit(root, root / kb.sources[d.merge_into], lambda faqs: _add_paraphrases(faqs, d.merge_into or "", new))
        path.unlink()
        return f"added {len(new)} phrasing(s) to {d.merge_into} in {kb.sources[d.merge_into]}"
    text = (answer if answer is not None else d.answer).strip()
    if len(text) < 4:
        raise DraftError(f"{draft_id} has no answer: write it in the draft's answer field or pass --answer")
    if len(phrasings) < MIN_PARAPHRASES + 1:
        raise DraftError(f"{draft_id} has {len(phrasings)} phrasing(s); an FAQ entry needs {MIN_PARAPHRASES + 1}: "
                         "add some to its paraphrases")
    new_id = entry_id or f"faq-mined-{d.id.removeprefix('draft-')}"
    if not re.fullmatch(ID_RE, new_id):
        raise DraftError(f"'{new_id}' is not a valid id (lowercase letters, digits and '-')")
    if new_id in kb.sources:
        raise DraftError(f"id '{new_id}' is taken (in {kb.sources[new_id]}): choose another with --id")
    target = root / "faq" / f"{INTENT_PHASES[d.intent]}.yaml"
    entry = {"id": new_id, "intent": d.intent, "question": d.question, "paraphrases": d.paraphrases,
             "answer": text, "rule_ids": [], "updated_at": dt.date.today()}
    _edit(root, target, lambda faqs: faqs.append(entry))
    path.unlink()
    return f"approved {draft_id} as {new_id} in faq/{target.name}"


def dismiss(root: Path, draft_id: str) -> None:
    """Keep the draft as dismissed: `assist mine` does not draft its phrasings again."""
    path, _ = find(root, draft_id)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["draft"]["status"] = "dismissed"
    _replace(path, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100))


def _add_paraphrases(faqs: list[Any], entry_id: str, new: list[str]) -> None:
    for f in faqs:
        if f.get("id") == entry_id:
            f["paraphrases"].extend(new)
            return
    raise DraftError(f"{entry_id} not found")


def _edit(root: Path, target: Path, change: Any) -> None:
    """Apply change to the file's `faqs` list, keeping its comments; written only when the
    knowledge base still loads without an error, else the file is put back."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    old = target.read_text(encoding="utf-8") if target.exists() else None
    doc = rt.load(old) if old else {"version": 1, "faqs": []}
    change(doc["faqs"])
    buf = io.StringIO()
    rt.dump(doc, buf)
    _replace(target, buf.getvalue())
    broken = load_knowledge(root)[1]  # approve() only edits a knowledge base without errors
    if broken:
        if old is None:
            target.unlink()
        else:
            _replace(target, old)
        raise DraftError("the change would break the knowledge base: " + "; ".join(broken))


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


