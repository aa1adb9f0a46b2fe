"""The registry of agreement coefficients (:data:`COEFFICIENTS`): every coefficient by
name, with its chance model and reference, and :func:`agreement_summary`, which computes
all that apply. Shared properties are tested over the registry
(tests/test_agreement_properties.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.agreement.coefficients import (
    brennan_prediger,
    conger_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from pipeline.agreement.ratings import Estimate, check_ratings, contingency_table
from pipeline.agreement.two_coders import cohen_kappa, scott_pi

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


#: The one interval method reported for each coefficient, wherever its figure is shown.
#:
#: ``"bootstrap"`` (Krippendorff's α): percentile interval of the ordinary
#: nonparametric bootstrap over units (:func:`pipeline.agreement.bootstrap.bootstrap_alpha`;
#: number of draws and seed are the ``--bootstrap`` and ``--seed`` options, default 1000
#: draws, seed 0). α has no standard error with a known sampling distribution for
#: arbitrary numbers of coders, missing values and metrics; Hayes & Krippendorff (2007)
#: recommend bootstrapping it, and resampling the sampling units themselves (Efron &
#: Tibshirani 1993, ch. 6 and 13) keeps the dependence between the pairable values of one
#: unit, which their resampling of pairable values ignores. The distribution also gives
#: P(α < .667) and P(α < .800), the probabilities of missing Krippendorff's (2004)
#: thresholds. Its standard error is the standard deviation of the draws.
#:
#: ``"t"`` (percent agreement, the κ family, Brennan–Prediger, AC1/AC2): ``value ±
#: t(n − 1)·se`` with Gwet's (2014) linearised standard error (Fleiss, Cohen & Everitt
#: 1969 for Cohen's κ), capped to [-1, 1]: the interval of irrCAC, so that published
#: values can be checked against it.
#:
#: References: Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
#: Chapman & Hall. Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a
#: standard reliability measure for coding data. Communication Methods and Measures, 1,
#: 77–89. Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.
INTERVAL_METHODS = {
    "percent_agreement": "t", "cohen_kappa": "t", "scott_pi": "t", "fleiss_kappa": "t", "conger_kappa": "t",
    "brennan_prediger": "t", "gwet_ac1": "t", "krippendorff_alpha": "bootstrap",
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
    codes, q = check_ratings(codes, n_categories if n_categories is not None else (len(values) if values is not None else None))
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
