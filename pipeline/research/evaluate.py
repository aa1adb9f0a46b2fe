"""How quality grows with the number of hand-coded segments: the learning curve.

Each point trains the nested, document-grouped cross-validation of
:mod:`pipeline.learn.cv` on a share of every outer fold's training segments and tests on
the whole held-out documents.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.config import RunConfig
from pipeline.core.errors import CodingError
from pipeline.learn.classify import make_folds
from pipeline.learn.cv import _fit_predict, _shared_embeddings, per_code_scores


def learning_curve(data, *, config: RunConfig, fractions: tuple[float, ...] = (0.125, 0.25, 0.5, 0.75, 1.0)) -> list[dict]:
    """Quality against the number of coded segments: for each fraction, every outer fold
    is trained on that share of its training documents' segments (drawn with the
    configured seed) and tested on the whole held-out documents.

    Returns:
        One dict per fraction: ``fraction``, ``train_segments`` (mean over folds),
        ``micro_f1``, ``macro_f1`` (pooled over folds), ``per_code_f1`` (``{code: F1}``).
    """
    folds = make_folds(data.groups, data.Y, config.training.cv_folds, seed=config.training.seed).splits
    if not folds:
        raise CodingError("a learning curve needs at least two coded segments.")
    shared = _shared_embeddings(data, config)
    rng = np.random.default_rng(config.training.seed)
    orders = [rng.permutation(train_idx) for train_idx, _ in folds]
    out = []
    for fraction in fractions:
        pred = np.zeros_like(data.Y, dtype=bool)
        sizes = []
        for (train_idx, test_idx), order in zip(folds, orders):
            n = max(2, int(round(fraction * len(train_idx))))
            subset = np.sort(order[:n])
            sizes.append(len(subset))
            pred[test_idx] = _fit_predict(data, config, subset, test_idx, shared)
        scores = per_code_scores(data.Y, pred, data.codebook.leaf_ids)
        out.append({"fraction": fraction, "train_segments": int(np.mean(sizes)), "micro_f1": scores["micro_f1"], "macro_f1": scores["macro_f1"],
                    "per_code_f1": {code: r["f1"] for code, r in scores["per_code"].items()}})
    return out
