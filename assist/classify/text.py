"""The shared text classifier: char n-gram TF-IDF (+ sentence embedding) → logistic regression.

Saved without pickle: the vocabulary as JSON, idf as .npy, the linear model with skops;
loading accepts only the scikit-learn types listed in TRUSTED, so a tampered file cannot
run code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from assist.errors import ArtifactError, Incompatible
from assist.normalize import LONG_NUMBER_RE, SKU_RE, TRACKING_RE, normalize_text

TRUSTED = [
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "numpy.float64", "numpy.int64", "numpy.dtype", "builtins.slice",
]
_DIGITS_RE = re.compile(r"\d+")


def classifier_text(text: str) -> str:
    """What classifiers read: normalized text with order numbers, SKUs and other numbers
    replaced by placeholders, so a model learns 'has an order number', not the number."""
    text = normalize_text(text)
    text = TRACKING_RE.sub(" ⓣ ", text)
    text = LONG_NUMBER_RE.sub(" ⓞ ", text)
    text = SKU_RE.sub(" ⓢ ", text)
    return _DIGITS_RE.sub("0", text)


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

    def get_params(self) -> dict[str, object]:
        return {"ngram_max": self.ngram_max, "C": self.C, "embedding_weight": self.embedding_weight,
                "class_weight": self.class_weight, "max_features": self.max_features}

    @property
    def classes_(self) -> list[str]:
        self._check_fitted()
        assert self.model_ is not None
        return [str(c) for c in self.model_.classes_]

    def _features(self, texts: list[str], embeddings: np.ndarray | None) -> sp.csr_matrix:
        assert self.vectorizer_ is not None
        X = self.vectorizer_.transform([classifier_text(t) for t in texts])
        if self.embedding_weight > 0:
            if embeddings is None:
                raise ValueError("this classifier uses embedding features: pass embeddings")
            X = sp.hstack([X, sp.csr_matrix(embeddings * self.embedding_weight)], format="csr")
        return X

    def fit(self, texts: list[str], labels: list[str], embeddings: np.ndarray | None = None,
            sample_weight: np.ndarray | None = None) -> "TextClassifier":
        self.vectorizer_ = self._vectorizer()
        self.vectorizer_.fit([classifier_text(t) for t in texts])
        X = self._features(texts, embeddings)
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, class_weight=self.class_weight)
        self.model_.fit(X, labels, sample_weight=sample_weight)
        return self

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        assert self.model_ is not None
        return self.model_.predict_proba(self._features(texts, embeddings))

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
