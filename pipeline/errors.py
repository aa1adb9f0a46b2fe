"""One error hierarchy for everything a user can get wrong.

Every message says what was expected, what was found and what to do. The CLI turns an
:class:`AutocodeError` into one line on stderr and exit code 1; anything else is a bug.
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
