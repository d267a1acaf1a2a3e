"""The hybrid index: every phrasing of every entry is a row; searches return entries.

Lexical (BM25) and dense (faiss) rankings are made per entry (best row wins) and fused
with weighted reciprocal rank fusion. `similarity` (cosine of the closest phrasing) is kept
beside the fused score because it is what confidence thresholds are tuned on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from assist.artifacts import atomic_folder, library_versions, read_manifest, write_manifest
from assist.errors import Incompatible
from assist.normalize import Message, TextNormalizer
from assist.retrieval.bm25 import BM25Retriever
from assist.retrieval.dense import DenseRetriever
from assist.retrieval.encoder import Encoder
from assist.types import Entry, EntryKind, Hit

Progress = Callable[[Iterable[str]], Iterable[str]]


class HybridIndex:
    def __init__(
        self, *, normalizer: TextNormalizer, encoder: Encoder, rrf_k: int = 60,
        bm25_weight: float = 1.0, dense_weight: float = 1.0, candidates: int = 50,
        hnsw_min_rows: int = 20000, hnsw_ef_search: int = 128,
    ):
        self.normalizer = normalizer
        self.encoder = encoder
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self.candidates = candidates
        self.hnsw_min_rows = hnsw_min_rows
        self.hnsw_ef_search = hnsw_ef_search
        self.entries_: list[Entry] = []
        self.kb_version_ = ""

    # --- building -----------------------------------------------------------------------
    def _dense(self) -> DenseRetriever:
        return DenseRetriever(hnsw_min_rows=self.hnsw_min_rows, ef_search=self.hnsw_ef_search)

    def build(self, entries: Sequence[Entry], *, kb_version: str = "", progress: Progress | None = None) -> "HybridIndex":
        rows = [t for e in entries for t in e.texts]
        row_entry = np.repeat(np.arange(len(entries), dtype=np.int64), [len(e.texts) for e in entries])
        it = progress(rows) if progress else rows
        terms = [self.normalizer.lexical_terms(t) for t in it]
        vectors = self.encoder.encode([self.normalizer.canonical(t) for t in rows])
        self._set(entries, rows, row_entry, BM25Retriever().fit(terms), self._dense().fit(vectors), kb_version)
        return self

    def _set(self, entries: Sequence[Entry], rows: list[str], row_entry: np.ndarray,
             bm25: BM25Retriever, dense: DenseRetriever, kb_version: str) -> None:
        self.entries_ = list(entries)
        self.rows_ = rows
        self.row_entry_ = row_entry
        # Rows are grouped by entry, so each entry's rows start at one offset.
        self.entry_start_ = np.searchsorted(row_entry, np.arange(len(entries)))
        self.by_id_ = {e.id: i for i, e in enumerate(self.entries_)}
        self.kind_ = np.array([e.kind for e in self.entries_])
        self.bm25_ = bm25
        self.dense_ = dense
        self.vectors_ = dense.vectors  # for exact similarity of candidates
        # Answers are not matched (a question is), but how close the answer is tells the
        # ranker something when the shopper's words differ from every phrasing.
        self.answer_vectors_ = self.encoder.encode([self.normalizer.canonical(e.answer) for e in self.entries_])
        self.kb_version_ = kb_version

    def entry(self, entry_id: str) -> Entry | None:
        i = self.by_id_.get(entry_id)
        return None if i is None else self.entries_[i]

    # --- searching ----------------------------------------------------------------------
    def parse(self, text: str) -> Message:
        """A query parsed as the service parses messages (for callers without a Message)."""
        return self.normalizer.parse(text, encoder=self.encoder)

    def search(self, query: Message | str, *, top_k: int = 5, kinds: Iterable[EntryKind] | None = None) -> list[Hit]:
        """Entries best matching the query, best first: at most top_k, sorted by fused score."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        message = self.parse(query) if isinstance(query, str) else query
        if message.embedding is None:
            raise ValueError("search needs a Message parsed with the encoder")
        allowed = np.isin(self.kind_, list(kinds)) if kinds is not None else np.ones(len(self.entries_), bool)
        query_vec = message.embedding

        lexical, lexical_scores = self._lexical_ranking(list(message.terms), allowed)
        dense = self._dense_ranking(query_vec, allowed)
        fused: dict[int, float] = {}
        for weight, ranking in ((self.bm25_weight, lexical), (self.dense_weight, dense)):
            for rank, e in enumerate(ranking, 1):
                fused[e] = fused.get(e, 0.0) + weight / (self.rrf_k + rank)
        best = self._closest_rows(list(fused), query_vec)
        # Equal fused scores (ranks 1+2 vs 2+1 are common) are broken by cosine, then by id,
        # so the order is meaningful and never flips between runs.
        order = sorted(fused, key=lambda e: (-round(fused[e], 9), -best[e][1], self.entries_[e].id))[:top_k]
        lex_rank = {e: r for r, e in enumerate(lexical, 1)}
        dense_rank = {e: r for r, e in enumerate(dense, 1)}
        title_sims = self.vectors_[self.entry_start_[order]] @ query_vec if order else []
        answer_sims = self.answer_vectors_[order] @ query_vec if order else []
        return [
            Hit(entry=self.entries_[e], score=round(fused[e], 6),
                similarity=float(np.clip(best[e][1], 0.0, 1.0)), matched=self.rows_[best[e][0]],
                lexical_rank=lex_rank.get(e), dense_rank=dense_rank.get(e),
                lexical_score=float(lexical_scores[e]), title_similarity=float(np.clip(t, 0.0, 1.0)),
                answer_similarity=float(np.clip(a, 0.0, 1.0)))
            for e, t, a in zip(order, title_sims, answer_sims)
        ]

    def _closest_rows(self, entries: list[int], query_vec: np.ndarray) -> dict[int, tuple[int, float]]:
        """For each entry, its phrasing most similar to the query: (row, cosine). One matrix
        product over all their rows; entry rows are contiguous."""
        if not entries:
            return {}
        spans = [self._rows_of(e) for e in entries]
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        sims = self.vectors_[rows] @ query_vec
        out, pos = {}, 0
        for e, (a, b) in zip(entries, spans):
            i = pos + int(np.argmax(sims[pos:pos + b - a]))
            out[e] = (int(rows[i]), float(sims[i]))
            pos += b - a
        return out

    def _rows_of(self, e: int) -> tuple[int, int]:
        start = int(self.entry_start_[e])
        stop = int(self.entry_start_[e + 1]) if e + 1 < len(self.entries_) else len(self.rows_)
        return start, stop

    def _lexical_ranking(self, terms: list[str], allowed: np.ndarray) -> tuple[list[int], np.ndarray]:
        """(entries by BM25 of their best phrasing, that score for every entry)."""
        row_scores = self.bm25_.scores(terms)
        entry_scores = np.maximum.reduceat(row_scores, self.entry_start_) if len(row_scores) else row_scores
        entry_scores = np.where(allowed, entry_scores, 0.0)
        n = min(self.candidates, int(np.count_nonzero(entry_scores > 0)))
        if n == 0:
            return [], entry_scores
        top = np.argpartition(-entry_scores, n - 1)[:n]
        return sorted(top.tolist(), key=lambda e: (-entry_scores[e], e)), entry_scores

    def _dense_ranking(self, query_vec: np.ndarray, allowed: np.ndarray) -> list[int]:
        # Over-fetch rows: several rows may belong to one entry or to a filtered-out kind.
        sims, rows = self.dense_.search(query_vec, self.candidates * 8)
        ranking: list[int] = []
        seen: set[int] = set()
        for row in rows:
            if row < 0:
                continue
            e = int(self.row_entry_[row])
            if e not in seen and allowed[e]:
                seen.add(e)
                ranking.append(e)
                if len(ranking) == self.candidates:
                    break
        return ranking

    # --- persistence --------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        with atomic_folder(folder) as tmp:
            self.bm25_.save(tmp / "bm25")
            self.dense_.save(tmp / "dense.faiss")
            with open(tmp / "rows.jsonl", "w", encoding="utf-8") as f:
                for text, e in zip(self.rows_, self.row_entry_.tolist()):
                    f.write(json.dumps({"entry": self.entries_[e].id, "text": text}, ensure_ascii=False) + "\n")
            (tmp / "userdict.txt").write_text("\n".join(self.normalizer.userdict_lines()) + "\n", encoding="utf-8")
            write_manifest(
                tmp, name="index", kb_version=self.kb_version_, encoder_version=self.encoder.version,
                rows=len(self.rows_), entries=len(self.entries_),
                libraries=library_versions("bm25s", "faiss-cpu", "jieba", "sentence-transformers"),
            )

    def load(self, folder: Path, entries: Sequence[Entry], *, kb_version: str) -> "HybridIndex":
        """Load a saved index; refuses one built from other knowledge or another encoder."""
        manifest = read_manifest(folder)
        if manifest["kb_version"] != kb_version:
            raise Incompatible(f"{folder}: built for knowledge {manifest['kb_version']}, current is {kb_version}")
        if manifest["encoder_version"] != self.encoder.version:
            raise Incompatible(f"{folder}: built with encoder {manifest['encoder_version']}, current is {self.encoder.version}")
        by_id = {e.id: i for i, e in enumerate(entries)}
        rows, row_entry = [], []
        for line in (Path(folder) / "rows.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            rows.append(rec["text"])
            row_entry.append(by_id[rec["entry"]])
        self._set(entries, rows, np.array(row_entry, dtype=np.int64),
                  BM25Retriever.load(Path(folder) / "bm25"), DenseRetriever.load(
                      Path(folder) / "dense.faiss", hnsw_min_rows=self.hnsw_min_rows, ef_search=self.hnsw_ef_search), kb_version)
        return self
