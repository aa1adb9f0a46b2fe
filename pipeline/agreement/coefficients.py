"""Inter-coder agreement coefficients, for any number of coders, missing values allowed.

Everything here is a small pure function on NumPy arrays. Ratings are an integer matrix
``codes`` of shape ``(n_units, n_coders)``: ``codes[i, g]`` is the index of the category
coder ``g`` gave unit ``i``, ``-1`` where the coder did not rate the unit. The category
set (and so ``n_categories``) comes from the caller -- for a code system, from the
codebook -- never from the data, so that a category nobody used still counts.

Coefficients (see :data:`COEFFICIENTS`):

- percent agreement; Cohen's κ and Scott's π (two coders); Fleiss' κ; Conger's κ;
  Brennan–Prediger (free-marginal) κ; Gwet's AC1 (AC2 with weights); Krippendorff's α.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from pipeline.core.errors import InputError

MISSING = -1

#: Krippendorff's (2004, p. 241) thresholds: α ≥ .800 reliable, ≥ .667 tentative.
ALPHA_RELIABLE = 0.800
ALPHA_TENTATIVE = 0.667

#: Landis & Koch (1977) bands for κ-type coefficients: (lower bound, label).
LANDIS_KOCH = (
    (0.81, "almost perfect"),
    (0.61, "substantial"),
    (0.41, "moderate"),
    (0.21, "fair"),
    (0.00, "slight"),
    (-math.inf, "poor"),
)

LEVELS = ("nominal", "ordinal", "interval", "ratio")
WEIGHT_NAMES = (
    "identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar"
)


def landis_koch(value: float) -> str:
    """Landis & Koch (1977) label of a κ-type value, ``""`` for NaN.

    >>> landis_koch(0.65)
    'substantial'
    """
    if not np.isfinite(value):
        return ""
    return next(label for bound, label in LANDIS_KOCH if value >= bound)


def krippendorff_verdict(alpha: float) -> str:
    """Krippendorff's reading of α: "reliable", "tentative" or "unreliable"."""
    if not np.isfinite(alpha):
        return ""
    if alpha >= ALPHA_RELIABLE:
        return "reliable"
    return "tentative" if alpha >= ALPHA_TENTATIVE else "unreliable"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Estimate:
    """One agreement coefficient with its precision.

    Attributes:
        coefficient: Registry name, e.g. ``"fleiss_kappa"``.
        value: The coefficient; NaN where it is undefined (``pe == 1``: everybody used
            one and the same category).
        pa: Observed (weighted) agreement.
        pe: Agreement expected by chance under the coefficient's chance model.
        se: Standard error (Gwet's linearisation; Fleiss–Cohen–Everitt for Cohen's κ).
        n_units: Units the variance refers to.
        df: Degrees of freedom of the t interval.
        se0: Standard error under the null hypothesis of chance agreement, where the
            literature gives one (Cohen's κ, unweighted Fleiss' κ on complete data).
        confidence: Level of :attr:`ci`.
    """

    coefficient: str
    value: float
    pa: float
    pe: float
    se: float = math.nan
    n_units: int = 0
    df: int = 0
    se0: float = math.nan
    confidence: float = 0.95

    def interval(self, confidence: float | None = None, *, method: str = "t") -> tuple[float, float]:
        """Confidence interval ``value ± q·se``, clipped to [-1, 1].

        ``method="t"`` uses the t quantile with :attr:`df` degrees of freedom (Gwet,
        irrCAC); ``method="normal"`` the normal quantile (SAS, statsmodels).
        """
        level = self.confidence if confidence is None else confidence
        if not (np.isfinite(self.se) and np.isfinite(self.value)):
            return (math.nan, math.nan)
        if method == "t":
            quantile = stats.t.ppf(1 - (1 - level) / 2, max(self.df, 1))
        elif method == "normal":
            quantile = stats.norm.ppf(1 - (1 - level) / 2)
        else:
            raise ValueError(f"method must be 't' or 'normal', not {method!r}")
        return (max(-1.0, self.value - quantile * self.se), min(1.0, self.value + quantile * self.se))

    @property
    def ci(self) -> tuple[float, float]:
        return self.interval()

    @property
    def z0(self) -> float:
        """Test statistic ``value / se0`` against chance agreement."""
        return self.value / self.se0 if self.se0 > 0 else math.nan


# --------------------------------------------------------------------------- inputs


def encode_ratings(
    rows: Sequence[Sequence[object]], *, categories: Sequence[object] | None = None
) -> tuple[np.ndarray, tuple]:
    """Turn a units × coders table of raw values into category indices.

    Parameters
    ----------
    rows : sequence of sequences, shape (n_units, n_coders)
        Raw ratings; ``None``, ``""`` and NaN are missing.
    categories : sequence, optional
        The full category set in order. Default: the values found, sorted numerically
        when all are numbers, else as strings.

    Returns
    -------
    codes : ndarray of int, shape (n_units, n_coders)
        Category index, :data:`MISSING` (-1) where missing.
    categories : tuple
    """
    def missing(v: object) -> bool:
        return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))

    table = [list(r) for r in rows]
    widths = {len(r) for r in table}
    if len(widths) > 1:
        raise InputError(
            f"Ratings table: expected the same number of coders in every unit, found row "
            f"lengths {sorted(widths)}. Pad missing ratings with blanks."
        )
    found = {v for r in table for v in r if not missing(v)}
    if categories is None:
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in found):
            categories = tuple(sorted(found))
        else:
            found = {str(v).strip() for v in found}
            categories = tuple(sorted(found))
    categories = tuple(categories)
    index = {c: i for i, c in enumerate(categories)}
    if not all(isinstance(c, (int, float, np.integer, np.floating)) for c in categories):
        index.update({str(c).strip(): i for i, c in enumerate(categories)})
    n_coders = widths.pop() if widths else 0
    codes = np.full((len(table), n_coders), MISSING, dtype=np.int64)
    for i, row in enumerate(table):
        for g, v in enumerate(row):
            if missing(v):
                continue
            key = v if v in index else str(v).strip()
            if key not in index:
                raise InputError(
                    f"Unit {i + 1}, coder {g + 1}: value {v!r} is not among the categories "
                    f"{list(categories)}. Add it to the category list or correct the value."
                )
            codes[i, g] = index[key]
    return codes, categories


def codes_from_counts(counts: np.ndarray) -> np.ndarray:
    """Expand a units × categories count table into a codes matrix.

    ``counts[i, k]`` coders put unit ``i`` into category ``k``. Coder identity is lost,
    so the result suits every coefficient except Conger's κ and Cohen's κ.

    Returns
    -------
    codes : ndarray of int, shape (n_units, max_i sum_k counts[i, k])
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or (counts < 0).any() or not np.allclose(counts, np.round(counts)):
        raise InputError("Count table: expected a units × categories matrix of non-negative integers.")
    counts = np.round(counts).astype(np.int64)
    width = int(counts.sum(axis=1).max(initial=0))
    codes = np.full((counts.shape[0], width), MISSING, dtype=np.int64)
    for i, row in enumerate(counts):
        filled = np.repeat(np.arange(counts.shape[1]), row)
        codes[i, : len(filled)] = filled
    return codes


def codes_from_contingency(table: np.ndarray) -> np.ndarray:
    """Expand a two-coder q × q contingency table into a codes matrix of shape (n, 2)."""
    table = _check_table(table)
    rows, cols = np.indices(table.shape)
    reps = table.ravel().astype(np.int64)
    return np.column_stack([np.repeat(rows.ravel(), reps), np.repeat(cols.ravel(), reps)])


def contingency_table(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Cross-table of two coders over the units both rated, shape (q, q)."""
    codes = np.asarray(codes)
    both = (codes[:, 0] >= 0) & (codes[:, 1] >= 0)
    flat = codes[both, 0] * n_categories + codes[both, 1]
    return np.bincount(flat, minlength=n_categories**2).reshape(n_categories, n_categories)


def category_counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """How many coders put each unit into each category.

    Returns
    -------
    counts : ndarray of float, shape (n_units, n_categories)
    """
    codes = np.asarray(codes)
    n_units = codes.shape[0]
    rated = codes >= 0
    unit = np.broadcast_to(np.arange(n_units)[:, None], codes.shape)[rated]
    flat = unit * n_categories + codes[rated]
    return np.bincount(flat, minlength=n_units * n_categories).reshape(n_units, n_categories).astype(float)


def coincidence_matrix(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Krippendorff's coincidence matrix ``o[c, k]``, shape (q, q).

    Each pairable unit (≥ 2 values) contributes its ordered pairs of values from
    different coders, weighted ``1 / (m_u - 1)``; ``o.sum()`` is the number of
    pairable values.
    """
    counts = category_counts(codes, n_categories)
    m = counts.sum(axis=1)
    counts = counts[m >= 2]
    m = m[m >= 2]
    scaled = counts / (m - 1)[:, None]
    return scaled.T @ counts - np.diag(scaled.sum(axis=0))


def _check_codes(codes: np.ndarray, n_categories: int | None, *, min_coders: int = 2) -> tuple[np.ndarray, int]:
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise InputError(
            f"Ratings: expected a units × coders matrix, found an array with {codes.ndim} dimension(s)."
        )
    if not np.issubdtype(codes.dtype, np.integer):
        if codes.size and not np.array_equal(codes, np.round(codes)):
            raise InputError("Ratings: expected category indices (integers, -1 = missing); encode values with encode_ratings().")
        codes = codes.astype(np.int64)
    if codes.shape[1] < min_coders:
        raise InputError(
            f"Agreement needs at least {min_coders} coders; found {codes.shape[1]}. "
            "Give the codings of a second coder (or the model's output) for the same material."
        )
    if n_categories is None:
        n_categories = int(codes.max(initial=-1)) + 1
    if codes.size and (codes.max() >= n_categories or codes.min() < MISSING):
        raise InputError(
            f"Ratings: category indices must lie in 0..{n_categories - 1} (or -1 for missing); "
            f"found {int(codes.min())}..{int(codes.max())}."
        )
    if not ((codes >= 0).sum(axis=1) >= 2).any():
        raise InputError(
            f"No pairable unit: none of the {codes.shape[0]} units was rated by two or more coders, "
            "so agreement cannot be computed. Check that the coders coded the same material "
            "(same documents, same segment ids, overlapping spans)."
        )
    return codes, max(n_categories, 1)


def _check_table(table: np.ndarray) -> np.ndarray:
    table = np.asarray(table, dtype=float)
    if table.ndim != 2 or table.shape[0] != table.shape[1]:
        raise InputError(f"Contingency table: expected a square q × q matrix, found shape {table.shape}.")
    if (table < 0).any() or table.sum() <= 0:
        raise InputError("Contingency table: expected non-negative counts with at least one unit.")
    return table


# --------------------------------------------------------------------------- weights


def weight_matrix(name: str, values: Sequence[float] | int) -> np.ndarray:
    """Gwet's (2014, ch. 3) agreement weights, shape (q, q), 1 on the diagonal.

    Parameters
    ----------
    name : str
        One of ``identity, linear, quadratic, ordinal, radical, ratio, circular,
        bipolar``.
    values : sequence of float or int
        The numeric category values in order, or ``q`` for the values ``1..q``.

    >>> weight_matrix("linear", 3)
    array([[1. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 1. ]])
    """
    x = np.arange(1, values + 1, dtype=float) if isinstance(values, (int, np.integer)) else np.asarray(values, dtype=float)
    q = len(x)
    if name == "identity" or q < 2:
        return np.eye(q)
    diff = x[:, None] - x[None, :]
    lo, hi = x.min(), x.max()
    if name == "linear":
        return 1 - np.abs(diff) / (hi - lo)
    if name == "quadratic":
        return 1 - diff**2 / (hi - lo) ** 2
    if name == "radical":
        return 1 - np.sqrt(np.abs(diff)) / math.sqrt(hi - lo)
    if name == "ratio":
        total = x[:, None] + x[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(total == 0, 0.0, (diff / np.where(total == 0, 1, total)) ** 2)
        return 1 - d / ((hi - lo) / (hi + lo)) ** 2
    if name == "circular":
        d = np.sin(np.pi * diff / (hi - lo + 1)) ** 2
        return 1 - d / d.max()
    if name == "bipolar":
        total = x[:, None] + x[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = diff**2 / ((total - 2 * lo) * (2 * hi - total))
        d[np.eye(q, dtype=bool)] = 0.0
        return 1 - d / d.max()
    if name == "ordinal":
        rank = np.arange(q)
        span = np.abs(rank[:, None] - rank[None, :]) + 1
        d = span * (span - 1) / 2
        return 1 - d / d.max()
    raise InputError(f"Unknown weights {name!r}; expected one of {', '.join(WEIGHT_NAMES)} or a q × q matrix.")


def _weights(weights: str | np.ndarray, values: Sequence[float] | None, q: int) -> np.ndarray:
    if isinstance(weights, str):
        return weight_matrix(weights, q if values is None else values)
    w = np.asarray(weights, dtype=float)
    if w.shape != (q, q):
        raise InputError(f"Weights: expected a {q} × {q} matrix for {q} categories, found shape {w.shape}.")
    return w


def _n_categories(codes: np.ndarray, n_categories: int | None, weights, values) -> int | None:
    if n_categories is not None:
        return n_categories
    if not isinstance(weights, str):
        return np.asarray(weights).shape[0]
    if values is not None:
        return len(values)
    return None


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


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 1e-12 else math.nan


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
    codes, q = _check_codes(codes, _n_categories(codes, n_categories, weights, values))
    w = _weights(weights, values, q)
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
    codes, q = _check_codes(codes, _n_categories(codes, n_categories, weights, values))
    w = _weights(weights, values, q)
    raw = _raw(codes, q, w)
    pe = float(raw.pi @ w @ raw.pi)
    value = _ratio(raw.pa - pe, 1 - pe)
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
    codes, q = _check_codes(codes, _n_categories(codes, n_categories, weights, values))
    w = _weights(weights, values, q)
    raw = _raw(codes, q, w)
    if q < 2:
        return Estimate("gwet_ac1", raw.pa, raw.pa, 0.0, math.nan, raw.n, raw.n - 1, confidence=confidence)
    factor = w.sum() / (q * (q - 1))
    pe = float(factor * (raw.pi * (1 - raw.pi)).sum())
    value = _ratio(raw.pa - pe, 1 - pe)
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
    codes, q = _check_codes(codes, _n_categories(codes, n_categories, weights, values))
    w = _weights(weights, values, q)
    raw = _raw(codes, q, w)
    pe = float(w.sum() / q**2)
    value = _ratio(raw.pa - pe, 1 - pe)
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
    codes, q = _check_codes(codes, _n_categories(codes, n_categories, weights, values))
    codes = codes[:, (codes >= 0).any(axis=0)]
    codes, q = _check_codes(codes, q)
    codes = codes[(codes >= 0).any(axis=1)]
    w = _weights(weights, values, q)
    raw = _raw(codes, q, w)
    n, r = codes.shape
    onehot = (codes[:, :, None] == np.arange(q)[None, None, :]).astype(float)  # (n, r, q)
    rated = (codes >= 0).astype(float)  # (n, r)
    n_g = rated.sum(axis=0)  # (r,)
    p_gk = onehot.sum(axis=0) / n_g[:, None]  # (r, q)
    p_mean = p_gk.mean(axis=0)
    s2 = (p_gk.T @ p_gk - r * np.outer(p_mean, p_mean)) / (r - 1)
    pe = float((w * (np.outer(p_mean, p_mean) - s2 / r)).sum())
    value = _ratio(raw.pa - pe, 1 - pe)
    # Gwet (2014, sec. 5.4): per-unit contribution of chance agreement.
    w_delta = onehot @ w.T  # (n, r, q): sum_l w_kl delta_igl
    w_p = p_gk @ w.T  # (r, q)
    lam_k = (n / n_g)[None, :, None] * (w_delta - (rated - n_g[None, :] / n)[:, :, None] * w_p[None, :, :])
    lam = (lam_k * (r * p_mean[None, None, :] - p_gk[None, :, :])).sum(axis=2)
    pe_i = lam.sum(axis=1) / (r * (r - 1))
    return _linearised("conger_kappa", raw, value, pe, pe_i, confidence)


def _alpha_weights(level: str, values: np.ndarray, marginals: np.ndarray) -> np.ndarray:
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
    >>> codes, cats = encode_ratings(list(zip(*data)))
    >>> round(krippendorff_alpha(codes).value, 3)
    0.743
    >>> round(krippendorff_alpha(codes, level="interval", values=cats).value, 3)
    0.849
    """
    q_hint = n_categories if n_categories is not None else (len(values) if values is not None else None)
    if q_hint is None and weights is not None and not isinstance(weights, str):
        q_hint = np.asarray(weights).shape[0]
    codes, q = _check_codes(codes, q_hint)
    counts = category_counts(codes, q)
    r = counts.sum(axis=1)
    counts, r = counts[r >= 2], r[r >= 2]
    x = np.arange(1, q + 1, dtype=float) if values is None else np.asarray(values, dtype=float)
    w = _alpha_weights(level, x, counts.sum(axis=0)) if weights is None else _weights(weights, values, q)
    n = len(r)
    r_mean = r.mean()
    eps = 1 / r.sum()
    weighted = counts @ w.T
    per_unit = (counts * (weighted - 1)).sum(axis=1)
    pa_prime = float((per_unit / (r_mean * (r - 1))).sum() / n)
    pa = (1 - eps) * pa_prime + eps
    pi = counts.sum(axis=0) / (n * r_mean)
    pe = float(pi @ w @ pi)
    value = _ratio(pa - pe, 1 - pe)
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


# --------------------------------------------------------------------------- two coders


def _prepared(table: np.ndarray, weights, values) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Checked table, weight matrix, number of units and proportions, shape (q, q)."""
    table = _check_table(table)
    w = _weights(weights, values, table.shape[0])
    n = table.sum()
    return table, w, n, table / n


def _table_estimate(name: str, table: np.ndarray, w: np.ndarray, pa: float, pe: float, value: float,
                    sum1: float, centre: float, confidence: float, se0: float = math.nan) -> Estimate:
    n = float(table.sum())
    se = math.nan
    if np.isfinite(value):
        spread = sum1 - centre**2
        # A difference of two nearly equal sums is rounding noise, not variance (e.g. κ = 0
        # with every unit contributing the same): report 0, as statsmodels does.
        if abs(spread) <= 1e-12 * max(abs(sum1), centre**2, 1e-300):
            spread = 0.0
        se = math.sqrt(max(spread, 0.0) / (n * (1 - pe) ** 2))
    return Estimate(name, value, pa, pe, se, int(n), int(n) - 1, se0, confidence)


def cohen_kappa_table(table: np.ndarray, *, weights: str | np.ndarray = "identity",
                      values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
    """Cohen's (1960) κ, weighted κ with ``weights``, from a two-coder contingency table.

    Standard error: Fleiss, Cohen & Everitt (1969), as in SAS and irrCAC; ``se0`` is
    their standard error under independence.

    Parameters
    ----------
    table : ndarray, shape (q, q)
        ``table[k, l]`` units coder 1 put in category k and coder 2 in category l.
    weights : str or ndarray of shape (q, q)

    >>> t = np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]])   # Fleiss et al. (2003), table 18.10
    >>> round(cohen_kappa_table(t).value, 4)
    0.4842
    """
    table, w, n, p = _prepared(table, weights, values)
    q = table.shape[0]
    row, col = p.sum(axis=1), p.sum(axis=0)
    pa = float((w * p).sum())
    pe = float(row @ w @ col)
    value = _ratio(pa - pe, 1 - pe)
    w_row = w @ col  # w̄_k. = Σ_l w_kl p_.l
    w_col = w.T @ row  # w̄_.l = Σ_k w_kl p_k.
    sum1 = float((p * (w - (1 - value) * (w_row[:, None] + w_col[None, :])) ** 2).sum()) if np.isfinite(value) else math.nan
    null = float((np.outer(row, col) * (w - (w_row[:, None] + w_col[None, :])) ** 2).sum()) - pe**2
    se0 = math.sqrt(max(null, 0.0) / (n * (1 - pe) ** 2)) if pe < 1 else math.nan
    return _table_estimate("cohen_kappa", table, w, pa, pe, value, sum1, pa - 2 * (1 - value) * pe, confidence, se0)


def scott_pi_table(table: np.ndarray, *, weights: str | np.ndarray = "identity",
                   values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
    """Scott's (1955) π from a two-coder contingency table: chance from the pooled margins.

    Parameters
    ----------
    table : ndarray, shape (q, q)
    weights : str or ndarray of shape (q, q)
    """
    table, w, n, p = _prepared(table, weights, values)
    q = table.shape[0]
    row, col = p.sum(axis=1), p.sum(axis=0)
    pi = (row + col) / 2
    pa = float((w * p).sum())
    pe = float(pi @ w @ pi)
    value = _ratio(pa - pe, 1 - pe)
    w_bar = ((w @ col) + (w.T @ row)) / 2
    sum1 = float((p * (w - (1 - value) * (w_bar[:, None] + w_bar[None, :])) ** 2).sum()) if np.isfinite(value) else math.nan
    return _table_estimate("scott_pi", table, w, pa, pe, value, sum1, pa - 2 * (1 - value) * pe, confidence)


def gwet_ac1_table(table: np.ndarray, *, weights: str | np.ndarray = "identity",
                   values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
    """Gwet's AC1/AC2 from a two-coder contingency table (Gwet 2008, 2014)."""
    table, w, n, p = _prepared(table, weights, values)
    q = table.shape[0]
    pi = (p.sum(axis=1) + p.sum(axis=0)) / 2
    pa = float((w * p).sum())
    factor = w.sum() / (q * (q - 1)) if q > 1 else 0.0
    pe = float(factor * (pi * (1 - pi)).sum())
    value = _ratio(pa - pe, 1 - pe)
    term = 2 * (1 - value) * factor * (1 - (pi[:, None] + pi[None, :]) / 2)
    sum1 = float((p * (w - term) ** 2).sum())
    return _table_estimate("gwet_ac1", table, w, pa, pe, value, sum1, pa - 2 * (1 - value) * pe, confidence)


def brennan_prediger_table(table: np.ndarray, *, weights: str | np.ndarray = "identity",
                           values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
    """Brennan–Prediger κ from a two-coder contingency table."""
    table, w, _, p = _prepared(table, weights, values)
    q = table.shape[0]
    pa = float((w * p).sum())
    pe = float(w.sum() / q**2)
    value = _ratio(pa - pe, 1 - pe)
    return _table_estimate("brennan_prediger", table, w, pa, pe, value, float((p * w**2).sum()), pa, confidence)


def percent_agreement_table(table: np.ndarray, *, weights: str | np.ndarray = "identity",
                            values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
    """(Weighted) percent agreement from a two-coder contingency table."""
    table, w, n, p = _prepared(table, weights, values)
    pa = float((w * p).sum())
    se = math.sqrt(max(float((p * w**2).sum()) - pa**2, 0.0) / n)
    return Estimate("percent_agreement", pa, pa, 0.0, se, int(n), int(n) - 1, confidence=confidence)


def krippendorff_alpha_table(table: np.ndarray, *, weights: str | np.ndarray = "identity",
                             values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
    """Krippendorff's α for two coders without missing values, from a contingency table."""
    table, w, n, p = _prepared(table, weights, values)
    q = table.shape[0]
    row, col = p.sum(axis=1), p.sum(axis=0)
    eps = 1 / (2 * n)
    pa0 = float((w * p).sum())
    pa = (1 - eps) * pa0 + eps
    pi = (row + col) / 2
    pe = float(pi @ w @ pi)
    value = _ratio(pa - pe, 1 - pe)
    k0 = _ratio(pa0 - pe, 1 - pe)
    w_bar = ((w @ col) + (w.T @ row)) / 2
    sum1 = float((p * (w - (1 - k0) * (w_bar[:, None] + w_bar[None, :])) ** 2).sum()) if np.isfinite(k0) else math.nan
    est = _table_estimate("krippendorff_alpha", table, w, pa, pe, k0, sum1, pa0 - 2 * (1 - k0) * pe, confidence)
    return Estimate(est.coefficient, value, pa, pe, est.se, est.n_units, est.df, confidence=confidence)


def _two_coders(table_fn: Callable[..., Estimate]) -> Callable[..., Estimate]:
    def compute(codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
                values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
        codes, q = _check_codes(codes, _n_categories(codes, n_categories, weights, values))
        if codes.shape[1] != 2:
            raise InputError(
                f"{table_fn.__name__.removesuffix('_table')} compares exactly two coders; found {codes.shape[1]}. "
                "Use Conger's κ or Fleiss' κ for more coders, or compare the coders pair by pair."
            )
        table = contingency_table(codes, q)
        if table.sum() == 0:
            raise InputError("No pairable unit: the two coders never rated the same unit.")
        return table_fn(table, weights=weights, values=values, confidence=confidence)

    compute.__name__ = table_fn.__name__.removesuffix("_table")
    compute.__doc__ = (
        f"{(table_fn.__doc__ or '').splitlines()[0]}\n\nRaw-data form: ``codes`` of shape (n_units, 2); "
        "units that only one coder rated are left out."
    )
    return compute


cohen_kappa = _two_coders(cohen_kappa_table)
scott_pi = _two_coders(scott_pi_table)


# --------------------------------------------------------------------------- bootstrap for α


@dataclass(frozen=True)
class AlphaBootstrap:
    """Bootstrap distribution of Krippendorff's α over units.

    Attributes:
        alpha: α on the full data.
        ci: Percentile interval at ``confidence``.
        p_below: ``(minimum, P(α < minimum))`` for each minimum asked for
            (Hayes & Krippendorff 2007 report this as ``q``).
        n_boot: Number of resamples; ``level`` the metric used.
    """

    alpha: float
    ci: tuple[float, float]
    p_below: tuple[tuple[float, float], ...]
    n_boot: int
    confidence: float
    level: str
    samples: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.empty(0))


def bootstrap_alpha(
    codes: np.ndarray, *, n_categories: int | None = None, level: str = "nominal",
    values: Sequence[float] | None = None, n_boot: int = 1000, confidence: float = 0.95,
    minimums: Sequence[float] = (ALPHA_TENTATIVE, ALPHA_RELIABLE), seed: int = 0,
) -> AlphaBootstrap:
    """Bootstrap confidence interval for Krippendorff's α, resampling units.

    Units that two or more coders rated are drawn with replacement; α is recomputed
    from the resampled coincidence matrix. For nominal, interval and ratio data each
    unit's disagreement is a scalar, so a resample costs one weighted sum; for ordinal
    data the metric depends on the marginals and is rebuilt for every resample. Unlike
    Hayes & Krippendorff's (2007) resampling of pairs, this is the ordinary
    nonparametric bootstrap over the sampling units.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    level, values, n_categories : see :func:`krippendorff_alpha`.
    n_boot : int
        Number of resamples.
    minimums : sequence of float
        Report ``P(α < minimum)`` for each.
    seed : int
        Seed of the random generator (results are deterministic).

    Returns
    -------
    AlphaBootstrap
    """
    q_hint = n_categories if n_categories is not None else (len(values) if values is not None else None)
    codes, q = _check_codes(codes, q_hint)
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1, found {n_boot}.")
    alpha = krippendorff_alpha(codes, n_categories=q, level=level, values=values).value
    counts = category_counts(codes, q)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    x = np.arange(1, q + 1, dtype=float) if values is None else np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    n_units = len(m)
    samples = np.empty(n_boot)
    if level == "ordinal":
        pairs = (counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(q)[None]) / (m - 1)[:, None, None]
        pairs = pairs.reshape(n_units, q * q)
        for b in range(n_boot):
            take = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units).astype(float)
            o = (take @ pairs).reshape(q, q)
            marg = o.sum(axis=1)
            delta = 1 - _alpha_weights("ordinal", x, marg)
            samples[b] = _alpha_from(o.sum(), float((o * delta).sum()), marg, delta)
    else:
        delta = 1 - _alpha_weights(level, x, counts.sum(axis=0))
        d_unit = np.einsum("uk,kl,ul->u", counts, delta, counts) / (m - 1)
        for b in range(n_boot):
            take = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units).astype(float)
            marg = take @ counts
            samples[b] = _alpha_from(marg.sum(), float(take @ d_unit), marg, delta)
    finite = samples[np.isfinite(samples)]
    lo, hi = np.quantile(finite, [(1 - confidence) / 2, 1 - (1 - confidence) / 2]) if finite.size else (math.nan, math.nan)
    p_below = tuple((float(mn), float((finite < mn).mean()) if finite.size else math.nan) for mn in minimums)
    return AlphaBootstrap(alpha, (float(lo), float(hi)), p_below, n_boot, confidence, level, samples)


def _alpha_from(n_values: float, observed: float, marginals: np.ndarray, delta: np.ndarray) -> float:
    expected = float(marginals @ delta @ marginals)
    if expected <= 0:
        return math.nan
    return 1 - (n_values - 1) * observed / expected


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Coefficient:
    """A registered agreement coefficient.

    Attributes:
        name: Key in :data:`COEFFICIENTS` and in JSON/CSV output.
        label: Name for people.
        compute: ``compute(codes, *, n_categories, weights, values) -> Estimate``.
        two_coders_only: Defined for exactly two coders.
        chance: The chance model, in words.
        reference: Where it comes from.
    """

    name: str
    label: str
    compute: Callable[..., Estimate]
    two_coders_only: bool
    chance: str
    reference: str


COEFFICIENTS: dict[str, Coefficient] = {
    c.name: c
    for c in (
        Coefficient("percent_agreement", "Percent agreement", percent_agreement, False,
                    "none", "Gwet (2014), agreeing pairs of coders per unit"),
        Coefficient("cohen_kappa", "Cohen's κ", cohen_kappa, True,
                    "each coder's own margins", "Cohen (1960); Fleiss, Cohen & Everitt (1969)"),
        Coefficient("scott_pi", "Scott's π", scott_pi, True,
                    "pooled margins", "Scott (1955)"),
        Coefficient("fleiss_kappa", "Fleiss' κ", fleiss_kappa, False,
                    "pooled margins", "Fleiss (1971)"),
        Coefficient("conger_kappa", "Conger's κ", conger_kappa, False,
                    "each coder's own margins", "Conger (1980)"),
        Coefficient("brennan_prediger", "Brennan–Prediger κ", brennan_prediger, False,
                    "uniform over the categories offered", "Brennan & Prediger (1981)"),
        Coefficient("gwet_ac1", "Gwet's AC1", gwet_ac1, False,
                    "random rating on hard-to-code units", "Gwet (2008)"),
        Coefficient("krippendorff_alpha", "Krippendorff's α",
                    lambda codes, **kw: krippendorff_alpha(codes, **kw), False,
                    "pooled pairable values, small-sample corrected", "Krippendorff (2011)"),
    )
}


def agreement_summary(
    codes: np.ndarray, *, n_categories: int | None = None, level: str = "nominal",
    values: Sequence[float] | None = None, weights: str | np.ndarray = "identity", confidence: float = 0.95,
) -> dict[str, Estimate]:
    """Every registered coefficient that applies to ``codes``.

    The κ family, AC1 (AC2 with weights) and percent agreement use ``weights``;
    Krippendorff's α uses ``level``. Cohen's κ and Scott's π are included only for
    exactly two coders. Units with one rating count in the category proportions of the
    κ family and AC1 (irrCAC's convention), so pass every rated unit, not only the
    pairable ones.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    weights : str or ndarray of shape (q, q)
        See :func:`weight_matrix`; named weights other than ``identity`` use ``values``
        (default ``1..q``) as the category values.

    Returns
    -------
    dict
        Registry name -> :class:`Estimate`, in registry order.
    """
    codes, q = _check_codes(codes, n_categories if n_categories is not None else (len(values) if values is not None else None))
    out: dict[str, Estimate] = {}
    for name, coef in COEFFICIENTS.items():
        if coef.two_coders_only and codes.shape[1] != 2:
            continue
        if name == "krippendorff_alpha":
            out[name] = krippendorff_alpha(codes, n_categories=q, level=level, values=values, confidence=confidence)
        elif name in ("cohen_kappa", "scott_pi") and contingency_table(codes, q).sum() == 0:
            continue
        else:
            out[name] = coef.compute(codes, n_categories=q, weights=weights, values=values, confidence=confidence)
    return out
