"""Pages for people: the results overview of a classify run and the agreement report.

The HTML, CSS, JavaScript and the German and English texts are package data in
``pipeline/reports/templates/`` (Jinja2 templates, one text table per language);
:mod:`pipeline.reports.templating` finds them with :mod:`importlib.resources`, so an
installed wheel renders the same pages as a checkout.
"""
