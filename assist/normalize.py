"""Text normalization and tokenization: the one place that decides what a message 'says'.

normalize_text() is pure and knowledge-free: NFKC (full width → half width), traditional →
simplified (OpenCC), lower case, whitespace. TextNormalizer adds what the shop's knowledge
base knows: colloquial synonyms (啥时候 → 什么时候) and a jieba user dictionary generated
from product and FAQ terms. Order, tracking and phone numbers and SKUs stay whole tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import jieba
import opencc

# Entities that must never be split by the segmenter. Order matters: most specific first.
SKU_RE = re.compile(r"(?<![a-z0-9])[a-z]{2}-\d{4}(?!\d)")
TRACKING_RE = re.compile(r"(?<![a-z0-9])(?:sf|yt|zt|jd|jt|yd|sto|ems)\d{9,15}(?![0-9])")
MASKED_PHONE_RE = re.compile(r"1[3-9]\d\*{4}\d{4}")
LONG_NUMBER_RE = re.compile(r"(?<!\d)\d{11,20}(?!\d)")  # order numbers, phones, tracking
PROTECTED_RE = re.compile(
    "|".join(p.pattern for p in (SKU_RE, TRACKING_RE, MASKED_PHONE_RE, LONG_NUMBER_RE))
)
ORDER_ID_RE = re.compile(r"(?<!\d)\d{15,20}(?!\d)")
PHONE_NUMBER_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

_SPACE_RE = re.compile(r"\s+")
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


class TextNormalizer:
    """Knowledge-aware normalization and tokenization; one jieba instance per normalizer."""

    def __init__(self, *, synonyms: Mapping[str, str] | None = None, user_words: Iterable[str] = ()):
        self.synonyms = {normalize_text(k): normalize_text(v) for k, v in (synonyms or {}).items() if k}
        self.user_words = sorted({normalize_text(w) for w in user_words if w.strip()})
        self._synonym_re = (
            re.compile("|".join(re.escape(k) for k in sorted(self.synonyms, key=len, reverse=True)))
            if self.synonyms
            else None
        )
        self._jieba: jieba.Tokenizer | None = None

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
        text = normalize_text(text)
        if self._synonym_re is not None:
            text = self._synonym_re.sub(lambda m: self.synonyms[m.group(0)], text)
        return text

    def tokens(self, text: str, *, search: bool = False) -> list[str]:
        """Word tokens of canonical text; protected entities stay whole. search=True uses
        jieba's search mode, which also emits the shorter words inside long ones."""
        self.warm_up()
        assert self._jieba is not None  # for the type checker; warm_up() set it
        text = self.canonical(text)
        out: list[str] = []
        pos = 0
        for m in PROTECTED_RE.finditer(text):
            out.extend(self._segment(text[pos : m.start()], search))
            out.append(m.group(0))
            pos = m.end()
        out.extend(self._segment(text[pos:], search))
        return out

    def _segment(self, chunk: str, search: bool) -> list[str]:
        if not chunk.strip():
            return []
        assert self._jieba is not None
        words = self._jieba.cut_for_search(chunk) if search else self._jieba.cut(chunk)
        return [w for w in (w.strip() for w in words) if w and _WORD_RE.search(w)]

    def lexical_terms(self, text: str) -> list[str]:
        """Terms for BM25: search-mode words without stopwords, plus char bigrams (prefixed
        so a bigram never collides with a word of the same spelling)."""
        words = [t for t in self.tokens(text, search=True) if t not in STOPWORDS]
        return words + ["~" + g for g in char_bigrams(self.canonical(text))]


def extract_entities(text: str) -> dict[str, list[str]]:
    """Order numbers, SKUs and tracking numbers a customer typed (used to fill reply scripts)."""
    norm = normalize_text(text)
    phones = set(PHONE_NUMBER_RE.findall(norm))
    return {
        "order_ids": [o for o in ORDER_ID_RE.findall(norm) if o not in phones],
        "skus": [s.upper() for s in SKU_RE.findall(norm)],
        "tracking_nos": [t.upper() for t in TRACKING_RE.findall(norm)],
    }
