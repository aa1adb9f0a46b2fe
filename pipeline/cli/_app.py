"""The typer application and the conventions every command shares."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import typer

from pipeline.errors import AutocodeError

app = typer.Typer(
    name="autocode",
    help=(
        "autocode codes German interview transcripts and literature excerpts into a "
        "qualitative code system: segment, train on your hand codes, classify new "
        "material, and measure agreement between coders and with the model."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    typer.echo(f"autocode: error: {message}", err=True)
    return typer.Exit(code=code)


def note(message: str) -> None:
    """A note for the user on stderr (stdout stays machine-readable)."""
    typer.echo(f"autocode: {message}", err=True)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"autocode: warning: {message}", file=sys.stderr)


def default_model_dir() -> Path:
    """``$AUTOCODE_MODEL``, else ``models/default`` here, else the one shipped beside the package."""
    if os.environ.get("AUTOCODE_MODEL"):
        return Path(os.environ["AUTOCODE_MODEL"])
    here = Path("models/default")
    if (here / "model.json").is_file():
        return here
    shipped = Path(__file__).resolve().parents[2] / "models" / "default"
    return shipped if (shipped / "model.json").is_file() else here


def reports_errors(func):
    """Turn an :class:`AutocodeError` into one stderr line and exit code 1; show warnings
    as one stderr line each."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        warnings.showwarning = _show_warning
        try:
            return func(*args, **kwargs)
        except AutocodeError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            typer.echo("autocode: interrupted; finished outputs are kept, no partial file was written.", err=True)
            sys.exit(130)

    return wrapper
