"""Lexical scoring: BM25 (bm25s) over our own terms (jieba search-mode words + char bigrams)."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from assist.errors import ArtifactError


class BM25Retriever:
    def __init__(self, *, k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b
        self.model_: bm25s.BM25 | None = None

    def fit(self, docs_terms: list[list[str]]) -> "BM25Retriever":
        model = bm25s.BM25(k1=self.k1, b=self.b)
        model.index(docs_terms, show_progress=False)
        self.model_ = model
        return self

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document (row order as fitted); terms not in the vocabulary are
        dropped first, since bm25s would otherwise map them to its empty token."""
        if self.model_ is None:
            raise ArtifactError("BM25Retriever is not fitted yet; call fit() or load() first")
        vocab = self.model_.vocab_dict
        known = [t for t in terms if t in vocab]
        if not known:
            return np.zeros(self.model_.scores["num_docs"], dtype=np.float32)
        return self.model_.get_scores(known).astype(np.float32, copy=False)

    def save(self, path: Path) -> None:
        if self.model_ is None:
            raise ArtifactError("BM25Retriever is not fitted yet")
        self.model_.save(str(path))  # numpy arrays (allow_pickle=False) + JSON vocabulary

    @classmethod
    def load(cls, path: Path) -> "BM25Retriever":
        model = bm25s.BM25.load(str(path))
        self = cls(k1=model.k1, b=model.b)
        self.model_ = model
        return self
