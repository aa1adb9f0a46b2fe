"""Coefficients of two coders from their contingency table: Cohen's κ (weighted κ),
Scott's π, Gwet's AC1/AC2, Brennan–Prediger, percent agreement and Krippendorff's α, and
Cohen's κ and Scott's π on raw ratings of two coders.

A table of shape ``(q, q)`` counts the units that coder 1 put in category ``i`` and
coder 2 in category ``j``; standard errors follow Fleiss, Cohen & Everitt (1969) and
Gwet (2014). References: :mod:`pipeline.agreement.coefficients`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from pipeline.agreement.ratings import (
    Estimate,
    check_ratings,
    check_table,
    contingency_table,
    implied_categories,
    safe_ratio,
    weights_for,
)
from pipeline.core.errors import InputError

# --------------------------------------------------------------------------- two coders


def _prepared(table: np.ndarray, weights, values) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Checked table, weight matrix, number of units and proportions, shape (q, q)."""
    table = check_table(table)
    w = weights_for(weights, values, table.shape[0])
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
    row, col = p.sum(axis=1), p.sum(axis=0)
    pa = float((w * p).sum())
    pe = float(row @ w @ col)
    value = safe_ratio(pa - pe, 1 - pe)
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
    row, col = p.sum(axis=1), p.sum(axis=0)
    pi = (row + col) / 2
    pa = float((w * p).sum())
    pe = float(pi @ w @ pi)
    value = safe_ratio(pa - pe, 1 - pe)
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
    value = safe_ratio(pa - pe, 1 - pe)
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
    value = safe_ratio(pa - pe, 1 - pe)
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
    row, col = p.sum(axis=1), p.sum(axis=0)
    eps = 1 / (2 * n)
    pa0 = float((w * p).sum())
    pa = (1 - eps) * pa0 + eps
    pi = (row + col) / 2
    pe = float(pi @ w @ pi)
    value = safe_ratio(pa - pe, 1 - pe)
    k0 = safe_ratio(pa0 - pe, 1 - pe)
    w_bar = ((w @ col) + (w.T @ row)) / 2
    sum1 = float((p * (w - (1 - k0) * (w_bar[:, None] + w_bar[None, :])) ** 2).sum()) if np.isfinite(k0) else math.nan
    est = _table_estimate("krippendorff_alpha", table, w, pa, pe, k0, sum1, pa0 - 2 * (1 - k0) * pe, confidence)
    return Estimate(est.coefficient, value, pa, pe, est.se, est.n_units, est.df, confidence=confidence)


def _two_coders(table_fn: Callable[..., Estimate]) -> Callable[..., Estimate]:
    def compute(codes: np.ndarray, *, n_categories: int | None = None, weights: str | np.ndarray = "identity",
                values: Sequence[float] | None = None, confidence: float = 0.95) -> Estimate:
        codes, q = check_ratings(codes, implied_categories(codes, n_categories, weights, values))
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
