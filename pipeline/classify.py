"""The multi-label classifier: one logistic regression per code, per-code thresholds.

A segment can carry several codes or none. Each code gets its own probability; a code is
assigned where its probability reaches the code's threshold, chosen by document-grouped
cross-validation to maximise that code's F1. Parent codes follow from their children.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.utils.validation import check_is_fitted

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


class MultiLabelLogReg(ClassifierMixin, BaseEstimator):
    """One binary logistic regression per column of the label matrix.

    Dense features are standardised (learned mean and scale); sparse features are used
    as they are. Columns without a positive (or without a negative) example get a
    constant model that always predicts that single value.

    Parameters:
        C: Inverse regularisation strength.
        class_weight: ``"balanced"`` or ``"none"``.
        seed: Random seed of the solver.

    Attributes:
        coef_: ndarray of shape (n_codes, n_features).
        intercept_: ndarray of shape (n_codes,).
        mean_, scale_: ndarray of shape (n_features,) (zeros/ones for sparse input).
        thresholds_: ndarray of shape (n_codes,), 0.5 until tuned.
    """

    def __init__(self, C: float = 1.0, class_weight: str = "balanced", seed: int = 0):
        self.C = C
        self.class_weight = class_weight
        self.seed = seed

    def fit(self, X, Y):
        """Fit on features X of shape (n_samples, n_features) and a 0/1 label matrix Y of
        shape (n_samples, n_codes)."""
        Y = np.asarray(Y, dtype=bool)
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise ValueError(f"Y must have shape (n_samples, n_codes) with n_samples={X.shape[0]}, found {Y.shape}")
        n_features = X.shape[1]
        if sp.issparse(X):
            self.mean_ = np.zeros(n_features)
            self.scale_ = np.ones(n_features)
        else:
            X = np.asarray(X, dtype=np.float64)
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        Xs = self._standardise(X)
        self.coef_ = np.zeros((Y.shape[1], n_features))
        self.intercept_ = np.zeros(Y.shape[1])
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.all() or not y.any():
                # A code never (or always) seen: a constant logit far from the boundary.
                self.intercept_[j] = 12.0 if y.all() else -12.0
                continue
            lr = LogisticRegression(
                C=self.C,
                class_weight="balanced" if self.class_weight == "balanced" else None,
                max_iter=3000,
                solver="liblinear",  # 3x faster than lbfgs on a few thousand dense rows
                random_state=self.seed,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                lr.fit(Xs, y)
            self.coef_[j] = lr.coef_[0]
            self.intercept_[j] = lr.intercept_[0]
        self.thresholds_ = np.full(Y.shape[1], 0.5)
        return self

    def _standardise(self, X):
        if sp.issparse(X):
            return X
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        if X.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, the model expects {self.coef_.shape[1]}")
        Z = self._standardise(X) @ self.coef_.T
        return np.asarray(Z) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of shape (n_samples, n_codes), each code independent."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -50, 50)))

    def predict(self, X) -> np.ndarray:
        """0/1 matrix of shape (n_samples, n_codes) at the per-code thresholds."""
        return (self.predict_proba(X) >= self.thresholds_).astype(int)


def best_thresholds(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Per code, the threshold on the grid 0.05–0.95 that maximises F1.

    Args:
        Y: True labels, shape (n_samples, n_codes).
        P: Out-of-fold probabilities, same shape.

    Returns:
        ndarray of shape (n_codes,); 0.5 for codes without positive examples. Among equal
        F1 the threshold in the middle of the best plateau is taken (more robust than
        its edge).
    """
    Y = np.asarray(Y, dtype=bool)
    out = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if not y.any():
            continue
        pred = P[:, j][None, :] >= THRESHOLD_GRID[:, None]  # (n_grid, n_samples)
        tp = (pred & y).sum(axis=1)
        fp = (pred & ~y).sum(axis=1)
        fn = (~pred & y).sum(axis=1)
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        out[j] = THRESHOLD_GRID[best[len(best) // 2]]
    return out


def grouped_folds(groups: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Document-grouped folds: segments of one document never sit on both sides."""
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        return []
    return list(GroupKFold(n_splits=min(n_folds, n_groups)).split(np.zeros(len(groups)), groups=groups))


def fit_with_thresholds(X, Y, groups, *, C: float, class_weight: str, seed: int, cv_folds: int) -> MultiLabelLogReg:
    """Fit on all data; thresholds from out-of-fold probabilities of grouped CV."""
    Y = np.asarray(Y, dtype=bool)
    P = np.full(Y.shape, np.nan)
    folds = grouped_folds(groups, cv_folds)
    for train, test in folds:
        model = MultiLabelLogReg(C=C, class_weight=class_weight, seed=seed).fit(X[train], Y[train])
        P[test] = model.predict_proba(X[test])
    model = MultiLabelLogReg(C=C, class_weight=class_weight, seed=seed).fit(X, Y)
    if folds:
        model.thresholds_ = best_thresholds(Y, P)
    return model


def with_parents(codes: list[str], parent_of: dict[str, str]) -> list[str]:
    """The parent codes implied by leaf codes (sorted, each once)."""
    out = set()
    for code in codes:
        parent = parent_of.get(code, "")
        while parent:
            out.add(parent)
            parent = parent_of.get(parent, "")
    return sorted(out)
