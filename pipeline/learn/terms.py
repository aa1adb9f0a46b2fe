"""The words and phrases that weigh most for each code: what a model with word features
(``features.lexical``) reads in a segment, for the results overview's "why" section."""

from __future__ import annotations

import numpy as np


def raw_weights(clf) -> tuple[np.ndarray, np.ndarray]:
    """``(coef, intercept)`` of a fitted linear classifier on unstandardised features:
    its standardisation folded into the weights."""
    coef = np.asarray(clf.coef_, dtype=np.float64) / np.asarray(clf.scale_, dtype=np.float64)[None, :]
    intercept = np.asarray(clf.intercept_, dtype=np.float64) - coef @ np.asarray(clf.mean_, dtype=np.float64)
    return coef, intercept


def lexical_terms(model, n: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Per leaf code the ``n`` words or phrases that weigh most for it.

    The word 1–2-gram TF-IDF columns come first among the features
    (:mod:`pipeline.learn.features`). The weight of a term is its coefficient (on the
    unstandardised feature) times its IDF: what one occurrence of the term adds to the
    code's decision before the segment's vector is length-normalised. (The bare
    coefficient favours frequent function words, whose IDF is small.) Only positive
    weights are listed; empty for models without word features.
    """
    fz = model.featurizer
    if fz is None or not fz.config.lexical or fz.word_ is None:
        return {}
    vocab = fz.word_.vocabulary_
    words = np.empty(len(vocab), dtype=object)
    for term, i in vocab.items():
        words[i] = term
    coef, _ = raw_weights(model.classifier)
    weight = coef[:, : len(words)] * np.asarray(fz.word_.idf_)[None, :]
    out = {}
    for j, code in enumerate(model.codes):
        ranked = sorted(((words[i], float(weight[j, i])) for i in np.flatnonzero(weight[j] > 0)), key=lambda kv: (-kv[1], kv[0]))
        out[code] = [(str(w), v) for w, v in ranked[:n]]
    return out
