"""A model made of several trained configurations ("members"), one linear model over all.

Configuration selection (:mod:`pipeline.learn.select`) may take one code's probabilities from
one configuration and another code's from another. Each member keeps its own embedder
and featurizer; members that embed with the same embedder share it (embedded once).
The classifier stays one :class:`pipeline.classify.MultiLabelLogReg` over the members'
feature blocks side by side: code j's row holds its member's weights in that member's
block and zeros elsewhere, with the member's standardisation folded into the weights
(``w · (x − m) / s + b = (w / s) · x + (b − w · m / s)``). So classify, suggest and the
model files need nothing new beyond reading the members.

Layout: ``JointEmbedder.encode`` returns the distinct embedders' vectors side by side;
``JointFeaturizer.transform`` cuts each member's embedding out of them and puts the
members' feature blocks side by side, in member order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from pipeline.core.errors import ModelError
from pipeline.learn.classify import make_classifier
from pipeline.learn.embed import Embedder, make_embedder
from pipeline.learn.features import Featurizer, dense_csr


class JointEmbedder(Embedder):
    """Several embedders' vectors side by side, shape (n_texts, sum of their widths).

    Parameters:
        configs: The distinct embedders' configurations (``embedder`` sections), in order.
        embedders: The embedders made from them (default: made here, cached).
        dims: Width of each one's vectors (learned on the first ``encode`` when not given).
    """

    name = "joint"

    def __init__(self, configs: Sequence, embedders: Sequence[Embedder] | None = None, dims: Sequence[int] | None = None):
        self.configs = list(configs)
        self.embedders = list(embedders) if embedders is not None else [make_embedder(c) for c in self.configs]
        self.dims = list(dims) if dims is not None else None

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        return any(e.trainable for e in self.embedders)

    def fit(self, texts):
        for e in self.embedders:
            if e.trainable:
                e.fit(texts)
        return self

    def encode(self, texts: Sequence[str]):
        parts = [e.encode(list(texts)) for e in self.embedders]
        dims = [p.shape[1] for p in parts]
        if self.dims is None:
            self.dims = dims
        elif len(texts) and dims != self.dims:
            raise ModelError(f"the members' embedders give vectors of widths {dims}, the model expects {self.dims}: the model is damaged. Train it again.")
        if any(sp.issparse(p) for p in parts):
            return sp.hstack([p if sp.issparse(p) else sp.csr_matrix(p) for p in parts], format="csr", dtype=np.float32)
        return np.hstack([np.asarray(p, dtype=np.float32) for p in parts]) if parts else np.zeros((len(texts), 0), dtype=np.float32)

    def identity(self) -> dict:
        return {"name": self.name, "members": [e.identity() for e in self.embedders]}

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta, arrays = {"dims": self.dims, "members": []}, {}
        for i, e in enumerate(self.embedders):
            m, a = e.state()
            meta["members"].append(m)
            arrays.update({f"{i}_{k}": v for k, v in a.items()})
        return meta, arrays

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        states = meta.get("members") or [{}] * len(self.embedders)
        self.dims = meta.get("dims")
        for i, (e, m) in enumerate(zip(self.embedders, states)):
            e.load_state(m, {k[len(f"{i}_"):]: v for k, v in arrays.items() if k.startswith(f"{i}_")})

    def uncached(self) -> JointEmbedder:
        """The same embedders without the embedding cache (for speed measurements)."""
        return JointEmbedder(self.configs, [e if e.trainable else make_embedder(c, cache=False) for c, e in zip(self.configs, self.embedders)], self.dims)


class JointFeaturizer:
    """The feature blocks side by side (see the module docstring).

    Parameters:
        featurizers: One fitted :class:`pipeline.features.Featurizer` per block (members
            that differ only in C share one).
        embedder_of: Index into the joint embedder's embedders, per block.
        dims: Width of each embedder's vectors.
    """

    def __init__(self, featurizers: Sequence[Featurizer], embedder_of: Sequence[int], dims: Sequence[int]):
        self.featurizers = list(featurizers)
        self.embedder_of = list(embedder_of)
        self.dims = list(dims)
        self.config = self.featurizers[0].config  # what describes "the" features elsewhere
        self.word_ = None  # no single lexical block comes first (see overview.lexical_terms)

    @property
    def context(self) -> int:
        return max(f.context for f in self.featurizers)

    @property
    def centers(self) -> bool:
        return any(f.centers for f in self.featurizers)

    @property
    def sparse(self) -> bool:
        return any(f.sparse for f in self.featurizers)

    def _cut(self, k: int) -> slice:
        start = int(sum(self.dims[:k]))
        return slice(start, start + int(self.dims[k]))

    def transform(self, embeddings, texts, docs, *, groups=None, stats=None):
        blocks = []
        for fz, k in zip(self.featurizers, self.embedder_of):
            cut = self._cut(k)
            E = embeddings[:, cut]
            own = None if stats is None else {g: (np.asarray(s)[cut], n) for g, (s, n) in stats.items()}
            blocks.append(fz.transform(E, texts, docs, groups=groups, stats=own))
        if any(sp.issparse(b) for b in blocks):
            return sp.hstack([b if sp.issparse(b) else dense_csr(np.asarray(b)) for b in blocks], format="csr", dtype=np.float32)
        return np.hstack(blocks).astype(np.float32, copy=False)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta, arrays = {"members": []}, {}
        for i, fz in enumerate(self.featurizers):
            m, a = fz.state()
            meta["members"].append(m)
            arrays.update({f"{i}_{k}": v for k, v in a.items()})
        return meta, arrays

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        states = meta.get("members") or [{}] * len(self.featurizers)
        for i, (fz, m) in enumerate(zip(self.featurizers, states)):
            fz.load_state(m, {k[len(f"{i}_"):]: v for k, v in arrays.items() if k.startswith(f"{i}_")})


def raw_weights(clf) -> tuple[np.ndarray, np.ndarray]:
    """``(coef, intercept)`` of a fitted linear classifier on unstandardised features:
    its standardisation folded into the weights."""
    coef = np.asarray(clf.coef_, dtype=np.float64) / np.asarray(clf.scale_, dtype=np.float64)[None, :]
    intercept = np.asarray(clf.intercept_, dtype=np.float64) - coef @ np.asarray(clf.mean_, dtype=np.float64)
    return coef, intercept


def joint_classifier(classifiers: Sequence, block_of: Sequence[int], widths: Sequence[int], rows: Sequence[Sequence[tuple[int, float]]], thresholds: np.ndarray, *, classifier, seed: int):
    """One multi-label classifier over the feature blocks side by side.

    Members that share a featurizer (candidates differing only in C) share its block:
    the features are computed once.

    Args:
        classifiers: The members' fitted classifiers.
        block_of: The feature block each member reads.
        widths: Each block's number of features.
        rows: Per code, ``(member, weight)`` pairs: the code's logit is the weighted sum
            of those members' logits for the code (one pair of weight 1: that member's).
        thresholds: ndarray of shape (n_codes,).
        classifier: The ``classifier`` configuration section the joint model is read with:
            single-label gives a :class:`pipeline.learn.classify.SingleLabelLinear` (the
            arg-max of the rows' decision values), multi-label a
            :class:`pipeline.learn.classify.MultiLabelLogReg`.
    """
    n_codes = len(rows)
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    coef = np.zeros((n_codes, int(offsets[-1])))
    intercept = np.zeros(n_codes)
    raw = [raw_weights(c) for c in classifiers]
    for j, parts in enumerate(rows):
        for m, w in parts:
            b = block_of[m]
            coef[j, offsets[b] : offsets[b + 1]] += w * raw[m][0][j]
            intercept[j] += w * raw[m][1][j]
    out = make_classifier(classifier, seed=seed)
    out.coef_, out.intercept_ = coef, intercept
    out.mean_, out.scale_ = np.zeros(coef.shape[1]), np.ones(coef.shape[1])
    out.thresholds_ = np.asarray(thresholds, dtype=np.float64)
    return out
