"""One error hierarchy for everything a user can get wrong.

Every message says what was expected, what was found and what to do. The CLI turns an
:class:`AutocodeError` into one line on stderr and exit code 1, a :class:`UsageError` into
exit code 2; anything else is a bug.

What is a usage error: the command line names something that cannot be used as given —
an input file or folder that does not exist, a folder without a supported file, an
``--out`` that is a file or an input's folder, a ``--model``/``--codebook`` path that does
not exist, hand codes whose documents are not where the command looks for them. The fix
is a different command line. What is read and found wrong (a malformed file, an unknown
code, a damaged model, an invalid configuration value) is a failure, exit code 1: the
fix is in the data.
"""

from __future__ import annotations


class AutocodeError(Exception):
    """Base class of all errors autocode reports to the user."""


class InputError(AutocodeError):
    """An input file cannot be read or does not have the expected format."""


class CodebookError(AutocodeError):
    """A code system file is malformed or a code ID is unknown."""


class CodingError(AutocodeError):
    """Hand codes do not fit their documents or the code system."""


class ConfigError(AutocodeError):
    """A run configuration is malformed."""


class ModelError(AutocodeError):
    """A model directory is missing, tampered with or incompatible."""


class OutputError(AutocodeError):
    """An output cannot be written where it was asked for."""


class ClusterError(AutocodeError):
    """A Dask cluster cannot be reached, has no workers, or its workers cannot run the job."""


class UsageError(AutocodeError):
    """The command line names something that cannot be used as given (exit code 2).

    Raised through the subclasses below, which are also the kind of error they refine,
    so that ``except InputError`` still catches a missing input.
    """


class InputPathError(UsageError, InputError):
    """An input path does not exist, or a folder holds no supported file."""


class OutputPathError(UsageError, OutputError):
    """``--out`` cannot be used: it is a file, or an input's folder."""


class DocumentNotFoundError(UsageError, CodingError):
    """Hand codes name a document that is not beside them, in transcripts/ or in --texts."""


class ModelPathError(UsageError, ModelError):
    """The model path does not exist or is not an autocode model folder."""


class CodebookPathError(UsageError, CodebookError):
    """The code system file given does not exist."""


class ConfigPathError(UsageError, ConfigError):
    """The configuration file given with --config does not exist."""
