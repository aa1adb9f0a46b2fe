"""From embeddings to the classifier's feature matrix: lexical TF-IDF, context, code system.

A segment is described by its own embedding, optionally by the exact words it uses
(word and character n-gram TF-IDF), optionally by the embeddings of the segments
around it in the same document: the neighbours one by one up to ``context`` places away,
and the mean of those further out up to ``context_window``, and optionally by its cosine
similarity to each code's prototype in the code system (``prototypes``). Neighbours never
cross a document boundary; a missing neighbour (document start or end) is a zero block.

With ``center`` the embeddings are first moved by a share of their document's mean
embedding (:func:`center`): what all segments of one document share — its register,
its speakers' way of talking, its topic at large — is partly taken out, so that what a
segment says stands out against it.

Feature layout (columns, in order)::

    [lexical TF-IDF | own embedding | neighbour -k … -1, +1 … +k | window before, after
     | prototype similarity per code]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from pipeline.core.config import FeaturesConfig
from pipeline.core.errors import ModelError
from pipeline.core.types import Segment


def code_texts(codebook) -> dict[str, list[str]]:
    """What the code system says about each leaf code, as texts: the name with the
    definition, then each anchor example (coding rules are left out: they mostly say when
    *not* to code). Codes without a definition or anchors get just their name."""
    out: dict[str, list[str]] = {}
    for code_id in codebook.leaf_ids:
        code = codebook.get(code_id)
        head = f"{code.name}: {code.definition}".strip() if code.definition else code.name
        out[code_id] = [t for t in (head, *code.anchors) if t.strip()]
    return out


def described(codebook) -> set[str]:
    """The leaf codes the code system describes (a definition or anchor examples): those
    whose texts are examples of the code, not just its name."""
    return {c for c in codebook.leaf_ids if codebook.get(c).definition or codebook.get(c).anchors}


def prototypes(embedder, codebook) -> np.ndarray:
    """Prototype of each leaf code: the L2-normalised mean of the L2-normalised embeddings
    of :func:`code_texts`. ndarray of shape (n_codes, dim), rows in ``codebook.leaf_ids``."""
    texts = code_texts(codebook)
    flat = [t for code in codebook.leaf_ids for t in texts[code]]
    E = embedder.encode(flat)
    E = _l2(np.asarray(E.toarray() if sp.issparse(E) else E, dtype=np.float32))
    out, i = [], 0
    for code in codebook.leaf_ids:
        n = len(texts[code])
        out.append(E[i : i + n].mean(axis=0))
        i += n
    return _l2(np.vstack(out))


def _l2(X: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm > 0, norm, 1.0)


def dense_csr(D: np.ndarray) -> sp.csr_matrix:
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


def embed_segments(embedder, segments: Sequence[Segment], *, context: int) -> np.ndarray:
    """Embeddings of shape (n_segments, dim); without context features only codable
    segments are embedded (the others get zero rows, which nothing reads)."""
    if context:
        return embedder.encode([s.text for s in segments])
    idx = [i for i, s in enumerate(segments) if s.codable]
    E = embedder.encode([segments[i].text for i in idx])
    if sp.issparse(E):
        # Row i of E goes to row idx[i]: a 0/1 placement matrix does it without a LIL detour.
        place = sp.csr_matrix((np.ones(len(idx), dtype=np.float32), (idx, np.arange(len(idx)))), shape=(len(segments), len(idx)))
        return (place @ E).tocsr()
    out = np.zeros((len(segments), E.shape[1]), dtype=np.float32)
    out[idx] = E
    return out


CENTER_PRIOR = 5
"""A document's mean is shrunk toward zero as if it had this many more segments with no
offset: a document of 5 embedded segments is moved by half the share, one of 95 by 95 %
of it. A short document's mean is mostly its own segments, not its register."""

DocStats = tuple[np.ndarray, int]
"""Sum of a document's embedded rows and their number (see :func:`document_stats`)."""


def _group_sums(E: np.ndarray, groups: Sequence[str]):
    """The distinct groups in order of appearance, each row's position among them, which
    rows are embedded (not all zero), and each group's sum and number of embedded rows."""
    position: dict[str, int] = {}
    index = np.fromiter((position.setdefault(g, len(position)) for g in groups), dtype=np.int64, count=len(E))
    embedded = np.any(E != 0, axis=1)
    sums = np.zeros((len(position), E.shape[1]), dtype=np.float64)
    np.add.at(sums, index[embedded], E[embedded])
    counts = np.bincount(index[embedded], minlength=len(position))
    return list(position), index, embedded, sums, counts


def document_stats(embeddings: np.ndarray, groups: Sequence[str]) -> dict[str, DocStats]:
    """Sum and number of the embedded rows of each group (document).

    Rows of zeros are segments that were not embedded (not codable, no context
    features read them) and are left out.
    """
    names, _, _, sums, counts = _group_sums(np.asarray(embeddings, dtype=np.float32), groups)
    return {g: (sums[i], int(counts[i])) for i, g in enumerate(names)}


def center(embeddings: np.ndarray, groups: Sequence[str], share: float, stats: dict[str, DocStats] | None = None) -> np.ndarray:
    """Each embedded row minus ``share`` of its group's shrunk mean, L2-normalised again.

    Args:
        embeddings: ndarray of shape (n, dim); rows of zeros stay zero.
        groups: The group (document) of each row.
        share: How much of the mean to subtract (0: nothing, 1: all of it).
        stats: Sums and counts of whole documents computed beforehand (a document coded
            in chunks is centered on its whole mean, not a chunk's); groups missing from
            it use the rows given here.

    The mean of a group of ``n`` rows is shrunk by ``n / (n + CENTER_PRIOR)``.
    """
    E = np.array(embeddings, dtype=np.float32)
    if not share or not len(E):
        return E
    names, index, embedded, sums, counts = _group_sums(E, groups)
    for i, g in enumerate(names):
        if stats and g in stats:
            sums[i], counts[i] = stats[g]
    E -= (share * sums / (counts + CENTER_PRIOR)[:, None])[index].astype(np.float32)
    return np.where(embedded[:, None], _l2(E), 0.0).astype(np.float32)


class Featurizer:
    """Builds the feature matrix of a run configuration (see the module docstring).

    Parameters:
        config: The ``features`` section of the run configuration.
    """

    def __init__(self, config: FeaturesConfig):
        self.config = config
        self.word_ = None
        self.char_ = None
        self.prototypes_: np.ndarray | None = None

    @property
    def context(self) -> int:
        """How far (in segments) the features of one segment look to each side."""
        return max(self.config.context, self.config.context_window)

    @property
    def sparse(self) -> bool:
        return self.config.lexical

    @property
    def centers(self) -> bool:
        """Whether a segment's features depend on its whole document's mean embedding."""
        return bool(self.config.center)

    def _vectorizers(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32)
        return word, char

    def fit(self, texts: Sequence[str], *, prototypes: np.ndarray | None = None) -> Featurizer:
        """Learn the lexical vocabularies from the training texts (no-op without ``lexical``).

        Args:
            prototypes: ndarray of shape (n_codes, dim), the code prototypes (see
                :func:`prototypes`); needed when ``config.prototypes`` is on.
        """
        if self.config.prototypes:
            if prototypes is None:
                raise ModelError("features.prototypes is on, but no code prototypes were given to fit().")
            self.prototypes_ = np.asarray(prototypes, dtype=np.float32)
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

    def transform(
        self,
        embeddings: np.ndarray,
        texts: Sequence[str],
        docs: Sequence[str],
        *,
        groups: Sequence[str] | None = None,
        stats: dict[str, DocStats] | None = None,
    ):
        """Feature matrix of shape (n_segments, n_features).

        Args:
            embeddings: ndarray (or sparse matrix) of shape (n_segments, dim), segments
                in document order.
            texts: The segments' texts (for the lexical block).
            docs: The document of each segment (neighbours stay within a document).
            groups: What ``center`` takes the mean over (default: ``docs``).
            stats: Whole documents' sums and counts for ``center`` (see :func:`center`).

        Returns:
            A CSR matrix when ``lexical`` is on, else a dense ndarray.
        """
        cfg = self.config
        if sp.issparse(embeddings):
            if not (cfg.lexical or self.context or cfg.prototypes):
                return embeddings  # the tfidf embedder's sparse vectors go to the classifier as they are
            embeddings = embeddings.toarray()
        E = np.asarray(embeddings, dtype=np.float32)
        if cfg.center:
            E = center(E, docs if groups is None else groups, cfg.center, stats)
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
        if cfg.prototypes:
            if self.prototypes_ is None:
                raise ModelError("the code prototypes were never fitted; call fit() with prototypes first.")
            blocks.append(cfg.prototypes * (_l2(E) @ self.prototypes_.T))
        dense = np.hstack(blocks).astype(np.float32, copy=False)
        if not cfg.lexical:
            return dense
        if self.word_ is None:
            raise ModelError("the lexical features were never fitted; call fit() on the training texts first.")
        texts = list(texts)
        lexical = sp.hstack([self.word_.transform(texts), self.char_.transform(texts)]).tocsr()
        norm = np.sqrt(np.asarray(lexical.multiply(lexical).sum(axis=1)).ravel())
        lexical = sp.diags(1.0 / np.where(norm > 0, norm, 1.0)) @ lexical
        return sp.hstack([lexical, dense_csr(cfg.embedding_weight * dense)], format="csr", dtype=np.float32)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, arrays) to store in a model folder."""
        meta, arrays = {}, {}
        if self.config.prototypes and self.prototypes_ is not None:
            arrays["prototypes"] = self.prototypes_
        if not self.config.lexical or self.word_ is None:
            return meta, arrays
        for name, vec in (("word", self.word_), ("char", self.char_)):
            meta[name] = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            arrays[f"{name}_idf"] = vec.idf_.astype(np.float64)
        return meta, arrays

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        if self.config.prototypes:
            if "prototypes" not in arrays:
                raise ModelError("the model's configuration uses code prototypes, but its weights hold none: the model is damaged. Train it again.")
            self.prototypes_ = np.asarray(arrays["prototypes"], dtype=np.float32)
        if not self.config.lexical:
            return
        self.word_, self.char_ = self._vectorizers()
        for name, vec in (("word", self.word_), ("char", self.char_)):
            vocab, idf = meta.get(name), arrays.get(f"{name}_idf")
            if not isinstance(vocab, list) or idf is None or len(vocab) != len(idf):
                raise ModelError(f"the model's {name} TF-IDF vocabulary and weights do not match in size: the model is damaged. Train it again.")
            vec.vocabulary_ = {term: i for i, term in enumerate(vocab)}
            vec.idf_ = idf
