"""Documents named in hand codes: the file-safe id a document name gives, and the file
it refers to.

Hand codes (span files, MAXQDA exports) name their documents; :func:`find_document` looks
a name up in folders. :func:`document_stem` is the rule that also names the documents of a
REFI-QDA import (:func:`pipeline.qda.refi.document_id`), so that codings exported from a
program find the texts imported from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pipeline.text.ingest import READERS

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_TEXT_EXT = re.compile(r"\.(txt|docx?|rtf|odt|pdf)$", re.IGNORECASE)


def document_stem(name: str) -> str:
    """A file-safe id from a document's name (``"Interview 1.docx"`` → ``"Interview 1"``);
    ``""`` when nothing is left of it.

    The id becomes a file name; separators and other characters that could leave the
    folder or are invalid on Windows become ``_``, and a text extension is dropped.

    >>> document_stem("../../etc/passwd")
    '_.._etc_passwd'
    >>> document_stem("Interview Müller.docx")
    'Interview Müller'
    >>> document_stem("..")
    ''
    """
    stem = _TEXT_EXT.sub("", (name or "").strip())
    # A leading dot would make a hidden file, or ".." a parent folder: drop leading dots.
    stem = _UNSAFE.sub("_", stem).strip().lstrip(".").strip()
    return stem[:120]


def _document_extensions() -> list[str]:
    return sorted(ext for ext in READERS if ext not in (".jsonl", ".csv"))


def find_document(name: str, search: Sequence[Path]) -> Path | None:
    """The file of a document named in hand codes: ``<name>`` itself when it has a
    document extension (``ho01.txt``), else ``<name>.<ext>`` (.txt, .docx, .vtt, ...), in
    the first folder of ``search`` that has it; names are compared exactly first, then
    ignoring case."""
    exts = _document_extensions()
    # The id a REFI-QDA import gives the document (``"Interview 1.docx"`` → ``"Interview 1"``).
    stems = list(dict.fromkeys([name, document_stem(name) or "source-"]))
    for folder in search:
        if not folder.is_dir():
            continue
        if Path(name).suffix.lower() in exts and (folder / name).is_file():
            return folder / name
        for stem in stems:
            for ext in exts:
                if (folder / f"{stem}{ext}").is_file():
                    return folder / f"{stem}{ext}"
        files = [f for f in sorted(folder.iterdir()) if f.is_file() and f.suffix.lower() in exts]
        for f in files:
            if f.name.lower() == name.lower() or f.stem.lower() in {s.lower() for s in stems}:
                return f
    return None
