"""What every agreement coefficient shares: ratings as an integer matrix, the matrices
built from it, agreement weights, the result of a coefficient (:class:`Estimate`) and the
benchmarks for reading it.

Ratings are an integer matrix ``codes`` of shape ``(n_units, n_coders)``: ``codes[i, g]``
is the index of the category coder ``g`` gave unit ``i``, :data:`MISSING` (``-1``) where
the coder did not rate the unit. The category set (and so ``n_categories``) comes from
the caller -- for a code system, from the codebook -- never from the data, so that a
category nobody used still counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
    table = check_table(table)
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


def check_ratings(codes: np.ndarray, n_categories: int | None, *, min_coders: int = 2) -> tuple[np.ndarray, int]:
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


def check_table(table: np.ndarray) -> np.ndarray:
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


def weights_for(weights: str | np.ndarray, values: Sequence[float] | None, q: int) -> np.ndarray:
    if isinstance(weights, str):
        return weight_matrix(weights, q if values is None else values)
    w = np.asarray(weights, dtype=float)
    if w.shape != (q, q):
        raise InputError(f"Weights: expected a {q} × {q} matrix for {q} categories, found shape {w.shape}.")
    return w


def implied_categories(codes: np.ndarray, n_categories: int | None, weights, values) -> int | None:
    if n_categories is not None:
        return n_categories
    if not isinstance(weights, str):
        return np.asarray(weights).shape[0]
    if values is not None:
        return len(values)
    return None


def safe_ratio(num: float, den: float) -> float:
    return float(num / den) if den > 1e-12 else math.nan
