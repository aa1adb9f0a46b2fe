"""Shared basics that every layer uses and that import nothing else of autocode.

- :mod:`pipeline.core.errors` — the error hierarchy (one base class, exit code 1 on the CLI);
- :mod:`pipeline.core.types` — the plain data stages exchange (Transcript, Segment, Coding);
- :mod:`pipeline.core.config` — the one declarative run configuration, validated on load;
- :mod:`pipeline.core.codebook` — the code system;
- :mod:`pipeline.core.io` — atomic writing, hashing, and finding classify outputs.

The shipped defaults these read are package data in :mod:`pipeline.defaults`.
"""
