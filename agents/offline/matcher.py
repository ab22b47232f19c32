"""Which intent a request is, from the catalogue's examples: a small model trained at start.

Requests and examples are compared with their entities masked (`<MACHINE>`, `<ORDER>` …). Two
views of a text go side by side into one linear SVM: character n-gram TF-IDF (typos, word forms,
the mask tokens) and a sentence embedding from `wordllama` (a static token-embedding model whose
weights and tokenizer ship inside its wheel, loaded with downloads disabled), which carries
meaning across words no example used. Trained on the examples when the matcher is built (about
a second); the SVM's margins become probabilities through a softmax. Measured against a logistic
regression over the embeddings and against each view alone, held out example by example, this
joint model was the most accurate and the quickest to train; `titan model check` prints its
figures.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

log = logging.getLogger(__name__)

Vector = NDArray[np.float32]
# How much the embedding counts beside the n-grams, the SVM's regularisation, and how sharply
# its margins turn into probabilities (chosen on the examples; `titan model check` shows them).
EMBEDDING_WEIGHT = 1.0
SVM_C = 0.5
SVM_TEMPERATURE = 4.0


@cache
def embedder():  # type: ignore[no-untyped-def]
    """wordllama's packaged model, loaded from the wheel (its weights and tokenizer sit in the
    package folder, which `load` is pointed at as its cache; nothing is downloaded)."""
    import wordllama
    from wordllama import WordLlama

    folder = Path(wordllama.__file__).parent
    return WordLlama.load(cache_dir=folder, disable_download=True)


def embed(texts: Sequence[str]) -> Vector:
    """Normalised sentence embeddings of `texts` (one row each)."""
    vectors: Vector = np.asarray(embedder().embed(list(texts), norm=True), dtype=np.float32)
    return vectors


@dataclass(frozen=True)
class Ranked:
    """Intents in order of how well they fit, each with a probability."""

    intents: tuple[str, ...]
    probabilities: tuple[float, ...]

    @property
    def best(self) -> str:
        return self.intents[0]

    @property
    def confidence(self) -> float:
        return self.probabilities[0]

    def top(self, n: int) -> list[tuple[str, float]]:
        return list(zip(self.intents[:n], self.probabilities[:n], strict=False))

    def probability(self, intent: str) -> float:
        try:
            return self.probabilities[self.intents.index(intent)]
        except ValueError:
            return 0.0


def _softmax(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


class IntentMatcher:
    """A classifier over masked texts, trained on (text, intent) examples."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        if len(texts) != len(labels) or not texts:
            raise ValueError("the matcher needs examples, one label each")
        self.ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        self.ngrams.fit([t.lower() for t in texts])
        self.svm = LinearSVC(C=SVM_C).fit(self.features(texts), np.asarray(labels))
        self.classes: list[str] = [str(c) for c in self.svm.classes_]

    def features(self, texts: Sequence[str]) -> csr_matrix:
        lowered = [t.lower() for t in texts]
        dense = csr_matrix(embed(lowered) * EMBEDDING_WEIGHT)
        return hstack([self.ngrams.transform(lowered), dense]).tocsr()

    def rank_many(self, texts: Sequence[str]) -> list[Ranked]:
        margins = np.asarray(self.svm.decision_function(self.features(texts)), dtype=np.float64)
        probabilities = _softmax(margins, SVM_TEMPERATURE)
        ranked: list[Ranked] = []
        for row in probabilities:
            order = np.argsort(-row)
            ranked.append(
                Ranked(
                    intents=tuple(self.classes[i] for i in order),
                    probabilities=tuple(float(row[i]) for i in order),
                )
            )
        return ranked

    def rank(self, text: str) -> Ranked:
        return self.rank_many([text])[0]


def entropy(ranked: Ranked) -> float:
    return -sum(p * math.log(p) for p in ranked.probabilities if p > 0)
