"""What autocode shows people: HTML pages, CSV and JSON beside them.

- :mod:`pipeline.reports.overview` — the results overview of a classify run;
- :mod:`pipeline.reports.agreement` — the inter-coder agreement report.
"""
