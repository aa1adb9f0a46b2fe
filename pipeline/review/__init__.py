"""The review workbench (``autocode review``): a local web app where a researcher codes
segments with the model's proposals, and every decision teaches the next model.

A project is a folder: ``project.sqlite`` (documents, segments, coders, decisions, models)
and ``models/`` (the models trained in the background). See docs/review.md.
"""
