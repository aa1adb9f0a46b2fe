"""Hand codes: reading, checking and projecting them onto segments.

Two formats are read (both documented in the README):

* **spans** — one coding per line/row, character offsets into a document:
  ``{"document": "int01", "start": 120, "end": 188, "code": "MOT-MARKT", "coder": "A"}``
  as ``.jsonl``, or a ``.csv`` with the columns ``document,start,end,code,coder``.
  Offsets count characters (code points) of the decoded document text, end exclusive —
  the same offsets ``autocode segment`` writes. The documents are looked up by id
  (file stem) in the ``--texts`` folders, beside the coding file and in its
  ``transcripts/`` subfolder.
* **units** — pre-segmented units with their codes: ``{"id": "u1", "text": "...",
  "codes": ["MOT-MARKT"], "coder": "A"}`` per line (``coder`` optional); or a ``.csv`` with
  ``id,text,codes[,coder]`` where ``codes`` are separated by ``;``.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.codebook import Codebook
from pipeline.errors import AutocodeError, CodingError, InputError
from pipeline.ingest import READERS, read_transcript
from pipeline.ingest.decode import decode_text, read_bytes
from pipeline.ingest.units import read_unit_records, units_transcript
from pipeline.types import Coding, Segment, Transcript

SPAN_FIELDS = ("document", "start", "end", "code", "coder")
DEFAULT_CODER = "coder"


class AutocodeWarning(UserWarning):
    """Something the user should know about their data; processing goes on."""


def warn(message: str) -> None:
    warnings.warn(message, AutocodeWarning, stacklevel=2)


@dataclass(frozen=True)
class HandCodes:
    """Documents and the hand codes on them."""

    transcripts: dict[str, Transcript]
    codings: tuple[Coding, ...]

    @property
    def coders(self) -> tuple[str, ...]:
        return tuple(sorted({c.coder for c in self.codings}))


def _is_span_file(path: Path, text: str) -> bool:
    if path.suffix.lower() == ".csv":
        header = text.splitlines()[0].lower() if text else ""
        return "document" in header and "text" not in header
    for line in text.splitlines():
        if line.strip():
            try:
                first = json.loads(line)
            except json.JSONDecodeError:
                return False
            return isinstance(first, dict) and "document" in first and "text" not in first
    return False


def _span_records(path: Path, text: str) -> list[tuple[str, dict]]:
    out = []
    if path.suffix.lower() == ".csv":
        first = text.splitlines()[0]
        delimiter = max(",;\t", key=first.count)
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        reader.fieldnames = [f.strip().lower() for f in reader.fieldnames or []]
        for n, row in enumerate(reader, start=2):
            out.append((f"{path}:{n}", row))
    else:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CodingError(f"{path}:{n}: not valid JSON ({exc.msg}). Each line must be one JSON object.") from None
            if not isinstance(rec, dict):
                raise CodingError(f"{path}:{n}: expected a JSON object, found {type(rec).__name__}.")
            out.append((f"{path}:{n}", rec))
    return out


def _parse_span(where: str, rec: dict) -> Coding:
    missing = [f for f in ("document", "start", "end", "code") if rec.get(f) in (None, "")]
    if missing:
        raise CodingError(
            f"{where}: missing {', '.join(missing)}; a span coding needs "
            f"{', '.join(SPAN_FIELDS)} (coder optional). Found keys: {sorted(rec)}."
        )
    try:
        start, end = int(rec["start"]), int(rec["end"])
    except (TypeError, ValueError):
        raise CodingError(
            f"{where}: start/end must be whole numbers (character offsets), found "
            f"{rec['start']!r}/{rec['end']!r}."
        ) from None
    if start < 0 or end <= start:
        raise CodingError(
            f"{where}: span {start}–{end} is empty or reversed; start must be ≥ 0 and end > start "
            "(end exclusive)."
        )
    coder = str(rec.get("coder") or DEFAULT_CODER).strip()
    return Coding(str(rec["document"]).strip(), start, end, str(rec["code"]).strip(), coder, where)


def _find_document(doc_id: str, search: Sequence[Path]) -> Path | None:
    for folder in search:
        for ext in sorted(READERS):
            if ext in (".jsonl", ".csv"):
                continue
            candidate = folder / f"{doc_id}{ext}"
            if candidate.is_file():
                return candidate
    return None


def read_hand_codes(
    paths: Iterable[str | Path],
    *,
    codebook: Codebook | None = None,
    texts: Sequence[str | Path] = (),
) -> HandCodes:
    """Read hand-code files (spans or units) with the documents they refer to.

    Args:
        paths: Hand-code files (``.jsonl`` or ``.csv``), span or unit format.
        codebook: If given, every code must be one of its codes.
        texts: Extra folders in which to look for span documents.

    Raises:
        CodingError / CodebookError: a malformed record, a span outside its document,
            an unknown code; the message names file and line.
    """
    transcripts: dict[str, Transcript] = {}
    codings: list[Coding] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InputError(f"{path}: no such hand-code file. Check the path.")
        if path.suffix.lower() == ".xlsx":  # MAXQDA's coded-segments export
            from pipeline.qda.maxqda import read_maxqda_xlsx

            found, xlsx_codings = read_maxqda_xlsx(path, codebook=codebook, texts=texts)
            for doc_id, transcript in found.items():
                transcripts.setdefault(doc_id, transcript)
            codings.extend(xlsx_codings)
            continue
        content, _ = decode_text(read_bytes(path), where=str(path))
        if _is_span_file(path, content):
            search = [Path(t) for t in texts] + [path.parent, path.parent / "transcripts"]
            for where, rec in _span_records(path, content):
                coding = _parse_span(where, rec)
                if coding.document not in transcripts:
                    found = _find_document(coding.document, search)
                    if found is None:
                        raise CodingError(
                            f"{where}: document {coding.document!r} not found (looked for "
                            f"{coding.document}.txt/.docx/.vtt/.srt in {', '.join(map(str, search))}). "
                            "Pass its folder with --texts."
                        )
                    transcripts[coding.document] = read_transcript(found)
                codings.append(coding)
        else:
            records = read_unit_records(path)
            transcript = units_transcript(path, records)
            if transcript.id in transcripts:
                raise CodingError(f"{path}: a document named {transcript.id!r} was already read. Rename one of the files.")
            if all(r.get("codes") is None for r in records):
                raise CodingError(
                    f"{path}: no 'codes' field found. Hand codes need a 'codes' list per unit "
                    "(or the span format document,start,end,code,coder)."
                )
            transcripts[transcript.id] = transcript
            for rec, (uid, a, b) in zip(records, transcript.units):
                coder = str(rec.get("coder") or DEFAULT_CODER)
                for code in rec.get("codes") or []:
                    codings.append(Coding(transcript.id, a, b, code, coder, f"{path}:{rec['line']}"))
    return HandCodes(transcripts, tuple(_check(codings, transcripts, codebook)))


def _check(codings: list[Coding], transcripts: dict[str, Transcript], codebook: Codebook | None) -> list[Coding]:
    parents = set(codebook.parent_ids) if codebook else set()
    kept: list[Coding] = []
    for c in codings:
        length = len(transcripts[c.document].text)
        if c.end > length:
            raise CodingError(
                f"{c.where}: span {c.start}–{c.end} lies outside document {c.document!r} "
                f"({length} characters). Offsets count characters of the decoded text, end "
                "exclusive; check that the coding belongs to this version of the document."
            )
        if codebook is not None:
            try:
                codebook.check_code(c.code, where=c.where)
            except AutocodeError:
                raise
            if c.code in parents:
                warn(
                    f"{c.where}: {c.code!r} is a parent code; parents follow from their children "
                    "and are not assigned directly. This coding is ignored."
                )
                continue
        kept.append(c)
    # Overlapping duplicates: same document, coder and code, overlapping ranges.
    by_key: dict[tuple, list[Coding]] = defaultdict(list)
    for c in kept:
        by_key[(c.document, c.coder, c.code)].append(c)
    out: list[Coding] = []
    for group in by_key.values():
        group.sort(key=lambda c: (c.start, c.end))
        current = group[0]
        for c in group[1:]:
            if c.start < current.end:
                warn(
                    f"{c.where}: span {c.start}–{c.end} ({c.code}, coder {c.coder}) overlaps "
                    f"{current.where} ({current.start}–{current.end}); merged into one span. "
                    "Remove the duplicate to silence this warning."
                )
                current = Coding(current.document, current.start, max(current.end, c.end), current.code, current.coder, current.where)
            else:
                out.append(current)
                current = c
        out.append(current)
    out.sort(key=lambda c: (c.document, c.start, c.end, c.code, c.coder))
    return out


def segment_labels(
    segments: Sequence[Segment],
    codings: Iterable[Coding],
    *,
    min_overlap: float = 0.5,
) -> dict[str, dict[str, frozenset[str]]]:
    """Project span codings onto segments.

    A segment receives a coder's code when that coder's span covers at least
    ``min_overlap`` of the segment's characters, or the segment covers at least
    ``min_overlap`` of the span (so a short span inside a long segment still counts).

    Returns:
        ``{segment_id: {coder: frozenset(codes)}}`` for every segment and every coder
        that appears in ``codings`` (empty sets where the coder gave no code).
    """
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must be in (0, 1], found {min_overlap}")
    codings = list(codings)
    coders = sorted({c.coder for c in codings})
    by_doc: dict[str, list[Coding]] = defaultdict(list)
    for c in codings:
        by_doc[c.document].append(c)
    starts: dict[str, list[int]] = {}
    for doc, items in by_doc.items():
        items.sort(key=lambda c: c.start)
        starts[doc] = [c.start for c in items]
    longest = {doc: max(c.end - c.start for c in items) for doc, items in by_doc.items()}

    out: dict[str, dict[str, frozenset[str]]] = {}
    for seg in segments:
        found: dict[str, set[str]] = {coder: set() for coder in coders}
        items = by_doc.get(seg.transcript, [])
        if items:
            # Only spans starting before the segment ends, and not too far before it, can overlap.
            lo = bisect.bisect_left(starts[seg.transcript], seg.start - longest[seg.transcript])
            hi = bisect.bisect_left(starts[seg.transcript], seg.end)
            seg_len = max(seg.end - seg.start, 1)
            for c in items[lo:hi]:
                overlap = min(seg.end, c.end) - max(seg.start, c.start)
                if overlap > 0 and (overlap >= min_overlap * seg_len or overlap >= min_overlap * (c.end - c.start)):
                    found[c.coder].add(c.code)
        out[seg.id] = {coder: frozenset(codes) for coder, codes in found.items()}
    return out
