"""The typer application and the conventions every command shares."""

from __future__ import annotations

import functools
import signal
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from pipeline.core.errors import AutocodeError, UsageError
from pipeline.core.io import remove_pending_temps
from pipeline.text.ingest import supported_extensions


class Command(TyperCommand):
    """A command whose help names its arguments by their metavar (``INPUT...``), without
    typer's type tags (``<list[Path]>``) and braces, as the usage line of a Unix tool."""

    @staticmethod
    def _argument_name(param) -> str:
        return param.metavar or param.name.upper() + ("..." if param.nargs != 1 else "")

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = self._argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx, formatter) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((self._argument_name(param), record[1]))
            elif param.param_type_name == "option":
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class Typer(typer.Typer):
    """Every command of autocode is a :class:`Command`; help is plain click help (no rich):
    it wraps at the terminal width instead of cutting option names in table cells, and it
    does not import rich for every --help."""

    def __init__(self, **kwargs):
        super().__init__(rich_markup_mode=None, **kwargs)

    def command(self, *args, **kwargs):
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


def at_least_one(value: int | None) -> int | None:
    """Option callback for counts (``--workers N``): refuse 0 and negative numbers (exit 2).

    A callback rather than ``min=1``: click would print the range as ``[x>=1]``."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"must be 1 or more, not {value}.")
    return value


def at_least_two(value: int | None) -> int | None:
    """Option callback for counts that need two (a starting sample to train on)."""
    if value is not None and value < 2:
        raise typer.BadParameter(f"must be 2 or more, not {value}.")
    return value


def not_negative(value: int | None) -> int | None:
    """Option callback for sizes that may be 0 (``--window N``): refuse negative numbers (exit 2)."""
    if value is not None and value < 0:
        raise typer.BadParameter(f"must be 0 or more, not {value}.")
    return value


app = Typer(
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

# One list of formats for every help text, from the registry of readers.
INPUT_FORMATS = ", ".join(supported_extensions())
HAND_CODE_FORMATS = (
    "spans (.jsonl/.csv: document, start, end, code, coder), units with a codes list "
    "(.jsonl/.csv: id, text, codes) or MAXQDA's coded-segments export (.xlsx)"
)

ALLOW_NEW_CODES_HELP = (
    "Go on when codes are not in the code system (--codebook, else the model's), or, without one, look like "
    "typos of another coder's code: say so on stderr instead of failing. Without it, every unknown code is "
    "listed with its file and line and the closest known code."
)

CODER_HELP = "Repeat it (--coder A --coder B) to learn from several coders, joined by --combine."
COMBINE_HELP = (
    "How several coders' codes are joined: each (every coder's codes are examples of their own; a segment that k "
    "coders coded appears k times with weight 1/k, so it counts once), union (a code when any coder gave it) or "
    "majority (a code when more than half of the coders who coded the segment gave it; a tie counts as absent, so "
    "with two coders a code needs both; a segment only one coder coded keeps that coder's codes). union coded "
    "best against each coder on the sample corpus (docs/multiple-coders.md)."
)


class Combine(str, Enum):
    """Values of --combine (pipeline.train.COMBINE_RULES; tests check that they agree)."""

    each = "each"
    union = "union"
    majority = "majority"


def package_version() -> str:
    """The installed distribution's version; the source tree's where it is not installed."""
    from importlib import metadata

    try:
        return metadata.version("autocode")
    except metadata.PackageNotFoundError:
        from pipeline import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"autocode {package_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    pass


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
    """``$AUTOCODE_MODEL`` where set, else the model shipped inside the package."""
    from pipeline.defaults import model_dir

    return model_dir()


def peak_memory() -> str:
    """This process's peak resident memory, e.g. ``"612 MiB"``; ``""`` where unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return ""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, KiB elsewhere
    return f"{peak / 2**20 if sys.platform == 'darwin' else peak / 1024:.0f} MiB"


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken like Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


def _by_sigterm(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, Terminated):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _take_sigterm():
    """Install the SIGTERM handler; return the handler to restore, or None where signals
    are not ours to change (not the main thread, or SIGTERM ignored by whoever started us,
    as Python leaves an ignored SIGINT ignored)."""
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
            return None
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread, e.g. autocode called from a server
        return None
    return signal.SIG_DFL if previous is None else previous


def reports_errors(func):
    """Turn an :class:`AutocodeError` into one stderr line and exit code 1 (2 for a
    :class:`UsageError`: the command line names something unusable); show warnings as one
    stderr line each.

    SIGTERM (``kill``, the time limit of a batch system) interrupts like Ctrl-C, so that
    the work in progress unwinds the same way: atomic writers remove their temporary
    files and the message says what was kept. Exit code 130 after Ctrl-C (SIGINT), 143
    after SIGTERM, as a shell reports a process killed by them.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        warnings.showwarning = _show_warning
        previous = _take_sigterm()
        try:
            return func(*args, **kwargs)
        except UsageError as exc:
            raise fail(str(exc), code=2) from None
        except AutocodeError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt as exc:
            remove_pending_temps()
            sigterm = _by_sigterm(exc)
            detail = str(exc) or "finished outputs are kept, no partial file was written. Run the same command again to resume."
            typer.echo(f"autocode: interrupted by {'SIGTERM' if sigterm else 'Ctrl-C (SIGINT)'}: {detail}", err=True)
            sys.exit(143 if sigterm else 130)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper
