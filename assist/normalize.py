"""Text normalization and tokenization: the one place that decides what a message 'says'.

normalize_text() is pure and knowledge-free: NFKC (full width → half width), traditional →
simplified (OpenCC), lower case, whitespace. TextNormalizer adds what the shop's knowledge
base knows: colloquial synonyms (啥时候 → 什么时候), a jieba user dictionary generated
from product and FAQ terms, and the platform boilerplate and export placeholders to set
aside (knowledge/lexicon/boilerplate.tsv). Order, tracking and phone numbers and SKUs stay
whole tokens.

TextNormalizer.parse() turns a message into one `Message` value that every later stage
reads; nothing after it normalizes, tokenizes or encodes the message again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

import jieba
import numpy as np
import opencc

from assist.errors import MessageTooLong
from assist.privacy import NUMBER_KINDS, find_pii, personal_numbers

if TYPE_CHECKING:
    from assist.knowledge import KnowledgeBase

# Entities that must never be split by the segmenter. Order matters: most specific first.
SKU_RE = re.compile(r"(?<![a-z0-9])[a-z]{2}-\d{4}(?!\d)")
TRACKING_RE = re.compile(r"(?<![a-z0-9])(?:sf|yt|zt|jd|jt|yd|sto|ems)\d{9,15}(?![0-9])")
MASKED_PHONE_RE = re.compile(r"1[3-9]\d\*{4}\d{4}")
LONG_NUMBER_RE = re.compile(r"(?<!\d)\d{11,20}(?!\d)")  # order numbers, phones, tracking
PROTECTED_RE = re.compile(
    "|".join(p.pattern for p in (SKU_RE, TRACKING_RE, MASKED_PHONE_RE, LONG_NUMBER_RE))
)
DEFAULT_ORDER_ID = r"\d{16,19}"  # Tmall / Taobao; a shop sets its own in shop.yaml

_SPACE_RE = re.compile(r"\s+")
_DIGITS_RE = re.compile(r"\d+")

# What an export placeholder stands for in the text classifiers read: the model learns
# "mentions an order" from [订单x] as from a real order number.
PLACEHOLDER_SYMBOLS: dict[str, str] = {
    "order": " ⓞ ", "number": "0", "amount": "0元", "date": " ⓓ ", "time": " ⓓ ", "link": " ⓛ ",
    "name": " ⓟ ", "address": " ⓟ ", "phone": " ⓟ ", "id_card": " ⓟ ", "email": " ⓟ ",
    "station": " ⓟ ", "organisation": " ⓟ ", "masked": " ⓟ ",
}
BOILERPLATE_KINDS: tuple[str, ...] = ("human_request", "menu", "header", "emoji",
                                      *(f"placeholder:{k}" for k in PLACEHOLDER_SYMBOLS))
_WORD_RE = re.compile(r"\w")
_CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")

# Particles and openers that carry no meaning for matching a question to an answer.
STOPWORDS = frozenset(
    "亲 亲亲 在吗 在不在 在么 你好 您好 请问 问一下 问下 的 了 吗 呢 吧 啊 呀 哦 哈 哈哈 嘛 么 啦 哇 额 嗯 "
    "我 你 您 我们 你们 是 有 就 也 还 都 这 那 一下 一个 个 可以 能 么".split()
)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize_text(text: str) -> str:
    """NFKC, traditional → simplified, lower case, single spaces. Idempotent."""
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text)
    text = _SPACE_RE.sub(" ", text.lower()).strip()
    # One more pass: conversion can in rare cases produce a character NFKC would change.
    return unicodedata.normalize("NFKC", text)


def char_bigrams(text: str) -> list[str]:
    """Bigrams of each run of Chinese characters: a fallback that still matches typos
    and words the segmenter cut differently."""
    grams: list[str] = []
    for run in _CJK_RUN_RE.findall(text):
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


class Alternation:
    """Several regular expressions as one, telling which of them matched (each may have
    groups of its own)."""

    def __init__(self, regexes: Sequence[str]):
        self.starts: list[int] = []
        n = 1
        for rx in regexes:
            self.starts.append(n)
            n += 1 + re.compile(rx).groups
        self.pattern = re.compile("|".join(f"({rx})" for rx in regexes)) if regexes else None

    def _which(self, m: re.Match[str]) -> int:
        return next(i for i, g in enumerate(self.starts) if m.start(g) >= 0)

    def finditer(self, text: str) -> Iterable[tuple[int, re.Match[str]]]:
        """(index of the regex that matched, match), left to right."""
        if self.pattern is not None:
            yield from ((self._which(m), m) for m in self.pattern.finditer(text))

    def sub(self, repl: Callable[[int, re.Match[str]], str], text: str) -> str:
        return self.pattern.sub(lambda m: repl(self._which(m), m), text) if self.pattern is not None else text


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Entities:
    """What a customer typed that identifies things: used to fill reply scripts."""

    order_ids: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    tracking_nos: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()  # kinds of personal numbers seen (id_card, bank_card): never order ids

    def as_dict(self) -> dict[str, list[str]]:
        return {"order_ids": list(self.order_ids), "skus": list(self.skus), "tracking_nos": list(self.tracking_nos)}


@dataclass(frozen=True)
class Message:
    """A customer message, parsed once.

    text        normalized (NFKC, simplified, lower case), boilerplate removed, placeholders
                kept as written; evidence spans refer to it
    canonical   text with the shop's synonyms and without placeholders: what is matched and embedded
    features    what the text classifiers read: numbers and placeholders as symbols
    """

    raw: str
    text: str
    canonical: str
    features: str
    boilerplate: tuple[tuple[str, str], ...] = ()   # (kind, text) set aside, in order
    placeholders: tuple[str, ...] = ()              # kinds of export placeholders seen
    entities: Entities = Entities()
    terms: tuple[str, ...] = ()                     # BM25 terms (empty for history turns)
    embedding: np.ndarray | None = field(default=None, compare=False)

    @property
    def asked_for_human(self) -> bool:
        return any(kind == "human_request" for kind, _ in self.boilerplate)


class Boilerplate:
    """Recognises the lexicon's boilerplate and placeholders in normalized text."""

    def __init__(self, patterns: Mapping[str, str]):
        strip: list[tuple[str, str]] = []      # (regex, kind)
        self._placeholders: list[tuple[re.Pattern[str], str]] = []
        for pattern, kind in patterns.items():
            rx = pattern[3:] if pattern.startswith("re:") else re.escape(normalize_text(pattern))
            if kind.startswith("placeholder:"):
                self._placeholders.append((re.compile(rx), kind.split(":", 1)[1]))
            else:
                strip.append((rx, kind))
        # Longest literal first, so 我要转人工 wins over 转人工.
        strip.sort(key=lambda p: -len(p[0]))
        self._kinds = [k for _, k in strip]
        self._strip = Alternation([rx for rx, _ in strip])

    def split(self, text: str) -> tuple[str, list[tuple[str, str]], list[str]]:
        """(text without boilerplate, the pieces removed with their kinds, placeholder kinds)."""
        removed: list[tuple[str, str]] = []

        def drop(i: int, m: re.Match[str]) -> str:
            removed.append((self._kinds[i], m.group(0).strip()))
            return " "
        text = self._strip.sub(drop, text)
        return _SPACE_RE.sub(" ", text).strip(), removed, self.placeholder_kinds(text)

    def placeholder_kinds(self, text: str) -> list[str]:
        return sorted({k for rx, k in self._placeholders if rx.search(text)})

    def symbols(self, text: str) -> str:
        for rx, kind in self._placeholders:
            text = rx.sub(PLACEHOLDER_SYMBOLS[kind], text)
        return text

    def remove(self, text: str) -> str:
        for rx, _ in self._placeholders:
            text = rx.sub(" ", text)
        return _SPACE_RE.sub(" ", text).strip()


class TextNormalizer:
    """Knowledge-aware normalization and tokenization; one jieba instance per normalizer."""

    def __init__(self, *, synonyms: Mapping[str, str] | None = None, user_words: Iterable[str] = (),
                 boilerplate: Mapping[str, str] | None = None, order_id_pattern: str = DEFAULT_ORDER_ID):
        self.boilerplate = Boilerplate(boilerplate or {})
        self.order_id_re = _order_id_re(order_id_pattern)
        self.synonyms = {normalize_text(k): normalize_text(v) for k, v in (synonyms or {}).items() if k}
        self.user_words = sorted({normalize_text(w) for w in user_words if w.strip()})
        self._synonym_re = (
            re.compile("|".join(re.escape(k) for k in sorted(self.synonyms, key=len, reverse=True)))
            if self.synonyms
            else None
        )
        self._jieba: jieba.Tokenizer | None = None

    @classmethod
    def for_shop(cls, kb: KnowledgeBase) -> TextNormalizer:
        """The normalizer of a shop: its synonyms, words, boilerplate and order-number format."""
        return cls(synonyms=kb.synonyms, user_words=kb.lexicon_words(), boilerplate=kb.boilerplate,
                   order_id_pattern=kb.shop.order_id_regex)

    def warm_up(self) -> None:
        """Load jieba's dictionary and our user words; idempotent, costs about a second."""
        if self._jieba is not None:
            return
        tok = jieba.Tokenizer()
        tok.initialize()
        for word in self.user_words:
            # A frequency high enough that the segmenter keeps the shop's terms whole.
            tok.add_word(word, freq=max(tok.suggest_freq(word, tune=False), 2000))
        for word in set(self.synonyms.values()):
            tok.add_word(word, freq=max(tok.suggest_freq(word, tune=False), 2000))
        self._jieba = tok

    def userdict_lines(self) -> list[str]:
        """The generated jieba user dictionary, in jieba's 'word freq' file format."""
        words = sorted(set(self.user_words) | set(self.synonyms.values()))
        return [f"{w} 2000" for w in words if " " not in w]

    def canonical(self, text: str) -> str:
        """normalize_text plus the shop's synonyms, so 啥时候发货 reads 什么时候发货."""
        return self._synonyms(normalize_text(text))

    def _synonyms(self, norm: str) -> str:
        return self._synonym_re.sub(lambda m: self.synonyms[m.group(0)], norm) if self._synonym_re else norm

    def parse(self, raw: str, *, encoder: Encoder | None = None, lexical: bool = True,
              max_chars: int | None = None) -> Message:
        """The one parse of a message (see Message). lexical=False skips the BM25 terms,
        which only the message being answered needs; a message longer than max_chars once
        normalized is refused (MessageTooLong)."""
        return self.parse_many([raw], encoder=encoder, lexical=lexical, max_chars=max_chars)[0]

    def parse_many(self, raws: Sequence[str], *, encoder: Encoder | None = None, lexical: bool = False,
                   max_chars: int | None = None) -> list[Message]:
        """parse() for several messages, with one encoder call for all of them."""
        out = []
        for raw in raws:
            norm = normalize_text(raw)
            if max_chars is not None and len(norm) > max_chars:
                raise MessageTooLong(f"a message of {len(norm)} characters after normalization, over the limit "
                                     f"of {max_chars}")
            text, removed, kinds = self.boilerplate.split(norm)
            bare = self.boilerplate.remove(text)
            if not _WORD_RE.search(bare):
                # Nothing but boilerplate: read it as it is (我要转人工 alone asks for a person).
                text, removed, kinds = norm, [], self.boilerplate.placeholder_kinds(norm)
                bare = self.boilerplate.remove(norm)
            canonical = self._synonyms(bare)
            out.append(Message(
                raw=raw, text=text, canonical=canonical,
                features=_classifier_symbols(self._synonyms(self.boilerplate.symbols(_personal_symbols(text)))),
                boilerplate=tuple(removed), placeholders=tuple(kinds), entities=_entities(text, self.order_id_re),
                terms=tuple(self._lexical_terms_canonical(canonical)) if lexical else (),
            ))
        if encoder is not None and out:
            vecs = encoder.encode([m.canonical for m in out])
            out = [_with_embedding(m, v) for m, v in zip(out, vecs)]
        return out

    def tokens(self, text: str, *, search: bool = False) -> list[str]:
        """Word tokens of canonical text; protected entities stay whole. search=True uses
        jieba's search mode, which also emits the shorter words inside long ones."""
        return self._tokens_canonical(self.canonical(text), search=search)

    def _segment(self, chunk: str, search: bool) -> list[str]:
        if not chunk.strip():
            return []
        assert self._jieba is not None
        words = self._jieba.cut_for_search(chunk) if search else self._jieba.cut(chunk)
        return [w for w in (w.strip() for w in words) if w and _WORD_RE.search(w)]

    def lexical_terms(self, text: str) -> list[str]:
        """Terms for BM25: search-mode words without stopwords, plus char bigrams (prefixed
        so a bigram never collides with a word of the same spelling)."""
        return self._lexical_terms_canonical(self.canonical(text))

    def _lexical_terms_canonical(self, canonical: str) -> list[str]:
        words = [t for t in self._tokens_canonical(canonical, search=True) if t not in STOPWORDS]
        return words + ["~" + g for g in char_bigrams(canonical)]

    def _tokens_canonical(self, text: str, *, search: bool) -> list[str]:
        self.warm_up()
        out: list[str] = []
        pos = 0
        for m in PROTECTED_RE.finditer(text):
            out.extend(self._segment(text[pos : m.start()], search))
            out.append(m.group(0))
            pos = m.end()
        out.extend(self._segment(text[pos:], search))
        return out


def _with_embedding(m: Message, vec: np.ndarray) -> Message:
    object.__setattr__(m, "embedding", vec)  # frozen value, completed once right after parsing
    return m


def _personal_symbols(text: str) -> str:
    for a, b, _ in reversed(personal_numbers(text)):
        text = text[:a] + " ⓟ " + text[b:]
    return text


def _classifier_symbols(text: str) -> str:
    """Order numbers, SKUs and other numbers as symbols, so a model learns 'has an order
    number', not the number."""
    text = TRACKING_RE.sub(" ⓣ ", text)
    text = LONG_NUMBER_RE.sub(" ⓞ ", text)
    text = SKU_RE.sub(" ⓢ ", text)
    return _DIGITS_RE.sub("0", text)


def _order_id_re(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9a-z])(?:{pattern})(?![0-9a-z])", re.IGNORECASE)


def _entities(norm: str, order_id_re: re.Pattern[str]) -> Entities:
    """Order numbers in the shop's format that are no one's phone, ID or card number."""
    pii = [p for p in find_pii(norm) if p.kind in NUMBER_KINDS]
    order_ids = [m.group(0) for m in order_id_re.finditer(norm)
                 if not any(p.start < m.end() and m.start() < p.end for p in pii)]
    return Entities(
        order_ids=tuple(order_ids),
        skus=tuple(s.upper() for s in SKU_RE.findall(norm)),
        tracking_nos=tuple(t.upper() for t in TRACKING_RE.findall(norm)),
        personal=tuple(sorted({p.kind for p in pii if p.kind in {"id_card", "bank_card"}})),
    )


def extract_entities(text: str, order_id_pattern: str = DEFAULT_ORDER_ID) -> dict[str, list[str]]:
    """Order numbers, SKUs and tracking numbers a customer typed (used to fill reply scripts).
    Phone, ID-card and bank-card numbers are never taken for order numbers."""
    return _entities(normalize_text(text), _order_id_re(order_id_pattern)).as_dict()
