"""Cross-validated quality of a configuration on hand-coded data, and its scores.

The evaluation is nested and grouped by document: each outer fold trains the whole
procedure — embedder fitting, classifier, threshold choice by an inner CV — on the
other documents and codes the held-out ones, so no interview sits on both sides and no
threshold sees its test data. With fewer documents than folds (a spreadsheet of units
is one document) the folds are built over units, stratified by code
(:func:`pipeline.learn.classify.make_folds`).
"""

from __future__ import annotations

import numpy as np

from pipeline.core.codebook import Codebook
from pipeline.core.config import RunConfig
from pipeline.core.errors import CodingError
from pipeline.learn.classify import make_folds
from pipeline.learn.embed import make_embedder
from pipeline.learn.features import Featurizer, embed_segments
from pipeline.learn.fit import fit_classifier


def per_code_scores(Y: np.ndarray, P: np.ndarray, codes: tuple[str, ...]) -> dict:
    """Precision, recall, F1 and support per code, plus micro and macro F1.

    Args:
        Y, P: bool arrays of shape (n_segments, n_codes): truth and prediction.

    Returns:
        ``{"per_code": {code: {...}}, "micro_f1": float, "macro_f1": float}``; the macro
        average runs over codes with at least one true segment.
    """
    Y = np.asarray(Y, dtype=bool)
    P = np.asarray(P, dtype=bool)
    tp = (Y & P).sum(axis=0)
    fp = (~Y & P).sum(axis=0)
    fn = (Y & ~P).sum(axis=0)
    per_code = {}
    for j, code in enumerate(codes):
        precision = tp[j] / (tp[j] + fp[j]) if tp[j] + fp[j] else 0.0
        recall = tp[j] / (tp[j] + fn[j]) if tp[j] + fn[j] else 0.0
        f1 = 2 * tp[j] / (2 * tp[j] + fp[j] + fn[j]) if tp[j] + fp[j] + fn[j] else 0.0
        per_code[code] = {
            "support": int(Y[:, j].sum()),
            "predicted": int(P[:, j].sum()),
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
        }
    supported = [row["f1"] for row in per_code.values() if row["support"]]
    denom = 2 * tp.sum() + fp.sum() + fn.sum()
    return {
        "per_code": per_code,
        "micro_f1": float(2 * tp.sum() / denom) if denom else 0.0,
        "macro_f1": float(np.mean(supported)) if supported else 0.0,
    }


def parent_matrix(M: np.ndarray, codebook: Codebook) -> tuple[np.ndarray, tuple[str, ...]]:
    """Parent-level labels from leaf labels: a parent is present when any child is."""
    leaves = codebook.leaf_ids
    parents = codebook.parent_ids
    out = np.zeros((M.shape[0], len(parents)), dtype=bool)
    for j, leaf in enumerate(leaves):
        for parent in codebook.ancestors(leaf):
            out[:, parents.index(parent)] |= M[:, j].astype(bool)
    return out, parents


def shared_embeddings(data, config: RunConfig):
    """Embeddings of all segments, computed once when the embedder does not learn."""
    if make_embedder(config.embedder, cache=False).trainable:
        return None
    return embed_segments(make_embedder(config.embedder), data.all_segments, context=Featurizer(config.features).context)


def fit_predict(data, config: RunConfig, train_idx: np.ndarray, test_idx: np.ndarray, shared) -> np.ndarray:
    """Train on ``train_idx`` of ``data`` and predict ``test_idx``: bool (n_test, n_codes)."""
    _, _, model, X = fit_classifier(config, data, train_idx, embedded=shared)
    return model.predict(X[test_idx]).astype(bool)


def cross_validate(data, *, config: RunConfig) -> dict:
    """Nested cross-validation of ``config`` on a training set, grouped by document
    where there are enough documents (:func:`pipeline.learn.classify.make_folds`).

    Args:
        data: A :class:`pipeline.learn.fit.TrainingSet`.

    Returns:
        A dict with ``folds``, ``fold_rule`` (how they were formed, in words),
        ``fold_note`` (a line for the user, "" when grouped by document), ``segments``,
        leaf ``per_code``/``micro_f1``/``macro_f1`` and the same at parent level under
        ``parent_*``; ``accuracy`` (the share of segments whose code, or no code, is the
        hand code's) where at most one code is assigned. With several coders
        (``data.combine``) these score against the combined codes, and ``per_coder`` holds
        the same figures against each coder's own codes on the segments that coder coded.
    """
    pred, made = cross_validated_predictions(data, config=config)
    return cv_figures(data, pred, made, single=config.classifier.labels != "multi")


def cv_figures(data, pred: np.ndarray, made, *, single: bool) -> dict:
    """The figures of :func:`cross_validate` from out-of-fold predictions, however they
    were made (one configuration, or a configuration chosen in each fold).

    Args:
        data: A :class:`pipeline.learn.fit.TrainingSet`.
        pred: bool ndarray of shape (n_segments, n_codes), the out-of-fold predictions.
        made: The :class:`pipeline.learn.classify.Folds` they were made in.
        single: Whether at most one code is assigned per segment (``classifier.labels``
            ``single`` or ``exclusive``; then ``accuracy`` too).
    """
    result = {"folds": len(made.splits), "fold_rule": made.describe(), "fold_note": made.note, "segments": len(data.segments)}
    result.update(scores_with_parents(data.Y, pred, data.codebook))
    if single:  # one code (or none) per segment: right or wrong as a whole
        result["accuracy"] = float((pred == data.Y).all(axis=1).mean())
    result.update(coder_scores(data, pred))
    return result


def coder_scores(data, pred: np.ndarray) -> dict:
    """With several coders (``data.combine``): ``combine`` and ``per_coder``, the figures of
    predictions ``pred`` (bool, shape (n_segments, n_codes)) against each coder's own codes
    on the segments that coder coded; ``{}`` for one coder."""
    if not data.combine:
        return {}
    per_coder = {coder: {"segments": len(idx), **scores_with_parents(Y, pred[idx], data.codebook)} for coder, (idx, Y) in data.by_coder.items()}
    return {"combine": data.combine, "per_coder": per_coder}


def cross_validated_predictions(data, *, config: RunConfig):
    """Out-of-fold predictions of the nested cross-validation (folds of :func:`make_folds`).

    Returns:
        (pred, folds): bool ndarray of shape (n_segments, n_codes) and the
        :class:`pipeline.learn.classify.Folds` used.
    """
    made = make_folds(data.groups, data.Y, config.training.cv_folds, seed=config.training.seed)
    folds = made.splits
    if not folds:
        raise CodingError(f"cross-validation needs at least two coded segments; found {len(data.segments)}. Code more segments.")
    pred = np.zeros_like(data.Y, dtype=bool)
    shared = shared_embeddings(data, config)
    for train_idx, test_idx in folds:
        pred[test_idx] = fit_predict(data, config, train_idx, test_idx, shared)
    return pred, made


def scores_with_parents(Y: np.ndarray, pred: np.ndarray, codebook: Codebook) -> dict:
    """:func:`per_code_scores` of the leaf codes, and the same under ``parent_*`` for the
    parent codes (when the code system has any)."""
    result = per_code_scores(Y, pred, codebook.leaf_ids)
    if codebook.parent_ids:
        Yp, parents = parent_matrix(Y, codebook)
        Pp, _ = parent_matrix(pred, codebook)
        parent = per_code_scores(Yp, Pp, parents)
        result["parent_per_code"] = parent["per_code"]
        result["parent_micro_f1"] = parent["micro_f1"]
        result["parent_macro_f1"] = parent["macro_f1"]
    return result
