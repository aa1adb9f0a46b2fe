"""The classifiers: multi-label (one logistic regression per code, per-code thresholds),
single-label and one code or none (one linear model over all codes).

A segment can carry several codes or none. Each code gets its own probability; a code is
assigned where its probability reaches the code's threshold, chosen by document-grouped
cross-validation to maximise that code's F1 (optionally shrunk toward one common
threshold). Parent codes follow from their children.

The two classifiers are not scikit-learn estimators: they take a label *matrix* Y of
shape (n_samples, n_codes) whose columns come from the code system, which scikit-learn's
classifier contract (a 1-d y, ``classes_`` learned from the data) does not describe, so
they do not inherit its base classes and ``check_estimator`` does not apply. They keep
its conventions: ``__init__`` stores parameters only, ``fit`` returns self, learned state
ends in ``_``, predicting before ``fit`` raises ``NotFittedError``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def _fit_scaling(estimator, X):
    """Learn ``mean_``/``scale_`` on ``estimator`` (identity for sparse X); return X as
    float64 when dense."""
    if sp.issparse(X):
        estimator.mean_, estimator.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
        return X
    X = np.asarray(X, dtype=np.float64)
    estimator.mean_ = X.mean(axis=0)
    scale = X.std(axis=0)
    estimator.scale_ = np.where(scale > 1e-12, scale, 1.0)
    return X


class MultiLabelLogReg:
    """One binary logistic regression per column of the label matrix.

    Dense features are standardised (learned mean and scale); sparse features are used
    as they are. Columns without a positive (or without a negative) example get a
    constant model that always predicts that single value.

    Parameters:
        C: Inverse regularisation strength.
        class_weight: ``"balanced"``, ``"sqrt"`` or ``"none"`` (see :func:`class_weights`),
            for each code's two classes (coded / not coded).
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

    def fit(self, X, Y, sample_weight=None):
        """Fit on features X of shape (n_samples, n_features) and a 0/1 label matrix Y of
        shape (n_samples, n_codes); ``sample_weight`` of shape (n_samples,) or None."""
        Y = np.asarray(Y, dtype=bool)
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise ValueError(f"Y must have shape (n_samples, n_codes) with n_samples={X.shape[0]}, found {Y.shape}")
        n_features = X.shape[1]
        X = _fit_scaling(self, X)
        Xs = self._standardise(X)
        self.coef_ = np.zeros((Y.shape[1], n_features))
        self.intercept_ = np.zeros(Y.shape[1])
        # Wide sparse features (the lexical block): liblinear's dual solver reaches the same
        # optimum 3-4x faster (GermEval, 3,244 x 65,569: 2.6 s against 11.3 s per code, the
        # weights equal to 1e-5), which keeps the shipped configuration's training quick.
        dual = sp.issparse(Xs) and Xs.shape[1] > Xs.shape[0]
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.all() or not y.any():
                # A code never (or always) seen: a constant logit far from the boundary.
                self.intercept_[j] = 12.0 if y.all() else -12.0
                continue
            y = y.astype(int)
            weights = class_weights(np.bincount(y, minlength=2), self.class_weight)
            lr = LogisticRegression(
                C=self.C,
                class_weight={0: weights[0], 1: weights[1]},
                max_iter=3000,
                solver="liblinear",  # 3x faster than lbfgs on a few thousand dense rows
                dual=dual,
                random_state=self.seed,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                lr.fit(Xs, y, sample_weight=sample_weight)
            self.coef_[j] = lr.coef_[0]
            self.intercept_[j] = lr.intercept_[0]
        self.thresholds_ = np.full(Y.shape[1], 0.5)
        return self

    def _standardise(self, X):
        if sp.issparse(X):
            return X
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"

    def decision_function(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() first.")
        if X.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, the model expects {self.coef_.shape[1]}")
        Z = self._standardise(X) @ self.coef_.T
        return np.asarray(Z) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of shape (n_samples, n_codes), each code independent."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -50, 50)))

    def predict(self, X) -> np.ndarray:
        """0/1 matrix of shape (n_samples, n_codes) at the per-code thresholds (:func:`decide`)."""
        return decide(self.predict_proba(X), self.thresholds_, "multi").astype(int)


def class_weights(counts: np.ndarray, how: str) -> np.ndarray:
    """Weight of each class's examples from its count.

    ``balanced`` gives every class the same total weight (n / (k · count)); ``sqrt`` the
    square root of that, which lifts rare codes without letting a handful of examples
    outweigh the common ones; ``none`` ones.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    w = np.ones_like(counts)
    if how in ("balanced", "sqrt"):
        w[present] = counts[present].sum() / (present.sum() * counts[present])
        if how == "sqrt":
            w = np.sqrt(w)
    return w


class SingleLabelLinear:
    """At most one code per segment: a linear model over all codes, the best one wins.

    Single-label (``none=False``): every segment carries exactly one code, the arg-max.

    One code or none (``none=True``, ``classifier.labels: exclusive``): mutually exclusive
    codes where a segment may also carry none. The uncoded segments are one more class,
    "no code", learned beside the codes; its weights are then folded into the codes'
    (row j becomes ``w_j - w_none``, its intercept ``b_j - b_none``), so the model keeps
    the arrays of every other model. A segment gets the arg-max code where its folded
    decision value is above 0 (the code beats "no code"), else no code: exactly the
    decision of the model with the explicit class.

    Parameters:
        name: ``svm`` (LinearSVC, one-vs-rest squared hinge) or ``logreg`` (multinomial
            logistic regression).
        C: Inverse regularisation strength.
        class_weight: ``balanced``, ``sqrt`` or ``none`` (see :func:`class_weights`); with
            ``none=True`` "no code" is one of the classes weighed.
        seed: Random seed of the solver.
        none: Whether a segment may carry no code (see above).

    Attributes:
        coef_: ndarray of shape (n_codes, n_features); codes without training examples
            have zero weights and a very low intercept, so they are never chosen.
        intercept_: ndarray of shape (n_codes,).
        mean_, scale_: ndarray of shape (n_features,), as in :class:`MultiLabelLogReg`.
        thresholds_: ndarray of shape (n_codes,), zeros (the arg-max decides, not a threshold).
    """

    def __init__(self, name: str = "svm", C: float = 0.5, class_weight: str = "sqrt", seed: int = 0, none: bool = False):
        self.name = name
        self.C = C
        self.class_weight = class_weight
        self.seed = seed
        self.none = none

    def fit(self, X, Y, sample_weight=None):
        """Fit on features X of shape (n_samples, n_features) and a 0/1 label matrix Y of
        shape (n_samples, n_codes) with exactly one 1 per row (at most one with
        ``none=True``); ``sample_weight`` of shape (n_samples,) or None."""
        from sklearn.svm import LinearSVC

        Y = np.asarray(Y, dtype=bool)
        per_row = Y.sum(axis=1) if Y.ndim == 2 else np.zeros(0)
        bad = (per_row > 1) | ((per_row == 0) & (not self.none))
        if Y.ndim != 2 or Y.shape[0] != X.shape[0] or bad.any():
            if self.none:
                raise ValueError(f"one-code-or-none training needs at most one code per segment; {int(bad.sum())} segment(s) have several")
            raise ValueError(f"single-label training needs exactly one code per segment; {int(bad.sum())} segment(s) have none or several")
        k = Y.shape[1]
        # "no code" is class k (only with none=True, where rows without a code exist)
        y = np.where(per_row == 1, Y.argmax(axis=1), k)
        n_classes = k + 1 if self.none else k
        n_features = X.shape[1]
        X = _fit_scaling(self, X)
        Xs = self._standardise(X)
        weights = class_weights(np.bincount(y, minlength=n_classes), self.class_weight)
        seen = np.unique(y)
        coef = np.zeros((n_classes, n_features))
        intercept = np.full(n_classes, -1e3)
        self.thresholds_ = np.zeros(k)
        if len(seen) == 1:
            intercept[seen[0]] = 0.0
        else:
            cw = {int(c): float(weights[c]) for c in seen}
            if self.name == "svm":
                # tol 1e-3 (scikit-learn's default is 1e-4): on the Manifesto benchmark the same
                # accuracy and macro-F1 to three decimals in a fraction of the solver's time.
                est = LinearSVC(C=self.C, class_weight=cw, tol=1e-3, random_state=self.seed)
            else:
                # Wide sparse features (the lexical block): newton-cg comes closer to the optimum
                # than lbfgs, 6x faster (GermEval, 3,244 x 65,182, four classes: 1.1 s against
                # 6.2 s; decision values 0.025 from a tol-1e-8 fit against 0.053).
                wide = sp.issparse(Xs) and Xs.shape[1] > Xs.shape[0]
                est = LogisticRegression(C=self.C, class_weight=cw, max_iter=2000, solver="newton-cg" if wide else "lbfgs", random_state=self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(Xs, y, sample_weight=sample_weight)
            if len(seen) > 2:
                coef[seen], intercept[seen] = est.coef_, est.intercept_
            elif self.none:
                # The first class as reference (zero): the softmax of (0, z) is the binary
                # model's own probability, so the folded logreg stays calibrated.
                coef[seen], intercept[seen] = np.vstack([np.zeros(n_features), est.coef_[0]]), np.array([0.0, est.intercept_[0]])
            else:
                coef[seen], intercept[seen] = np.vstack([-est.coef_[0], est.coef_[0]]), np.array([-est.intercept_[0], est.intercept_[0]])
        if self.none:
            coef, intercept = coef[:k] - coef[k], intercept[:k] - intercept[k]
            unseen = np.setdiff1d(np.arange(k), seen)
            coef[unseen], intercept[unseen] = 0.0, -1e3  # never chosen, not even over "no code"
        self.coef_, self.intercept_ = coef, intercept
        return self

    _standardise = MultiLabelLogReg._standardise
    __repr__ = MultiLabelLogReg.__repr__
    decision_function = MultiLabelLogReg.decision_function

    def predict_proba(self, X) -> np.ndarray:
        """Scores of shape (n_samples, n_codes): the softmax of the decision values (a
        ranking of the codes, calibrated only for ``logreg``). They sum to 1 per row; with
        ``none=True`` the softmax includes "no code" (decision value 0), whose share
        ``1 - sum`` the row leaves out."""
        Z = self.decision_function(X)
        if self.none:
            top = np.maximum(Z.max(axis=1, keepdims=True), 0.0)
            P = np.exp(Z - top)
            return P / (P.sum(axis=1, keepdims=True) + np.exp(-top))
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """0/1 matrix of shape (n_samples, n_codes) with one 1 per row (with ``none=True``
        at most one: none where no folded decision value is above 0), by :func:`decide`."""
        return decide(self.predict_proba(X), self.thresholds_, "exclusive" if self.none else "single").astype(int)


def make_classifier(config, *, seed: int = 0):
    """The classifier named by a ``classifier`` configuration section (unfitted)."""
    if config.labels in ("single", "exclusive"):
        return SingleLabelLinear(name=config.name, C=config.C, class_weight=config.class_weight, seed=seed, none=config.labels == "exclusive")
    return MultiLabelLogReg(C=config.C, class_weight=config.class_weight, seed=seed)


def decide(P: np.ndarray, thresholds: np.ndarray, labels: str) -> np.ndarray:
    """The codes of each segment from the classifier's scores (the rule of every output).

    Args:
        P: ndarray of shape (n_samples, n_codes), ``predict_proba`` of the classifier.
        thresholds: ndarray of shape (n_codes,) (read only for ``multi``).
        labels: ``multi`` (every code whose probability reaches its threshold),
            ``single`` (the arg-max) or ``exclusive`` (the arg-max where it beats "no
            code", whose share of the softmax is what the row leaves of 1; see
            :class:`SingleLabelLinear`).

    Returns:
        bool ndarray of shape (n_samples, n_codes).
    """
    P = np.asarray(P, dtype=np.float64)
    if labels == "multi":
        return P >= np.asarray(thresholds)
    out = np.zeros(P.shape, dtype=bool)
    if not P.size:
        return out
    rows, best = np.arange(len(P)), P.argmax(axis=1)
    out[rows, best] = True if labels == "single" else P[rows, best] > 1.0 - P.sum(axis=1)
    return out


THRESHOLD_MEASURES = ("f1", "both_classes")


def threshold_curve(y: np.ndarray, p: np.ndarray, measure: str = "f1") -> np.ndarray:
    """The measure of one code at every threshold of :data:`THRESHOLD_GRID`.

    Args:
        y: bool ndarray of shape (n_samples,), the truth.
        p: ndarray of shape (n_samples,), the code's probabilities.
        measure: ``f1`` (F1 of the code) or ``both_classes`` (mean of the F1 of the
            coded and of the not-coded segments, as GermEval scores a label).

    Returns:
        ndarray of shape (len(THRESHOLD_GRID),).
    """
    y = np.asarray(y, dtype=bool)
    pred = p[None, :] >= THRESHOLD_GRID[:, None]  # (n_grid, n_samples)
    tp = (pred & y).sum(axis=1)
    fp = (pred & ~y).sum(axis=1)
    fn = (~pred & y).sum(axis=1)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    if measure == "f1":
        return f1
    tn = len(y) - tp - fp - fn
    f0 = np.where(tn > 0, 2 * tn / np.maximum(2 * tn + fp + fn, 1), 0.0)
    return (f1 + f0) / 2


def best_thresholds(Y: np.ndarray, P: np.ndarray, measure: str = "f1") -> np.ndarray:
    """Per code, the threshold on the grid 0.05–0.95 that maximises ``measure`` (see
    :func:`threshold_curve`).

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
        f1 = threshold_curve(y, P[:, j], measure)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        out[j] = THRESHOLD_GRID[best[len(best) // 2]]
    return out


def common_threshold(Y: np.ndarray, P: np.ndarray) -> float:
    """The one threshold on the grid that maximises micro-F1 over all codes with a
    positive example (0.5 when none has). Y, P: shape (n_samples, n_codes)."""
    Y = np.asarray(Y, dtype=bool)
    keep = Y.any(axis=0)
    if not keep.any():
        return 0.5
    y, p = Y[:, keep].ravel(), P[:, keep].ravel()
    pred = p[None, :] >= THRESHOLD_GRID[:, None]
    tp = (pred & y).sum(axis=1)
    f1 = 2 * tp / np.maximum(pred.sum(axis=1) + y.sum(), 1)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(THRESHOLD_GRID[best[len(best) // 2]])


def shrunk_thresholds(Y: np.ndarray, P: np.ndarray, shrink: float, measure: str = "f1") -> np.ndarray:
    """Per-code thresholds pulled toward the common one: (1 − shrink) · t_code + shrink · t_common.

    A code without positive examples has no threshold of its own and gets the common
    one (for ``shrink`` > 0). ``shrink`` 0 gives :func:`best_thresholds`, 1 the common
    threshold for every code.

    Args:
        Y: True labels, shape (n_samples, n_codes).
        P: Out-of-fold probabilities, same shape.
    """
    own = best_thresholds(Y, P, measure)
    if not shrink:
        return own
    common = common_threshold(Y, P)
    own = np.where(np.asarray(Y, dtype=bool).any(axis=0), own, common)
    return np.round((1 - shrink) * own + shrink * common, 4)


@dataclass(frozen=True)
class Folds:
    """Cross-validation folds and how they were formed.

    Attributes:
        splits: ``(train_indices, test_indices)`` per fold.
        by: ``"document"`` (no document on both sides) or ``"unit"``.
        note: One line for the user when the folds are not grouped by document, or fewer
            than configured; else "".
    """

    splits: list[tuple[np.ndarray, np.ndarray]]
    by: str
    note: str = ""

    def describe(self) -> str:
        return f"{len(self.splits)} folds " + ("grouped by document" if self.by == "document" else "over units, stratified by code")


def make_folds(groups: np.ndarray, Y: np.ndarray, n_folds: int, *, seed: int = 0) -> Folds:
    """The folds of every cross-validation (threshold choice, ``evaluate``, learning curve).

    Grouped by document when there are at least three documents (one fold per document
    where there are fewer than ``n_folds``), so that segments of one interview never sit
    on both sides. With one or two documents (a single spreadsheet of units is one
    document) the folds are built over units instead, stratified by code:
    each unit by its rarest code in ``Y`` (or "none"), so that every code is spread over
    the folds.

    Args:
        groups: ndarray of shape (n_samples,), the document of each sample.
        Y: bool ndarray of shape (n_samples, n_codes).
        n_folds: The configured number of folds (``training.cv_folds``).

    Returns:
        :class:`Folds`; no splits when there are fewer than two samples.
    """
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups >= n_folds:
        return Folds(list(GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups)), "document")
    if n_groups >= 3:
        # A few interviews: fewer folds, still grouped, since segments of one interview on
        # both sides would flatter the figures and over-fit the thresholds. (With three
        # documents, each training fold still holds two for the inner threshold folds.)
        note = f"{n_groups} documents, fewer than the {n_folds} folds of training.cv_folds: {n_groups} folds grouped by document"
        return Folds(list(GroupKFold(n_splits=n_groups).split(np.zeros(len(groups)), groups=groups)), "document", note)
    k = min(n_folds, len(groups))
    note = (f"{n_groups} document{'s' if n_groups != 1 else ''}, too few to fold by document: "
            "folds are built over units (stratified by code), not grouped by document")
    if k < 2:
        return Folds([], "unit", note)
    Y = np.asarray(Y, dtype=bool)
    counts = Y.sum(axis=0)
    rarest = np.where(Y.any(axis=1), np.argmin(np.where(Y, counts, np.inf), axis=1), -1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # codes rarer than the number of folds
            splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(groups)), rarest))
    except ValueError:  # every code (and "none") rarer than the folds: nothing to stratify
        splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(groups))))
    return Folds(splits, "unit", note)


def fitter(X, Y, *, config, seed: int, extra=None, sample_weight=None):
    """``fit(rows)``: the configured classifier fitted on ``rows`` of X and Y, with the
    ``extra`` weighted examples (see :func:`fit_with_thresholds`) added to every fit and
    ``sample_weight`` (shape (n_rows,), or None) weighting the rows of X."""
    Y = np.asarray(Y, dtype=bool)

    def fit(rows):
        Xf, Yf = X[rows], Y[rows]
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[rows]
        if extra is not None:
            Xe, Ye, weight = extra
            Xf = sp.vstack([Xf, Xe], format="csr") if sp.issparse(Xf) else np.vstack([Xf, Xe])
            Yf = np.vstack([Yf, np.asarray(Ye, dtype=bool)])
            w = np.concatenate([np.ones(len(rows)) if w is None else w, np.full(Ye.shape[0], float(weight))])
        return make_classifier(config, seed=seed).fit(Xf, Yf, sample_weight=w)

    return fit


def out_of_fold(fit, X, n_codes: int, splits) -> np.ndarray:
    """Out-of-fold probabilities of shape (n_samples, n_codes): each fold's rows scored by
    ``fit(train_rows)`` (see :func:`fitter`); NaN where no fold scores a row."""
    P = np.full((X.shape[0], n_codes), np.nan)
    for train, test in splits:
        P[test] = fit(train).predict_proba(X[test])
    return P


def fit_with_thresholds(X, Y, groups, *, config, seed: int, cv_folds: int, shrink: float = 0.0, extra=None, measure: str = "f1",
                        sample_weight=None, per_fold=None):
    """Fit the configured classifier on all data.

    Multi-label: thresholds from out-of-fold probabilities of a cross-validation with
    the folds of :func:`make_folds` (grouped by document where there are enough).
    Where the features fit something on their training texts (a vocabulary and its IDF),
    ``per_fold`` gives each fold features fitted on that fold's training rows alone, so
    that no held-out row shapes the features its probability, and so its threshold, is
    computed from.
    The thresholds are shrunk toward a common one by ``shrink`` (:func:`shrunk_thresholds`)
    and maximise ``measure`` per code (:func:`threshold_curve`).
    Single-label and one-code-or-none need no thresholds (the best code wins), so they
    are fitted once.

    Args:
        config: The ``classifier`` section of the run configuration.
        extra: ``(X_extra, Y_extra, weight)``: weighted examples that belong to no
            document (the code system's texts): in the training part of every fold,
            never scored.
        sample_weight: ndarray of shape (n_rows,), the weight of each row of X as a
            training example (several coders' codes, see ``train --combine each``), or None.
        per_fold: ``per_fold(splits)`` -> per split ``(X_fold, extra_fold)``: X_fold of
            the shape of X with features fitted on that split's training rows (splits
            index the rows of X), and the ``extra`` examples in its feature layout. None:
            X and ``extra`` serve every fold (features that fit nothing on the rows).
    """
    Y = np.asarray(Y, dtype=bool)
    fit = fitter(X, Y, config=config, seed=seed, extra=extra, sample_weight=sample_weight)
    everything = np.arange(Y.shape[0])
    if config.labels != "multi":
        return fit(everything)
    folds = make_folds(groups, Y, cv_folds, seed=seed).splits
    if per_fold is None:
        P = out_of_fold(fit, X, Y.shape[1], folds)
    else:
        P = np.full(Y.shape, np.nan)
        for (train, test), (Xf, extra_f) in zip(folds, per_fold(folds)):
            P[test] = fitter(Xf, Y, config=config, seed=seed, extra=extra_f, sample_weight=sample_weight)(train).predict_proba(Xf[test])
    model = fit(everything)
    if folds:
        model.thresholds_ = shrunk_thresholds(Y, P, shrink, measure)
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
