"""What autocode shows people: HTML pages, CSV and JSON beside them.

- :mod:`pipeline.reports.overview` — the results overview of a classify run;
- :mod:`pipeline.reports.agreement` — the inter-coder agreement report;
- :mod:`pipeline.reports.overview_view`, :mod:`pipeline.reports.agreement_view` — what
  the two pages show, formatted for their language;
- :mod:`pipeline.reports.templating` — the Jinja2 templates, CSS, JavaScript and the
  German and English text tables, package data in ``pipeline/reports/templates/``,
  found with :mod:`importlib.resources` (an installed wheel renders the same pages).
"""
