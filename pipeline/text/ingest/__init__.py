"""Readers: one per file format, each turning a file into a :class:`Transcript`.

``read_transcript(path)`` picks the reader by extension. Every reader keeps the decoded
original text, so that segment offsets can always be checked against it; cleaning
(markers, timestamps, hyphenation) happens later, in segmentation, with offsets mapped
back.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputPathError
from pipeline.text.ingest.registry import READERS, Reader, read_transcript, register, supported_extensions  # noqa: F401


def _is_hand_codes(path: Path) -> bool:
    """A span-format hand-code file or a MAXQDA export (not pre-segmented units)."""
    if path.suffix.lower() not in (".jsonl", ".csv"):
        return False
    from pipeline.core.errors import AutocodeError
    from pipeline.text.formats import detect_format

    try:
        return detect_format(path) in ("spans", "maxqda")
    except AutocodeError:
        return False  # the reader will say what is wrong with it


def collect_inputs(inputs: list[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted, de-duplicated list of supported files.

    A folder contributes every supported file directly inside it (sorted by name),
    except hand-code files (span format, MAXQDA export) kept beside the texts; a file is
    taken as given (its reader reports an unsupported type).
    """
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in READERS and not f.name.startswith("."))
            # Hand codes kept beside the texts they code (corpus/literature/codings.jsonl)
            # are no texts: a folder contributes only what could be one.
            files = [f for f in files if not _is_hand_codes(f)]
            if not files:
                raise InputPathError(
                    f"{p}: the folder holds no supported file ({', '.join(supported_extensions())}). "
                    "Point to the folder with the transcripts."
                )
            out.extend(files)
        elif p.exists():
            out.append(p)
        else:
            raise InputPathError(f"{p}: no such file or folder. Check the path.")
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


# Register the readers (import for side effect).
from pipeline.text.ingest import docx, odt, rtf, subtitles, text, units  # noqa: E402,F401
