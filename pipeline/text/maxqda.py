"""MAXQDA's coded-segments export (``.xlsx``) as hand codes.

MAXQDA exports retrieved segments ("Liste der Codings" / "Retrieved Segments" →
Excel) with one row per coding and columns such as ``Dokumentgruppe``,
``Dokumentname``, ``Code``, ``Anfang``, ``Ende``, ``Segment``, ``Erstellt von`` (English:
``Document group``, ``Document name``, ``Code``, ``Beginning``, ``End``, ``Segment``,
``Created by``). For text documents ``Anfang``/``Ende`` are *paragraph* numbers, not
characters, so each segment is located by its text in the document: whitespace is
matched loosely (Excel cells hold line breaks differently), and where the text occurs
more than once, the occurrence in the paragraph nearest ``Anfang`` is taken.

Codes are paths with ``\\`` between levels (``Motive\\Markt``). With a code system, a
path maps to the code whose ID or name is its last part (or whose ID is the ``/``-joined
path); without one, the ID is the last part when that is unique in the file, else the
``/``-joined path — the same rule as for REFI-QDA projects.

Documents are looked up like span hand codes (:func:`pipeline.text.documents.find_document`):
``<document name>`` or ``<document name>.<ext>`` in the ``texts`` folders, beside the
file and in its ``transcripts/`` subfolder. The same columns saved as ``.csv`` are read
by :func:`read_maxqda_rows`.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.codebook import Codebook
from pipeline.core.errors import CodingError, InputError
from pipeline.core.types import Coding, Transcript
from pipeline.text.documents import find_document
from pipeline.text.ingest import read_transcript

COLUMNS = {
    "document": ("dokumentname", "document name", "dokument", "document"),
    "code": ("code",),
    "begin": ("anfang", "beginning", "begin", "start"),
    "segment": ("segment",),
    "coder": ("erstellt von", "created by", "bearbeitet von", "modified by", "coder", "codierer", "kodierer"),
}
DEFAULT_CODER = "coder"


def _header_map(header: Sequence) -> dict[str, int]:
    names = [str(h or "").strip().lower() for h in header]
    found = {}
    for key, options in COLUMNS.items():
        for option in options:
            if option in names:
                found[key] = names.index(option)
                break
    return found


def code_parts(code: str) -> list[str]:
    """``"Motive\\\\Markt"`` or ``"Motive > Markt"`` → ``["Motive", "Markt"]``."""
    return [p.strip() for p in re.split(r"\\|\s>\s", code) if p.strip()]


def locate(text: str, segment: str, paragraph: int | None) -> tuple[int, int] | None:
    """Code-point span of ``segment`` in ``text`` (whitespace loose), nearest ``paragraph``.

    ``paragraph`` is 1-based, counted by line breaks as MAXQDA numbers paragraphs.
    """
    words = segment.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    if paragraph is None or len(matches) == 1:
        m = matches[0]
    else:
        breaks = [i for i, ch in enumerate(text) if ch == "\n"]
        m = min(matches, key=lambda m: abs(bisect.bisect_right(breaks, m.start()) + 1 - paragraph))
    return m.start(), m.end()


def _map_code(parts: list[str], codebook: Codebook | None, ids_without_codebook: dict[str, str], where: str) -> str:
    path = "/".join(parts)
    if codebook is None:
        return ids_without_codebook[path]
    if path in codebook.ids:
        return path
    last = parts[-1]
    if last in codebook.ids:
        return last
    by_name = [c.id for c in codebook.codes if c.name == last]
    if len(by_name) == 1:
        return by_name[0]
    codebook.check_code(last, where=where)  # raises with the closest code named
    return last


def read_maxqda_xlsx(
    path: str | Path,
    *,
    codebook: Codebook | None = None,
    texts: Sequence[str | Path] = (),
    default_coder: str = DEFAULT_CODER,
) -> tuple[dict[str, Transcript], list[Coding]]:
    """Read a MAXQDA coded-segments export (``default_coder``: the coder of rows without
    an ``Erstellt von``/``Created by`` value).

    Returns:
        ``(transcripts, codings)``: the documents by id and one :class:`Coding` per row,
        with code-point offsets into the document text. Checking against the code
        system's parents and merging overlaps is left to
        :func:`pipeline.text.codings.read_hand_codes`.

    Raises:
        InputError: the file is not a readable workbook or lacks the needed columns.
        CodingError: a document is missing, or a segment's text is not in its document.
    """
    path = Path(path)
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("reading MAXQDA .xlsx exports needs openpyxl: pip install openpyxl") from None
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError(f"{path}: not a readable Excel workbook ({type(exc).__name__}: {exc}). Export the coded segments from MAXQDA again as .xlsx.") from None
    try:
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        raise InputError(f"{path}: the first sheet is empty. Export the coded segments from MAXQDA as Excel.")
    return read_maxqda_rows(path, rows, codebook=codebook, texts=texts, default_coder=default_coder)


def read_maxqda_rows(
    path: Path,
    rows: Sequence[Sequence],
    *,
    codebook: Codebook | None = None,
    texts: Sequence[str | Path] = (),
    default_coder: str = DEFAULT_CODER,
) -> tuple[dict[str, Transcript], list[Coding]]:
    """Codings from the rows of a coded-segments export (``rows[0]`` is the header), read
    from an ``.xlsx`` sheet or a ``.csv`` file; see :func:`read_maxqda_xlsx`.

    Args:
        default_coder: The coder of rows without an ``Erstellt von``/``Created by`` value.
    """
    cols = _header_map(rows[0])
    missing = [k for k in ("document", "code", "segment") if k not in cols]
    if missing:
        raise InputError(
            f"{path}: no column for {', '.join(missing)} in the first row (found: {', '.join(str(h) for h in rows[0] if h)}). "
            "Expected MAXQDA's coded-segments export with Dokumentname/Document name, Code, Segment "
            "(and Anfang/Beginning, Erstellt von/Created by)."
        )
    records = []
    for n, row in enumerate(rows[1:], start=2):
        def cell(key: str):
            i = cols.get(key)
            return row[i] if i is not None and i < len(row) else None

        if all(v in (None, "") for v in row):
            continue
        records.append((f"{path}:row {n}", str(cell("document") or "").strip(), str(cell("code") or "").strip(),
                        str(cell("segment") or ""), cell("begin"), str(cell("coder") or "").strip() or default_coder))
    paths = {"/".join(code_parts(r[2])) for r in records if r[2]}
    last_counts = Counter(p.rsplit("/", 1)[-1] for p in paths)
    ids = {p: (p.rsplit("/", 1)[-1] if last_counts[p.rsplit("/", 1)[-1]] == 1 else p) for p in paths}

    search = [Path(t) for t in texts] + [path.parent, path.parent / "transcripts"]
    transcripts: dict[str, Transcript] = {}
    codings: list[Coding] = []
    for where, doc, code, segment, begin, coder in records:
        if not doc or not code or not segment.strip():
            raise CodingError(f"{where}: document, code and segment must all be filled (found {doc!r}, {code!r}, {segment[:30]!r}).")
        if doc not in transcripts:
            found = find_document(doc, search)
            if found is None:
                raise CodingError(
                    f"{where}: document {doc!r} not found (looked for {doc} and {doc}.txt/.docx/.rtf/.odt in "
                    f"{', '.join(map(str, search))}). Export it from MAXQDA and pass its folder with --texts."
                )
            transcripts[doc] = read_transcript(found)
        try:
            paragraph = int(begin) if begin not in (None, "") else None
        except (TypeError, ValueError):
            paragraph = None
        span = locate(transcripts[doc].text, segment, paragraph)
        if span is None:
            raise CodingError(
                f"{where}: the segment {segment.strip()[:60]!r} does not occur in document {doc!r} "
                f"({transcripts[doc].path}). The document differs from the one coded in MAXQDA; export it "
                "again from the same project."
            )
        code_id = _map_code(code_parts(code), codebook, ids, where)
        codings.append(Coding(transcripts[doc].id, span[0], span[1], code_id, coder, where))
    # Key transcripts by their id (the file stem), as read_hand_codes does.
    return {t.id: t for t in transcripts.values()}, codings
