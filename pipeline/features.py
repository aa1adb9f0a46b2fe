"""From embeddings to the classifier's feature matrix: lexical TF-IDF and context.

A segment is described by its own embedding, optionally by the exact words it uses
(word and character n-gram TF-IDF), and optionally by the embeddings of the segments
around it in the same document: the neighbours one by one up to ``context`` places away,
and the mean of those further out up to ``context_window``. Neighbours never cross a
document boundary; a missing neighbour (document start or end) is a zero block.

Feature layout (columns, in order)::

    [lexical TF-IDF | own embedding | neighbour -k … -1, +1 … +k | window before, after]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from pipeline.config import FeaturesConfig
from pipeline.errors import ModelError


def _l2(X: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm > 0, norm, 1.0)


def _dense_csr(D: np.ndarray) -> sp.csr_matrix:
    """A dense block as CSR without scanning it for zeros (every entry is stored)."""
    n, d = D.shape
    indptr = np.arange(0, (n + 1) * d, d, dtype=np.int64)
    indices = np.tile(np.arange(d, dtype=np.int32), n)
    return sp.csr_matrix((np.ascontiguousarray(D, dtype=np.float32).ravel(), indices, indptr), shape=(n, d))


def neighbour_index(docs: Sequence[str], offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row of the segment ``offset`` places away in the same document.

    Returns:
        (index, valid): ndarrays of shape (n,); ``index`` is clipped into range and only
        meaningful where ``valid``.
    """
    docs = np.asarray(docs, dtype=object)
    n = len(docs)
    pos = np.arange(n) + offset
    valid = (pos >= 0) & (pos < n)
    index = np.clip(pos, 0, max(n - 1, 0))
    if n:
        valid &= docs[index] == docs
    return index, valid


class Featurizer:
    """Builds the feature matrix of a run configuration (see the module docstring).

    Parameters:
        config: The ``features`` section of the run configuration.
    """

    def __init__(self, config: FeaturesConfig):
        self.config = config
        self.word_ = None
        self.char_ = None

    @property
    def context(self) -> int:
        """How far (in segments) the features of one segment look to each side."""
        return max(self.config.context, self.config.context_window)

    @property
    def sparse(self) -> bool:
        return self.config.lexical

    def _vectorizers(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32)
        return word, char

    def fit(self, texts: Sequence[str]) -> Featurizer:
        """Learn the lexical vocabularies from the training texts (no-op without ``lexical``)."""
        if self.config.lexical:
            self.word_, self.char_ = self._vectorizers()
            texts = list(texts)
            try:
                self.word_.fit(texts)
                self.char_.fit(texts)
            except ValueError:
                # Too few texts for min_df=2: learn from what there is.
                self.word_.set_params(min_df=1).fit(texts)
                self.char_.set_params(min_df=1).fit(texts)
        return self

    def transform(self, embeddings: np.ndarray, texts: Sequence[str], docs: Sequence[str]):
        """Feature matrix of shape (n_segments, n_features).

        Args:
            embeddings: ndarray (or sparse matrix) of shape (n_segments, dim), segments
                in document order.
            texts: The segments' texts (for the lexical block).
            docs: The document of each segment (neighbours stay within a document).

        Returns:
            A CSR matrix when ``lexical`` is on, else a dense ndarray.
        """
        cfg = self.config
        if sp.issparse(embeddings):
            if not (cfg.lexical or self.context):
                return embeddings  # the tfidf embedder's sparse vectors go to the classifier as they are
            embeddings = embeddings.toarray()
        E = np.asarray(embeddings, dtype=np.float32)
        blocks: list[np.ndarray] = [E]
        if cfg.context or cfg.context_window:
            En = _l2(E) if cfg.lexical else E
            blocks = [En]
            for offset in [*range(-cfg.context, 0), *range(1, cfg.context + 1)]:
                index, valid = neighbour_index(docs, offset)
                blocks.append(cfg.context_weight * np.where(valid[:, None], En[index], 0.0))
            if cfg.context_window:
                for side in (-1, 1):
                    total = np.zeros_like(En)
                    count = np.zeros(len(En), dtype=np.float32)
                    for step in range(cfg.context + 1, cfg.context_window + 1):
                        index, valid = neighbour_index(docs, side * step)
                        total += np.where(valid[:, None], En[index], 0.0)
                        count += valid
                    mean = total / np.maximum(count, 1)[:, None]
                    blocks.append(cfg.context_weight * (_l2(mean) if cfg.lexical else mean))
        elif cfg.lexical:
            blocks = [_l2(E)]
        dense = np.hstack(blocks).astype(np.float32, copy=False)
        if not cfg.lexical:
            return dense
        if self.word_ is None:
            raise ModelError("the lexical features were never fitted; call fit() on the training texts first.")
        texts = list(texts)
        lexical = sp.hstack([self.word_.transform(texts), self.char_.transform(texts)]).tocsr()
        norm = np.sqrt(np.asarray(lexical.multiply(lexical).sum(axis=1)).ravel())
        lexical = sp.diags(1.0 / np.where(norm > 0, norm, 1.0)) @ lexical
        return sp.hstack([lexical, _dense_csr(cfg.embedding_weight * dense)], format="csr", dtype=np.float32)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, arrays) to store in a model folder."""
        if not self.config.lexical or self.word_ is None:
            return {}, {}
        meta, arrays = {}, {}
        for name, vec in (("word", self.word_), ("char", self.char_)):
            meta[name] = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            arrays[f"{name}_idf"] = vec.idf_.astype(np.float64)
        return meta, arrays

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        if not self.config.lexical:
            return
        self.word_, self.char_ = self._vectorizers()
        for name, vec in (("word", self.word_), ("char", self.char_)):
            vocab, idf = meta.get(name), arrays.get(f"{name}_idf")
            if not isinstance(vocab, list) or idf is None or len(vocab) != len(idf):
                raise ModelError(f"the model's {name} TF-IDF vocabulary and weights do not match in size: the model is damaged. Train it again.")
            vec.vocabulary_ = {term: i for i, term in enumerate(vocab)}
            vec.idf_ = idf
