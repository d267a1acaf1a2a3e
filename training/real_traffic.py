"""Our real-traffic evaluation set: customer turns of real JD / Taobao chats, labelled by us.

The chats (../shared/datasets/jddc2019_sample, ecd_taobao_sample) carry no licence, so the
repository holds only our labels and a reference to each turn; the text and its history are
read from the shared folder at evaluation time and checked against a digest of the text
that was labelled. Evaluation only: nothing here is ever trained on.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from training.data import DATA, DATASETS

EVAL = DATA / "eval"
FILES = (EVAL / "real_traffic_jddc_chat.jsonl", EVAL / "real_traffic_dev_ecd.jsonl")
# A second labelled set, from JDDC chat sessions disjoint from FILES: what error analysis and
# model choices look at, so that FILES stays a test set nobody tuned on.
DEV_FILES = (EVAL / "real_traffic_devset_jddc_chat.jsonl", EVAL / "real_traffic_devset2_jddc_chat.jsonl")


@dataclass(frozen=True)
class RealTurn:
    id: str
    source: str                 # jddc_chat | jddc_dev | ecd_test
    text: str
    history: tuple[str, ...]    # the customer's earlier turns, oldest first (as the API takes them)
    context: str | None         # the message just before the turn, of either side
    intent: str
    sentiment: str
    escalate: bool
    ambiguous: bool
    alt_intent: str | None
    needs_history: bool


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1)
def _jddc_sessions() -> dict[str, list[tuple[int, str, str]]]:
    path = DATASETS / "jddc2019_sample" / "chat_sample_utterances.csv"
    sessions: dict[str, list[tuple[int, str, str]]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            sessions.setdefault(r["session_id"], []).append((int(r["turn"]), r["role"], r["text"]))
    return {k: sorted(v) for k, v in sessions.items()}


def _customer_turns(messages: list[tuple[int, str, str]]) -> list[tuple[int, int, str]]:
    """Consecutive customer messages merged into turns, as they were labelled: (first and
    last message number, text)."""
    turns: list[tuple[int, int, str]] = []
    prev = None
    for num, role, text in messages:
        if role == "customer" and prev == "customer":
            a, _, joined = turns[-1]
            turns[-1] = (a, num, joined + " " + text)
        elif role == "customer":
            turns.append((num, num, text))
        prev = role
    return turns


def _resolve_jddc_chat(rec: dict) -> tuple[str, tuple[str, ...], str | None]:  # type: ignore[type-arg]
    msgs = _jddc_sessions()[rec["session_id"]]
    a, b = rec["turns"]
    text = " ".join(t for n, role, t in msgs if a <= n <= b)
    before = [m for m in msgs if m[0] < a]
    return text, tuple(t for _, _, t in _customer_turns(before)), before[-1][2] if before else None


@lru_cache(maxsize=1)
def _jddc_dev() -> dict[str, dict]:  # type: ignore[type-arg]
    path = DATASETS / "jddc2019_sample" / "dev_sessions.jsonl"
    return {d["session_id"]: d for d in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def _agent_text(turn: dict) -> str:  # type: ignore[type-arg]
    return " ".join(turn["references"][0])  # the first of the three agents' replies


def _resolve_jddc_dev(ref: str) -> tuple[str, tuple[str, ...], str | None]:
    sid, q = ref.rsplit("#", 1)
    s = _jddc_dev()[sid]
    history = [t["text"] for t in s["context"] if t["role"] == "customer"]
    previous = (_agent_text(s["context"][-1]) if s["context"][-1]["role"] == "agent" else s["context"][-1]["text"]
                ) if s["context"] else None
    for item in s["qa"]:
        if str(item["q_index"]) == q:
            return " ".join(item["question"]), tuple(history), previous
        history.append(" ".join(item["question"]))
        previous = _agent_text(item)
    raise KeyError(ref)


@lru_cache(maxsize=1)
def _ecd() -> dict[str, list[str]]:
    path = DATASETS / "ecd_taobao_sample" / "test.jsonl"
    return {d["id"]: d["context"] for d in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def _resolve_ecd(ref: str) -> tuple[str, tuple[str, ...], str | None]:
    cid, i = ref.rsplit("#", 1)
    ctx = _ecd()[cid]
    n = int(i)
    # Customer utterances are the even ones; the one before is the agent's.
    return ctx[n], tuple(ctx[k] for k in range(0, n, 2)), ctx[n - 1] if n else None


def resolve(rec: dict) -> tuple[str, tuple[str, ...], str | None]:  # type: ignore[type-arg]
    """(text, the customer's earlier turns, the message just before)."""
    if rec["source"] == "jddc_chat":
        return _resolve_jddc_chat(rec)
    if rec["source"] == "jddc_dev":
        return _resolve_jddc_dev(rec["ref"])
    if rec["source"] == "ecd_test":
        return _resolve_ecd(rec["ref"])
    raise ValueError(f"unknown source {rec['source']!r}")


def load(files: tuple[Path, ...] = FILES) -> list[RealTurn]:
    """Every labelled turn with its text and history; raises if the shared data is missing
    or a text no longer matches what was labelled."""
    if not (DATASETS / "jddc2019_sample").is_dir():
        raise FileNotFoundError(f"{DATASETS} not found (set ASSIST_SHARED_DIR to the shared folder)")
    out = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            text, history, context = resolve(rec)
            if text_digest(text) != rec["text_sha256"]:
                raise ValueError(f"{path.name}:{n}: the source text of {rec['id']} changed since it was labelled")
            out.append(RealTurn(id=rec["id"], source=rec["source"], text=text, history=history, context=context,
                                intent=rec["intent"], sentiment=rec["sentiment"], escalate=bool(rec["escalate"]),
                                ambiguous=bool(rec["ambiguous"]), alt_intent=rec.get("alt_intent"),
                                needs_history=bool(rec.get("needs_history"))))
    return out


def unlabelled_sessions(n: int, seed: int = 0) -> list[dict]:  # type: ignore[type-arg]
    """n JDDC chat sessions that no labelled file uses, each as its customer turns to label
    (turn range, text, digest) with the agent's messages between them, for the labelling guide."""
    import random

    used = set()
    for path in FILES + DEV_FILES:
        if path.exists():
            recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            used |= {r["session_id"] for r in recs if r["source"] == "jddc_chat"}
    pool = sorted(set(_jddc_sessions()) - used)
    random.Random(seed).shuffle(pool)
    out = []
    for sid in pool[:n]:
        msgs = _jddc_sessions()[sid]
        turns = [{"turns": [a, b], "text": text, "text_sha256": text_digest(text)}
                 for a, b, text in _customer_turns(msgs)]
        out.append({"session_id": sid, "messages": [{"turn": num, "role": role, "text": text} for num, role, text in msgs],
                    "customer_turns": turns})
    return out


if __name__ == "__main__":  # python -m training.real_traffic N SEED > sessions.jsonl (for labelling)
    import sys

    for session in unlabelled_sessions(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0):
        print(json.dumps(session, ensure_ascii=False))
