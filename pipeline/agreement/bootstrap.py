"""The bootstrap confidence interval of Krippendorff's α, resampling units (see
:func:`bootstrap_alpha`); references in :mod:`pipeline.agreement.coefficients`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.agreement.coefficients import alpha_weights, krippendorff_alpha
from pipeline.agreement.ratings import ALPHA_RELIABLE, ALPHA_TENTATIVE, category_counts, check_ratings
from pipeline.core.errors import InputError

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
    seed: int = 0

    @property
    def se(self) -> float:
        """Standard deviation of the finite resampled values (the bootstrap standard error)."""
        finite = self.samples[np.isfinite(self.samples)]
        return float(finite.std(ddof=1)) if finite.size >= 2 else math.nan


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
    codes, q = check_ratings(codes, q_hint)
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
            delta = 1 - alpha_weights("ordinal", x, marg)
            samples[b] = _alpha_from(o.sum(), float((o * delta).sum()), marg, delta)
    else:
        delta = 1 - alpha_weights(level, x, counts.sum(axis=0))
        d_unit = np.einsum("uk,kl,ul->u", counts, delta, counts) / (m - 1)
        for b in range(n_boot):
            take = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units).astype(float)
            marg = take @ counts
            samples[b] = _alpha_from(marg.sum(), float(take @ d_unit), marg, delta)
    finite = samples[np.isfinite(samples)]
    lo, hi = np.quantile(finite, [(1 - confidence) / 2, 1 - (1 - confidence) / 2]) if finite.size else (math.nan, math.nan)
    p_below = tuple((float(mn), float((finite < mn).mean()) if finite.size else math.nan) for mn in minimums)
    return AlphaBootstrap(alpha, (float(lo), float(hi)), p_below, n_boot, confidence, level, samples, seed)


def _alpha_from(n_values: float, observed: float, marginals: np.ndarray, delta: np.ndarray) -> float:
    expected = float(marginals @ delta @ marginals)
    if expected <= 0:
        return math.nan
    return 1 - (n_values - 1) * observed / expected
