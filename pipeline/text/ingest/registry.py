"""The registry of readers: each reader module registers itself for its extensions, and
:func:`read_transcript` picks the reader by extension.

The package :mod:`pipeline.text.ingest` imports every reader module, so that importing
anything from this package (this module included) fills the registry first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.core.errors import InputError, InputPathError
from pipeline.core.types import Transcript

Reader = Callable[[Path], Transcript]

# Filled by the reader modules of the package; the key is the lower-case extension.
READERS: dict[str, Reader] = {}


def register(*extensions: str):
    def deco(func: Reader) -> Reader:
        for ext in extensions:
            READERS[ext] = func
        return func

    return deco


def supported_extensions() -> tuple[str, ...]:
    return tuple(sorted(READERS))


def read_transcript(path: str | Path) -> Transcript:
    """Read one transcript, literature excerpt or unit file.

    Raises:
        InputError: the file is missing, empty, of an unsupported type or unreadable;
            the message names the file and says what to do.
    """
    path = Path(path)
    ext = path.suffix.lower()
    reader = READERS.get(ext)
    if reader is None:
        raise InputError(
            f"{path}: unsupported file type {ext or '(no extension)'!r}. Supported: "
            f"{', '.join(supported_extensions())}. Convert the file or rename it."
        )
    if not path.is_file():
        raise InputPathError(f"{path}: no such file. Check the path.")
    return reader(path)
