"""Command-line interface: one module per command, each a thin wrapper around the library."""

from __future__ import annotations

# Importing a command module registers its command(s) on ``app``.
from pipeline.cli import (  # noqa: E402,F401
    agreement,
    benchmark,
    benchmark_review,
    benchmark_variants,
    classify,
    evaluate,
    overview,
    qda,
    review,
    segment,
    suggest,
    train,
)
from pipeline.cli._app import app


def main() -> None:
    app()
