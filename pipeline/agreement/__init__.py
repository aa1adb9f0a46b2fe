"""Inter-coder agreement: coefficients, units of analysis and unitizing α (statistics only).

Layout (each module has one job):

- :mod:`pipeline.agreement.coefficients` — the coefficients on rating matrices
  (percent agreement, Cohen, Scott, Fleiss, Conger, Brennan–Prediger, Gwet, Krippendorff),
  with standard errors and the bootstrap for α;
- :mod:`pipeline.agreement.unitizing` — Krippendorff's α for unitized data (αu, uα,
  cu-α, Cu-α) over the character continuum of each document;
- :mod:`pipeline.agreement.units` — units of analysis: from hand codes and classify
  outputs to rating matrices, and :func:`assess_coded` / :func:`assess_table`.

The report (HTML in German or English, CSV, JSON) is :mod:`pipeline.reports.agreement`.

The coefficient functions are re-exported here, so ``from pipeline import agreement as A;
A.fleiss_kappa(...)`` works.
"""

from pipeline.agreement.coefficients import (  # noqa: F401
    ALPHA_RELIABLE, ALPHA_TENTATIVE, COEFFICIENTS, LANDIS_KOCH, LEVELS, MISSING, WEIGHT_NAMES,
    AlphaBootstrap, Coefficient, Estimate, agreement_summary, bootstrap_alpha, brennan_prediger,
    brennan_prediger_table, category_counts, codes_from_contingency, codes_from_counts, cohen_kappa,
    cohen_kappa_table, coincidence_matrix, conger_kappa, contingency_table, encode_ratings, fleiss_kappa,
    gwet_ac1, gwet_ac1_table, krippendorff_alpha, krippendorff_alpha_table, krippendorff_verdict,
    landis_koch, percent_agreement, percent_agreement_table, scott_pi, scott_pi_table, weight_matrix,
)
