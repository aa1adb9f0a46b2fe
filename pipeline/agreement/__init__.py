"""Inter-coder agreement: coefficients, units of analysis and unitizing α (statistics only).

Layout (each module has one job):

- :mod:`pipeline.agreement.ratings` — what the coefficients share: rating matrices,
  agreement weights, :class:`Estimate` and the benchmarks for reading a value;
- :mod:`pipeline.agreement.coefficients` — the coefficients on raw ratings of any number
  of coders (percent agreement, Fleiss, Conger, Brennan–Prediger, Gwet, Krippendorff),
  with standard errors;
- :mod:`pipeline.agreement.two_coders` — Cohen's κ, Scott's π and the others from a
  two-coder contingency table;
- :mod:`pipeline.agreement.bootstrap` — the bootstrap interval of Krippendorff's α;
- :mod:`pipeline.agreement.registry` — every coefficient by name (:data:`COEFFICIENTS`)
  and :func:`agreement_summary`;
- :mod:`pipeline.agreement.unitizing` — Krippendorff's α for unitized data (αu, uα,
  cu-α, Cu-α) over the character continuum of each document;
- :mod:`pipeline.agreement.units` — units of analysis: from hand codes and classify
  outputs to rating matrices (:class:`CodedUnits`);
- :mod:`pipeline.agreement.matching` — which units of different coders are the same
  unit, and whether coders share enough of them to be compared;
- :mod:`pipeline.agreement.assess` — the figures on them: :func:`assess_coded` /
  :func:`assess_table`, humans first, the model against each human apart.

The report (HTML in German or English, CSV, JSON) is :mod:`pipeline.reports.agreement`.

The coefficient functions are re-exported here, so ``from pipeline import agreement as A;
A.fleiss_kappa(...)`` works.
"""

from pipeline.agreement.bootstrap import (  # noqa: F401
    AlphaBootstrap,
    bootstrap_alpha,
)
from pipeline.agreement.coefficients import (  # noqa: F401
    brennan_prediger,
    conger_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from pipeline.agreement.ratings import (  # noqa: F401
    ALPHA_RELIABLE,
    ALPHA_TENTATIVE,
    LANDIS_KOCH,
    LEVELS,
    MISSING,
    WEIGHT_NAMES,
    Estimate,
    category_counts,
    codes_from_contingency,
    codes_from_counts,
    coincidence_matrix,
    contingency_table,
    encode_ratings,
    krippendorff_verdict,
    landis_koch,
    weight_matrix,
)
from pipeline.agreement.registry import (  # noqa: F401
    COEFFICIENTS,
    INTERVAL_METHODS,
    Coefficient,
    agreement_summary,
)
from pipeline.agreement.two_coders import (  # noqa: F401
    brennan_prediger_table,
    cohen_kappa,
    cohen_kappa_table,
    gwet_ac1_table,
    krippendorff_alpha_table,
    percent_agreement_table,
    scott_pi,
    scott_pi_table,
)
