"""Inter-coder agreement coefficients, for any number of coders, missing values allowed.

Everything here is a small pure function on NumPy arrays. Ratings are an integer matrix
``codes`` of shape ``(n_units, n_coders)``: ``codes[i, g]`` is the index of the category
coder ``g`` gave unit ``i``, ``-1`` where the coder did not rate the unit. The category
set (and so ``n_categories``) comes from the caller -- for a code system, from the
codebook -- never from the data, so that a category nobody used still counts.

This module holds the coefficients on raw data for any number of coders: percent
agreement, Fleiss' κ, Conger's κ, Brennan–Prediger (free-marginal) κ, Gwet's AC1 (AC2
with weights) and Krippendorff's α. Beside it: :mod:`pipeline.agreement.ratings` (the
ratings, weights and :class:`Estimate` they share), :mod:`pipeline.agreement.two_coders`
(Cohen's κ, Scott's π and the others from a two-coder contingency table),
:mod:`pipeline.agreement.bootstrap` (the bootstrap interval of α) and
:mod:`pipeline.agreement.registry` (:data:`COEFFICIENTS`, :func:`agreement_summary`).

Point estimates, standard errors and confidence intervals follow Gwet (2014) and his
irrCAC package: chance-corrected coefficients ``(pa - pe) / (1 - pe)`` with a weight
matrix (identity = unweighted), standard errors by linearisation, intervals from the t
distribution with ``n - 1`` degrees of freedom, capped at 1. Krippendorff's α for the
nominal, ordinal, interval and ratio metrics is the same formula with weights
``1 - δ²/max δ²`` built from Krippendorff's difference functions (Krippendorff 2011);
the algebra is identical to the coincidence-matrix form, and it is vectorised over units
so that 10 coders × 100,000 units take well under a second.

References
----------
Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and
    alternatives. Educational and Psychological Measurement, 41, 687–699.
Cohen, J. (1960). A coefficient of agreement for nominal scales. EPM, 20, 37–46.
Conger, A. J. (1980). Integration and generalization of kappas for multiple raters.
    Psychological Bulletin, 88, 322–328.
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin, 76, 378–382.
Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of
    kappa and weighted kappa. Psychological Bulletin, 72, 323–327.
Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence
    of high agreement. BJMSP, 61, 29–48.
Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.
Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard reliability
    measure for coding data. Communication Methods and Measures, 1, 77–89.
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School
    for Communication, University of Pennsylvania.
Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale coding.
    Public Opinion Quarterly, 19, 321–325.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.agreement.ratings import (
    LEVELS,
    Estimate,
    category_counts,
    check_ratings,
    implied_categories,
    safe_ratio,
    weights_for,
)
from pipeline.core.errors import InputError

# --------------------------------------------------------------------------- raw-data coefficients


@dataclass(frozen=True)
class _Raw:
    """Shared pieces of Gwet's raw-data formulas (units with no rating dropped)."""

    counts: np.ndarray  # (n, q) raters per unit and category
    weighted: np.ndarray  # (n, q) r*_ik = sum_l w_kl r_il
    r: np.ndarray  # (n,) ratings per unit
    pairable: np.ndarray  # (n,) bool, r >= 2
    pa_i: np.ndarray  # (n,) per-unit agreement, 0 where unpairable
    pa: float
    pi: np.ndarray  # (q,) mean per-unit category proportions
    w: np.ndarray  # (q, q)

    @property
    def n(self) -> int:
        return len(self.r)

    @property
    def n2(self) -> int:
        return int(self.pairable.sum())


def _raw(codes: np.ndarray, q: int, w: np.ndarray) -> _Raw:
    counts = category_counts(codes, q)
    r = counts.sum(axis=1)
    keep = r > 0
    counts, r = counts[keep], r[keep]
    weighted = counts @ w.T
    pairable = r >= 2
    per_unit = (counts * (weighted - 1)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pa_i = np.where(pairable, per_unit / np.where(pairable, r * (r - 1), 1), 0.0)
    pa = float(pa_i.sum() / pairable.sum())
    pi = (counts / r[:, None]).mean(axis=0)
    return _Raw(counts, weighted, r, pairable, pa_i, pa, pi, w)


def _linearised(name: str, raw: _Raw, value: float, pe: float, pe_i: np.ndarray | None, confidence: float) -> Estimate:
    """Gwet's linearisation variance shared by the κ family on raw data."""
    n, n2 = raw.n, raw.n2
    se = math.nan
    if n >= 2 and np.isfinite(value):
        c_i = (n / n2) * (raw.pa_i - pe * raw.pairable) / (1 - pe)
        if pe_i is not None:
            c_i = c_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
        se = math.sqrt(float(((c_i - value) ** 2).sum()) / (n * (n - 1)))
    return Estimate(name, value, raw.pa, pe, se, n, n - 1, confidence=confidence)


def percent_agreement(
    codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
    values: Sequence[float] | None = None, confidence: float = 0.95,
) -> Estimate:
    """Percent agreement among any number of coders (Gwet's definition).

    The share of agreeing coder pairs per unit, averaged over the units that at least
    two coders rated.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
        Category indices, -1 for missing.
    n_categories : int, optional
        Size of the category set (default: largest index + 1).
    weights : str or ndarray of shape (q, q)
        Partial credit for near-agreement (see :func:`weight_matrix`).
    values : sequence of float, optional
        Numeric category values for named weights (default ``1..q``).

    >>> percent_agreement(np.array([[0, 0], [1, 1], [0, 1], [1, 1]])).value
    0.75
    """
    codes, q = check_ratings(codes, implied_categories(codes, n_categories, weights, values))
    w = weights_for(weights, values, q)
    raw = _raw(codes, q, w)
    n, n2 = raw.n, raw.n2
    se = math.nan
    if n >= 2:
        c_i = (n / n2) * raw.pa_i
        se = math.sqrt(float(((c_i - raw.pa) ** 2).sum()) / (n * (n - 1)))
    return Estimate("percent_agreement", raw.pa, raw.pa, 0.0, se, n, n - 1, confidence=confidence)


def fleiss_kappa(
    codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
    values: Sequence[float] | None = None, confidence: float = 0.95,
) -> Estimate:
    """Fleiss' (1971) κ for any number of coders, generalised to missing values and weights.

    Chance agreement from the pooled category distribution: ``pe = Σ w_kl π_k π_l``
    (Gwet 2014, ch. 2). ``se0`` is Fleiss' (1971) standard error under no agreement,
    given for unweighted, complete data (every unit rated the same number of times).

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    n_categories, weights, values : see :func:`percent_agreement`.

    Examples
    --------
    Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses give κ = 0.430.
    """
    codes, q = check_ratings(codes, implied_categories(codes, n_categories, weights, values))
    w = weights_for(weights, values, q)
    raw = _raw(codes, q, w)
    pe = float(raw.pi @ w @ raw.pi)
    value = safe_ratio(raw.pa - pe, 1 - pe)
    pi_w = (w + w.T) / 2 @ raw.pi
    pe_i = raw.counts @ pi_w / raw.r
    est = _linearised("fleiss_kappa", raw, value, pe, pe_i, confidence)
    se0 = math.nan
    m = raw.r
    if np.allclose(w, np.eye(q)) and (m == m[0]).all() and m[0] >= 2:
        p = raw.counts.sum(axis=0) / raw.counts.sum()
        pq = p * (1 - p)
        s = pq.sum()
        if s > 0:
            se0 = math.sqrt(2 / (raw.n * m[0] * (m[0] - 1))) * math.sqrt(s**2 - (pq * (1 - 2 * p)).sum()) / s
    return Estimate(est.coefficient, est.value, est.pa, est.pe, est.se, est.n_units, est.df, se0, confidence)


def gwet_ac1(
    codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
    values: Sequence[float] | None = None, confidence: float = 0.95,
) -> Estimate:
    """Gwet's (2008) AC1, and AC2 when ``weights`` are given, for any number of coders.

    Chance agreement ``pe = T_w / (q (q - 1)) · Σ π_k (1 - π_k)`` with ``T_w`` the sum
    of the weights; it stays small when one category dominates, which is why AC1 does
    not collapse on rare codes the way κ does.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    n_categories, weights, values : see :func:`percent_agreement`.
    """
    codes, q = check_ratings(codes, implied_categories(codes, n_categories, weights, values))
    w = weights_for(weights, values, q)
    raw = _raw(codes, q, w)
    if q < 2:
        return Estimate("gwet_ac1", raw.pa, raw.pa, 0.0, math.nan, raw.n, raw.n - 1, confidence=confidence)
    factor = w.sum() / (q * (q - 1))
    pe = float(factor * (raw.pi * (1 - raw.pi)).sum())
    value = safe_ratio(raw.pa - pe, 1 - pe)
    pe_i = factor * (raw.counts @ (1 - raw.pi)) / raw.r
    return _linearised("gwet_ac1", raw, value, pe, pe_i, confidence)


def brennan_prediger(
    codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
    values: Sequence[float] | None = None, confidence: float = 0.95,
) -> Estimate:
    """Brennan & Prediger's (1981) free-marginal κ: chance agreement ``T_w / q²``.

    For two coders this is what MAXQDA reports as "kappa (Brennan & Prediger)"; for
    several coders it is Randolph's free-marginal multirater κ. It depends on the number
    of categories offered, so ``n_categories`` must be the size of the code system.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    n_categories, weights, values : see :func:`percent_agreement`.
    """
    codes, q = check_ratings(codes, implied_categories(codes, n_categories, weights, values))
    w = weights_for(weights, values, q)
    raw = _raw(codes, q, w)
    pe = float(w.sum() / q**2)
    value = safe_ratio(raw.pa - pe, 1 - pe)
    return _linearised("brennan_prediger", raw, value, pe, None, confidence)


def conger_kappa(
    codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
    values: Sequence[float] | None = None, confidence: float = 0.95,
) -> Estimate:
    """Conger's (1980) κ: Cohen's κ generalised to any number of coders.

    Chance agreement from each coder's own category distribution ``p_gk``:
    ``pe = Σ w_kl (p̄_k p̄_l - s²_kl / r)``, with ``s²_kl`` the covariance of the
    coders' distributions. Equals Cohen's κ for two coders and complete data. Coders who
    rated nothing are left out.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    n_categories, weights, values : see :func:`percent_agreement`.
    """
    codes, q = check_ratings(codes, implied_categories(codes, n_categories, weights, values))
    codes = codes[:, (codes >= 0).any(axis=0)]
    codes, q = check_ratings(codes, q)
    codes = codes[(codes >= 0).any(axis=1)]
    w = weights_for(weights, values, q)
    raw = _raw(codes, q, w)
    n, r = codes.shape
    onehot = (codes[:, :, None] == np.arange(q)[None, None, :]).astype(float)  # (n, r, q)
    rated = (codes >= 0).astype(float)  # (n, r)
    n_g = rated.sum(axis=0)  # (r,)
    p_gk = onehot.sum(axis=0) / n_g[:, None]  # (r, q)
    p_mean = p_gk.mean(axis=0)
    s2 = (p_gk.T @ p_gk - r * np.outer(p_mean, p_mean)) / (r - 1)
    pe = float((w * (np.outer(p_mean, p_mean) - s2 / r)).sum())
    value = safe_ratio(raw.pa - pe, 1 - pe)
    # Gwet (2014, sec. 5.4): per-unit contribution of chance agreement.
    w_delta = onehot @ w.T  # (n, r, q): sum_l w_kl delta_igl
    w_p = p_gk @ w.T  # (r, q)
    lam_k = (n / n_g)[None, :, None] * (w_delta - (rated - n_g[None, :] / n)[:, :, None] * w_p[None, :, :])
    lam = (lam_k * (r * p_mean[None, None, :] - p_gk[None, :, :])).sum(axis=2)
    pe_i = lam.sum(axis=1) / (r * (r - 1))
    return _linearised("conger_kappa", raw, value, pe, pe_i, confidence)


def alpha_weights(level: str, values: np.ndarray, marginals: np.ndarray) -> np.ndarray:
    """``1 - δ²/max δ²`` for Krippendorff's difference function of ``level``."""
    q = len(values)
    if level == "nominal" or q < 2:
        return np.eye(q)
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(marginals)])
        lo = np.minimum.outer(np.arange(q), np.arange(q))
        hi = np.maximum.outer(np.arange(q), np.arange(q))
        d = (cum[hi + 1] - cum[lo] - (marginals[:, None] + marginals[None, :]) / 2) ** 2
    elif level == "interval":
        d = (values[:, None] - values[None, :]) ** 2
    elif level == "ratio":
        total = values[:, None] + values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(total == 0, 0.0, ((values[:, None] - values[None, :]) / np.where(total == 0, 1, total)) ** 2)
    else:
        raise InputError(f"Unknown level of measurement {level!r}; expected one of {', '.join(LEVELS)}.")
    top = d.max()
    return np.ones((q, q)) if top == 0 else 1 - d / top


def krippendorff_alpha(
    codes: np.ndarray, *, n_categories: int | None = None, level: str = "nominal",
    values: Sequence[float] | None = None, weights: str | np.ndarray | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Krippendorff's α for any number of coders, missing values allowed.

    ``α = 1 - D_o / D_e`` over the pairable values (units rated at least twice),
    computed in Gwet's (2014, ch. 4) equivalent form ``(pa - pe) / (1 - pe)`` with
    ``pa = (1 - ε) pa' + ε``, ``ε = 1 / n_pairable_values``, which needs one pass over a
    units × categories count matrix (O(n_units · q²)).

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    n_categories : int, optional
    level : {"nominal", "ordinal", "interval", "ratio"}
        Krippendorff's difference function δ². Ordinal uses the marginal frequencies
        of the pairable values (Krippendorff 2011), and so differs from Gwet's
        "ordinal" weights.
    values : sequence of float, optional
        Numeric value of each category for interval and ratio data (default ``1..q``).
    weights : str or ndarray, optional
        Gwet's agreement weights instead of ``level`` (``1 - δ²`` scaled to [0, 1]).

    Examples
    --------
    Krippendorff (2011), 4 coders × 12 units with missing values:

    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    ...         [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    >>> from pipeline.agreement.ratings import encode_ratings
    >>> codes, cats = encode_ratings(list(zip(*data)))
    >>> round(krippendorff_alpha(codes).value, 3)
    0.743
    >>> round(krippendorff_alpha(codes, level="interval", values=cats).value, 3)
    0.849
    """
    q_hint = n_categories if n_categories is not None else (len(values) if values is not None else None)
    if q_hint is None and weights is not None and not isinstance(weights, str):
        q_hint = np.asarray(weights).shape[0]
    codes, q = check_ratings(codes, q_hint)
    counts = category_counts(codes, q)
    r = counts.sum(axis=1)
    counts, r = counts[r >= 2], r[r >= 2]
    x = np.arange(1, q + 1, dtype=float) if values is None else np.asarray(values, dtype=float)
    w = alpha_weights(level, x, counts.sum(axis=0)) if weights is None else weights_for(weights, values, q)
    n = len(r)
    r_mean = r.mean()
    eps = 1 / r.sum()
    weighted = counts @ w.T
    per_unit = (counts * (weighted - 1)).sum(axis=1)
    pa_prime = float((per_unit / (r_mean * (r - 1))).sum() / n)
    pa = (1 - eps) * pa_prime + eps
    pi = counts.sum(axis=0) / (n * r_mean)
    pe = float(pi @ w @ pi)
    value = safe_ratio(pa - pe, 1 - pe)
    se = math.nan
    if n >= 2 and np.isfinite(value):
        alpha_prime = (pa_prime - pe) / (1 - pe)
        pa_i = per_unit / (r_mean * (r - 1)) - pa_prime * (r - r_mean) / r_mean
        a_i = (pa_i - pe) / (1 - pe)
        pi_w = (w + w.T) / 2 @ pi
        pe_i = counts @ pi_w / r_mean - pe * (r - r_mean) / r_mean
        a_i = a_i - 2 * (1 - alpha_prime) * (pe_i - pe) / (1 - pe)
        se = math.sqrt(float(((a_i - alpha_prime) ** 2).sum()) / (n * (n - 1)))
    # df from the pairable units the variance is computed over (irrCAC's R code uses all
    # rated units; its Python port, whose tests we reproduce, the pairable ones).
    return Estimate("krippendorff_alpha", value, pa, pe, se, n, max(n - 1, 1), confidence=confidence)
