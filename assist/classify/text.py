"""The shared text classifier: char n-gram TF-IDF (+ sentence embedding) → logistic regression.

It reads `Message.features` (normalize.py): normalized text, boilerplate set aside, numbers
and placeholders as symbols. Training and the service both make those with the same parse.

Saved without pickle: the vocabulary as JSON, idf as .npy, the linear model with skops;
loading accepts only the scikit-learn types listed in TRUSTED, so a tampered file cannot
run code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from assist.errors import ArtifactError, Incompatible

TRUSTED = [
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "numpy.float64", "numpy.int64", "numpy.dtype", "builtins.slice",
]

class TextClassifier:
    def __init__(self, *, ngram_max: int = 3, C: float = 10.0, embedding_weight: float = 0.0,
                 class_weight: str | None = "balanced", max_features: int = 60000):
        self.ngram_max = ngram_max
        self.max_features = max_features
        self.C = C
        self.embedding_weight = embedding_weight
        self.class_weight = class_weight
        self.vectorizer_: TfidfVectorizer | None = None
        self.model_: LogisticRegression | None = None
        self._analyzer: Callable[[str], list[str]] | None = None

    def get_params(self) -> dict[str, object]:
        return {"ngram_max": self.ngram_max, "C": self.C, "embedding_weight": self.embedding_weight,
                "class_weight": self.class_weight, "max_features": self.max_features}

    @property
    def classes_(self) -> list[str]:
        self._check_fitted()
        assert self.model_ is not None
        return [str(c) for c in self.model_.classes_]

    def tfidf(self, texts: list[str]) -> sp.csr_matrix:
        """The fitted vectorizer's TF-IDF rows (sublinear tf, idf, l2), computed directly: for
        one short message scikit-learn's input validation costs ~10x the arithmetic, and this
        runs on every request. tests/test_understanding.py checks it equals transform()."""
        assert self.vectorizer_ is not None
        if self._analyzer is None:
            self._analyzer = self.vectorizer_.build_analyzer()
        vocab, idf = self.vectorizer_.vocabulary_, self.vectorizer_.idf_
        indptr, indices, data = [0], [], []
        for text in texts:
            counts = Counter(j for g in self._analyzer(text) if (j := vocab.get(g)) is not None)
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[cols]
            norm = float(np.sqrt(vals @ vals))
            indices.append(cols)
            data.append(vals / norm if norm > 0 else vals)
            indptr.append(indptr[-1] + len(cols))
        return sp.csr_matrix(
            (np.concatenate(data) if data else np.zeros(0), np.concatenate(indices) if indices else np.zeros(0, np.int64),
             np.asarray(indptr)), shape=(len(texts), len(idf)))

    def _features(self, texts: list[str], embeddings: np.ndarray | None) -> sp.csr_matrix:
        X = self.tfidf(texts)
        if self.embedding_weight > 0:
            if embeddings is None:
                raise ValueError("this classifier uses embedding features: pass embeddings")
            X = sp.hstack([X, sp.csr_matrix(embeddings * self.embedding_weight)], format="csr")
        return X

    def fit(self, texts: list[str], labels: list[str], embeddings: np.ndarray | None = None,
            sample_weight: np.ndarray | None = None) -> "TextClassifier":
        self.vectorizer_ = self._vectorizer()
        self.vectorizer_.fit(texts)
        self._analyzer = None
        X = self._features(texts, embeddings)
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, class_weight=self.class_weight)
        self.model_.fit(X, labels, sample_weight=sample_weight)
        return self

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """LogisticRegression.predict_proba, as arithmetic on its coefficients (see tfidf())."""
        return self.proba_from_tfidf(self.tfidf(texts), embeddings)

    def proba_from_tfidf(self, X: sp.csr_matrix, embeddings: np.ndarray | None = None) -> np.ndarray:
        """predict_proba for rows already made by tfidf(), for callers that reuse them."""
        self._check_fitted()
        assert self.model_ is not None
        coef = self.model_.coef_
        scores = np.asarray(X @ coef[:, :X.shape[1]].T) + self.model_.intercept_
        if self.embedding_weight > 0:  # the dense block of _features(), without building it
            if embeddings is None:
                raise ValueError("this classifier uses embedding features: pass embeddings")
            scores += (np.asarray(embeddings, dtype=np.float64) * self.embedding_weight) @ coef[:, X.shape[1]:].T
        if scores.shape[1] == 1:  # binary: scikit-learn's logistic of the one decision value
            p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - p, p])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)

    def _check_fitted(self) -> None:
        if self.model_ is None:
            raise ArtifactError("TextClassifier is not fitted yet; call fit() or load() first")

    def save(self, folder: Path) -> None:
        self._check_fitted()
        assert self.vectorizer_ is not None
        # The vocabulary goes to JSON and idf to .npy: skops writes a 100k-entry dict at ~700
        # bytes an entry, and both of these are plain data anyway.
        vocab = {k: int(v) for k, v in self.vectorizer_.vocabulary_.items()}
        (Path(folder) / "vocabulary.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        np.save(Path(folder) / "idf.npy", self.vectorizer_.idf_, allow_pickle=False)
        sio.dump(self.model_, Path(folder) / "model.skops")
        (Path(folder) / "params.json").write_text(json.dumps(self.get_params()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "TextClassifier":
        params = json.loads((Path(folder) / "params.json").read_text(encoding="utf-8"))
        self = cls(**params)
        vocab = json.loads((Path(folder) / "vocabulary.json").read_text(encoding="utf-8"))
        self.vectorizer_ = self._vectorizer(vocabulary=vocab)
        self.vectorizer_.idf_ = np.load(Path(folder) / "idf.npy", allow_pickle=False)
        self.model_ = _load_skops(Path(folder) / "model.skops")
        return self

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        return TfidfVectorizer(analyzer="char", ngram_range=(1, self.ngram_max), sublinear_tf=True,
                               max_features=None if vocabulary else self.max_features, vocabulary=vocabulary)


def _load_skops(path: Path):  # type: ignore[no-untyped-def]
    untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED]
    if untrusted:
        raise Incompatible(f"{path}: refusing to load untrusted types {untrusted}")
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))
