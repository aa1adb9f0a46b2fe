"""Cross-validated quality of a configuration on hand-coded data.

The evaluation is nested and grouped by document: each outer fold trains the whole
procedure — embedder fitting, classifier, threshold choice by an inner grouped CV — on
the other documents and codes the held-out ones, so no interview sits on both sides and
no threshold sees its test data.
"""

from __future__ import annotations

import numpy as np

from pipeline.classify import fit_with_thresholds, grouped_folds
from pipeline.codebook import Codebook
from pipeline.config import RunConfig
from pipeline.embed import make_embedder
from pipeline.errors import CodingError


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


def cross_validate(data, *, config: RunConfig) -> dict:
    """Nested, document-grouped cross-validation of ``config`` on a training set.

    Args:
        data: A :class:`pipeline.train.TrainingSet`.

    Returns:
        A dict with ``folds``, ``segments``, leaf ``per_code``/``micro_f1``/``macro_f1``
        and the same at parent level under ``parent_*``.
    """
    folds = grouped_folds(data.groups, config.training.cv_folds)
    if not folds:
        raise CodingError(
            "cross-validation needs hand codes from at least two documents (folds are grouped by "
            f"document); found {len(set(data.groups))}. Add coded documents."
        )
    texts = data.texts
    shared = None
    if not make_embedder(config.embedder, cache=False).trainable:
        shared = make_embedder(config.embedder).encode(texts)
    pred = np.zeros_like(data.Y, dtype=bool)
    for train_idx, test_idx in folds:
        if shared is not None:
            X_train, X_test = shared[train_idx], shared[test_idx]
        else:
            embedder = make_embedder(config.embedder).fit([texts[i] for i in train_idx])
            X_train = embedder.encode([texts[i] for i in train_idx])
            X_test = embedder.encode([texts[i] for i in test_idx])
        model = fit_with_thresholds(
            X_train,
            data.Y[train_idx],
            data.groups[train_idx],
            C=config.classifier.C,
            class_weight=config.classifier.class_weight,
            seed=config.training.seed,
            cv_folds=config.training.cv_folds,
        )
        pred[test_idx] = model.predict(X_test).astype(bool)
    result = {"folds": len(folds), "segments": int(len(texts))}
    result.update(per_code_scores(data.Y, pred, data.codebook.leaf_ids))
    if data.codebook.parent_ids:
        Yp, parents = parent_matrix(data.Y, data.codebook)
        Pp, _ = parent_matrix(pred, data.codebook)
        parent = per_code_scores(Yp, Pp, parents)
        result["parent_per_code"] = parent["per_code"]
        result["parent_micro_f1"] = parent["micro_f1"]
        result["parent_macro_f1"] = parent["macro_f1"]
    return result
