"""The words and phrases that weigh most for each code: what a model with word features
(``features.lexical``) reads in a segment, for the results overview's "why" section.

A model of one configuration has one feature block; a joint model (:mod:`pipeline.learn.joint`)
has one block per member configuration side by side, and the members with word features
(the fast and hybrid candidates of the selection) each have a vocabulary of their own.
"""

from __future__ import annotations

import numpy as np

from pipeline.learn.joint import JointFeaturizer, raw_weights


def _blocks(featurizer) -> tuple[list[tuple[object, int]], int | None]:
    """``(featurizer, first column)`` of each feature block, and the columns of all of
    them (None for a model of one block)."""
    if not isinstance(featurizer, JointFeaturizer):
        return [(featurizer, 0)], None
    out, at = [], 0
    for fz, k in zip(featurizer.featurizers, featurizer.embedder_of):
        out.append((fz, at))
        # A block's width is what it makes of one segment: its vocabularies plus the
        # embedding-derived columns, which depend on the member's embedder.
        width = fz.transform(np.zeros((1, int(featurizer.dims[k])), dtype=np.float32), ["x"], ["x"]).shape[1]
        at += int(width)
    return out, at


def lexical_terms(model, n: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Per leaf code the ``n`` words or phrases that weigh most for it.

    In each block with word features, the word 1–2-gram TF-IDF columns come first
    (:mod:`pipeline.learn.features`). The weight of a term is its coefficient (on the
    unstandardised feature) times its IDF: what one occurrence of the term adds to the
    code's decision before the segment's vector is length-normalised. (The bare
    coefficient favours frequent function words, whose IDF is small.) A term in the
    vocabularies of several members adds up over them, as their decisions add up in the
    joint model. Only positive weights are listed; empty for models without word features.
    """
    fz = model.featurizer
    if fz is None:
        return {}
    blocks, width = _blocks(fz)
    lexical = [(f, at) for f, at in blocks if f.config.lexical and f.word_ is not None]
    coef, _ = raw_weights(model.classifier)
    if not lexical or width not in (None, coef.shape[1]):
        return {}  # blocks that do not tile the weights: better no list than a wrong one
    totals: list[dict[str, float]] = [{} for _ in model.codes]
    for f, at in lexical:
        vocab = f.word_.vocabulary_
        words = np.empty(len(vocab), dtype=object)
        for term, i in vocab.items():
            words[i] = term
        weight = coef[:, at : at + len(words)] * np.asarray(f.word_.idf_)[None, :]
        for j in range(len(model.codes)):
            for i in np.flatnonzero(weight[j]):
                totals[j][words[i]] = totals[j].get(words[i], 0.0) + float(weight[j, i])
    out = {}
    for j, code in enumerate(model.codes):
        ranked = sorted(totals[j].items(), key=lambda kv: (-kv[1], kv[0]))
        out[code] = [(str(w), v) for w, v in ranked[:n] if v > 0]
    return out
