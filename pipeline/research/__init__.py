"""Research tools built on the pipeline: evaluation, active learning, benchmarks.

- :mod:`pipeline.research.evaluate` — what a model codes in held-out documents, the learning curve;
- :mod:`pipeline.research.active` — which segments to code next (``autocode suggest``);
- :mod:`pipeline.research.benchmark` — the Manifesto benchmark against a TF-IDF peer;
- :mod:`pipeline.research.benchmark_transfer` — transfer from interviews to literature;
- :mod:`pipeline.research.benchmark_active` — active learning against random sampling.
"""
