"""Command-line interface: one module per command, each a thin wrapper around the library."""

from __future__ import annotations

from pipeline.cli._app import app

# Importing a command module registers its command(s) on ``app``.
from pipeline.cli import segment, train, classify, evaluate, agreement, qda, benchmark, overview, suggest, review, benchmark_review, benchmark_variants  # noqa: E402,F401


def main() -> None:
    app()
