"""Hand codes: the one reader of every hand-code format, checks, and projection onto segments.

:func:`read_hand_codes` is the entry point that ``train``, ``evaluate`` and ``agreement``
use; :func:`detect_format` (:mod:`pipeline.text.formats`) is the one place that decides
what a file is. Formats (all documented in docs/formats.md):

* **spans** — one coding per line/row, character offsets into a document:
  ``{"document": "int01", "start": 120, "end": 188, "code": "MOT-MARKT", "coder": "A"}``
  as ``.jsonl``, or a ``.csv`` with the columns ``document,start,end,code[,coder]``.
  Offsets count characters (code points) of the decoded document text, end exclusive —
  the same offsets ``autocode segment`` writes. A document is looked up by its name,
  with or without extension (:func:`pipeline.text.documents.find_document`), in the ``--texts`` folders, beside
  the coding file and in its ``transcripts/`` subfolder.
* **units** — pre-segmented units with their codes: ``{"id": "u1", "text": "...",
  "codes": ["MOT-MARKT"], "coder": "A", "document": "int01"}`` per line (``coder`` and
  ``document`` optional), or a ``.csv`` with ``id,text,codes[,coder][,document]`` where
  ``codes`` are separated by ``;``. Each document is its own transcript; a unit is
  identified by its document and id, so ids may repeat across documents and files.
  Without ``document`` a file is one document named after the file (for agreement: all
  such files hold the same units, one file per coder).
* **MAXQDA's coded-segments export** — ``.xlsx``, or the same columns saved as ``.csv``
  (see :mod:`pipeline.text.maxqda`).

CSV headers may use German names (``Dokument``, ``Anfang``, ``Ende``, ``Kode``,
``Kodierer``/``Codierer`` ...; see :data:`pipeline.text.ingest.units.FIELD_NAMES`); a missing
or unknown column is an error that names the expected ones.
"""

from __future__ import annotations

import bisect
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.codebook import Codebook
from pipeline.core.errors import CodingError, DocumentNotFoundError, InputPathError
from pipeline.core.types import Coding, Segment, Transcript
from pipeline.text.code_check import LEFT_OUT, CodeUse, check_codes
from pipeline.text.documents import find_document
from pipeline.text.formats import SEGMENT_KEYS, SPAN_LAYOUT, UNIT_LAYOUT, Layout, detect_format
from pipeline.text.ingest import read_transcript
from pipeline.text.ingest.decode import read_text
from pipeline.text.ingest.units import canonical, csv_rows, read_records, unit_key
from pipeline.text.project import is_project, project_codes

DEFAULT_CODER = "coder"


class AutocodeWarning(UserWarning):
    """Something the user should know about their data; processing goes on."""


def warn(message: str) -> None:
    warnings.warn(message, AutocodeWarning, stacklevel=2)


@dataclass(frozen=True)
class CodedUnit:
    """One coder's decision on one pre-segmented unit.

    Attributes:
        document: The transcript the unit belongs to.
        key: Its segment id: the unit id, or ``<document>:<id>`` when the record names
            its document (as ``autocode classify`` writes it for the same file).
        text: The unit's text.
        coder: Who coded it.
        codes: The codes given (parent codes of a code system left out); empty = none.
        where: File and line, for messages.
    """

    document: str
    key: str
    text: str
    coder: str
    codes: frozenset[str]
    where: str


@dataclass(frozen=True)
class HandCodes:
    """Documents and the hand codes on them.

    Attributes:
        transcripts: Document id → document (span documents as read, unit documents
            built from their units).
        codings: Every coding as a character span, unit codes included.
        units: The decisions read from unit files, one per (document, unit, coder).
        coverage: Coder → document → the unit ids the coder coded there, or ``None``
            where the coder coded the whole document (span formats: every document in
            which they coded something).
    """

    transcripts: dict[str, Transcript]
    codings: tuple[Coding, ...]
    units: tuple[CodedUnit, ...] = ()
    coverage: dict[str, dict[str, frozenset[str] | None]] = field(default_factory=dict)
    uses: tuple[CodeUse, ...] = ()
    new_codes: tuple[str, ...] = ()

    @property
    def coders(self) -> tuple[str, ...]:
        return tuple(sorted({c.coder for c in self.codings} | set(self.coverage)))

    @property
    def span_codings(self) -> tuple[Coding, ...]:
        """Codings on documents read as documents (not built from unit files)."""
        return tuple(c for c in self.codings if self.transcripts[c.document].kind != "units")

    def covers(self, coder: str, segment: Segment) -> bool:
        """Whether ``coder`` coded ``segment`` (so that its codes, or their absence, count)."""
        documents = self.coverage.get(coder, {})
        if segment.transcript not in documents:
            return False
        ids = documents[segment.transcript]
        return ids is None or segment.id in ids


def _check_header(path: Path, header: list[str], layout: Layout) -> None:
    """Every CSV column must belong to the layout, and the required ones be there."""
    names = [canonical(h) for h in header]
    if layout is UNIT_LAYOUT:
        names = ["codes" if n == "code" else n for n in names]
    known = set(layout.required) | set(layout.optional) | layout.unused
    problems = []
    unknown = [h for h, n in zip(header, names) if n not in known]
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
    twice = sorted({n for n in names if n in known and names.count(n) > 1})
    if twice:
        problems.append("more than one column for " + ", ".join(
            f"{n} ({', '.join(repr(h) for h, m in zip(header, names) if m == n)})" for n in twice))
    missing = [f for f in layout.required if f not in names]
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    if problems:
        raise CodingError(
            f"{path}: {'; '.join(problems)} (found: {', '.join(header)}). {layout.describe()}. "
            "Rename or remove the columns."
        )


def _unused_keys(path: Path, records: list[dict], layout: Layout, ignored: frozenset[str] = frozenset()) -> None:
    known = set(layout.required) | set(layout.optional) | layout.unused | ignored | {"line"}
    if layout is UNIT_LAYOUT:
        known.add("code")
    unknown = sorted({k for rec in records for k in rec} - known)
    if unknown:
        warn(f"{path}: key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
             f"{'are' if len(unknown) > 1 else 'is'} not part of the format and ignored. {layout.describe()}.")


def _parse_span(where: str, rec: dict, default_coder: str) -> Coding:
    missing = [f for f in SPAN_LAYOUT.required if rec.get(f) in (None, "")]
    if missing:
        raise CodingError(
            f"{where}: missing {', '.join(missing)}; a span coding needs "
            f"{', '.join(SPAN_LAYOUT.required)} (coder optional). Found keys: {sorted(k for k in rec if k != 'line')}."
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
    coder = str(rec.get("coder") or "").strip() or default_coder
    return Coding(str(rec["document"]).strip(), start, end, str(rec["code"]).strip(), coder, where)


def read_hand_codes(
    paths: Iterable[str | Path],
    *,
    codebook: Codebook | None = None,
    texts: Sequence[str | Path] = (),
    coder_from_file: bool = False,
    allow_new_codes: bool = False,
    check: bool = True,
    assisted: bool = True,
) -> HandCodes:
    """Read hand-code files (spans, units, MAXQDA exports) with the documents they refer to.

    Args:
        paths: Hand-code files (``.jsonl``, ``.csv``, ``.xlsx``) in any mix of formats, or
            review project folders (``autocode review``; :mod:`pipeline.text.project`).
        codebook: If given, every code must be one of its codes.
        texts: Extra folders in which to look for span documents.
        coder_from_file: How to read files that do not name coders or documents. False
            (training): a file without ``coder`` is the coder ``"coder"``, and a unit file
            without ``document`` is one document named after the file. True (agreement):
            such a file is the coder named after the file, and unit files without
            ``document`` all hold the same units, matched by unit id.
        allow_new_codes: Let codes outside ``codebook`` through, with a warning. (Without
            ``codebook``, codes one coder alone uses near another coder's code are likely
            typos: an error, or with this a warning.)
        check: False: leave the check of the codes (:func:`pipeline.text.code_check.check_codes`)
            to the caller, which checks them together with codes read elsewhere
            (``HandCodes.uses`` lists every place a code was read).
        assisted: Whether a review project's decisions made with the model's proposals
            shown count (False: blind decisions only, as agreement counts them; a warning
            says how many were left out).

    Raises:
        CodingError / CodebookError / InputError: a malformed record or header, a span
            outside its document, unknown codes (all of them, in one message), a unit
            coded twice by one coder; the message names file and line.
    """
    transcripts: dict[str, Transcript] = {}
    codings: list[Coding] = []
    coverage: dict[str, dict[str, set[str] | None]] = defaultdict(dict)
    unit_rows: list[tuple[str, dict, Path]] = []  # (document, record, file)
    shared_units = ""  # agreement: the one document of unit files that name none
    for raw in paths:
        path = Path(raw)
        if is_project(path):
            found = project_codes(path, assisted=assisted)
            if found.assisted_left_out:
                warn(f"{path}: {found.assisted_left_out} of {found.decisions} decisions were made with the model's proposals "
                     "shown (assisted) and are left out: only blind decisions count as independent codes.")
            for name, t in found.transcripts.items():
                transcripts.setdefault(name, t)
            for who, docs in found.coverage.items():
                coverage[who].update(docs)
            codings.extend(found.codings)
            continue
        if not path.is_file():
            raise InputPathError(f"{path}: no such hand-code file. Check the path.")
        fmt = detect_format(path)
        default_coder = path.stem if coder_from_file else DEFAULT_CODER
        if fmt == "classify":
            raise CodingError(
                f"{path}: this is an 'autocode classify' output (the model's codes), not hand codes. "
                "Give the files with your own codings; compare with the model through 'autocode agreement'."
            )
        if fmt == "maxqda":
            found, file_codings = _read_maxqda(path, codebook=codebook, texts=texts, default_coder=default_coder)
            for c in file_codings:
                transcripts.setdefault(c.document, found[c.document])
                coverage[c.coder][c.document] = None
            codings.extend(file_codings)
            continue
        header, records = read_records(path)
        if fmt == "spans":
            if header is not None:
                _check_header(path, header, SPAN_LAYOUT)
            else:
                _unused_keys(path, records, SPAN_LAYOUT)
            search = [Path(t) for t in texts] + [path.parent, path.parent / "transcripts"]
            for rec in records:
                where = f"{path}:{rec['line']}"
                coding = _parse_span(where, rec, default_coder)
                transcript = _span_document(coding.document, search, transcripts, where)
                coding = Coding(transcript.id, coding.start, coding.end, coding.code, coding.coder, where)
                coverage[coding.coder][coding.document] = None
                codings.append(coding)
            continue
        for rec in _unit_records(path, header, records, default_coder):
            if not rec["document"] and coder_from_file:
                shared_units = shared_units or path.stem
            unit_rows.append((rec["document"] or (shared_units if coder_from_file else path.stem), rec, path))
    units = _unit_documents(unit_rows, codebook, transcripts, coverage)
    offsets = {(d, k): (a, b) for d, t in transcripts.items() if t.kind == "units" for k, a, b in t.units}
    for u in units:
        start, end = offsets[(u.document, u.key)]
        codings.extend(Coding(u.document, start, end, code, u.coder, u.where) for code in sorted(u.codes))
    frozen = {coder: {d: (None if ids is None else frozenset(ids)) for d, ids in docs.items()} for coder, docs in coverage.items()}
    uses = tuple(CodeUse(c.code, c.coder, c.where) for c in codings)
    new: tuple[str, ...] = ()
    if check:
        new = check_codes(uses, codebook=codebook, allow_new=allow_new_codes, consequence=LEFT_OUT)
    return HandCodes(transcripts, tuple(_check(codings, transcripts, codebook)), tuple(units), frozen, uses, new)


def _unit_records(path: Path, header: list[str] | None, records: list[dict], default_coder: str) -> list[dict]:
    """Check a unit file's header (or keys) and normalise its records: ``id``, ``text``,
    ``coder`` and ``document`` as strings ("" where no document is named), ``codes`` as
    found (``None`` where a JSON record has none)."""
    if header is not None:
        _check_header(path, header, UNIT_LAYOUT)
    else:
        _unused_keys(path, records, UNIT_LAYOUT, SEGMENT_KEYS)
    if not records:
        raise CodingError(f"{path}: no units found. {UNIT_LAYOUT.describe()}.")
    if header is None and not any("codes" in r or "code" in r for r in records):
        raise CodingError(f"{path}: no 'codes' field found. {UNIT_LAYOUT.describe()}.")
    for rec in records:
        rec.setdefault("codes", rec.pop("code", None))
        for key in ("id", "text"):
            if rec.get(key) is None or str(rec[key]).strip() == "":
                raise CodingError(f"{path}:{rec['line']}: missing or empty {key!r}. {UNIT_LAYOUT.describe()}.")
        rec["id"], rec["text"] = str(rec["id"]).strip(), str(rec["text"])
        rec["coder"] = str(rec.get("coder") or "").strip() or default_coder
        rec["document"] = str(rec.get("document") or "").strip()
    return records


def _read_maxqda(path: Path, *, codebook, texts, default_coder) -> tuple[dict[str, Transcript], list[Coding]]:
    from pipeline.text.maxqda import read_maxqda_rows, read_maxqda_xlsx

    if path.suffix.lower() == ".xlsx":
        return read_maxqda_xlsx(path, codebook=codebook, texts=texts, default_coder=default_coder)
    return read_maxqda_rows(path, csv_rows(read_text(path)[0]), codebook=codebook, texts=texts, default_coder=default_coder)


def _span_document(name: str, search: Sequence[Path], transcripts: dict[str, Transcript], where: str) -> Transcript:
    """The document a span coding names, read once; keyed by its id (the file stem)."""
    for t in transcripts.values():
        if t.kind != "units" and name in (t.id, Path(t.path).name):
            return t
    found = find_document(name, search)
    if found is None:
        raise DocumentNotFoundError(
            f"{where}: document {name!r} not found (looked for {name} and {Path(name).stem}"
            f".txt/.docx/.vtt/.srt/.rtf/.odt in {', '.join(map(str, search))}). Pass its folder with --texts."
        )
    transcript = read_transcript(found)
    if transcript.id in transcripts:
        other = transcripts[transcript.id]
        raise CodingError(
            f"{where}: document {name!r} ({found}) has the same name as {other.path or 'a unit document'}. "
            "Rename one of them."
        )
    transcripts[transcript.id] = transcript
    return transcript


def _unit_documents(rows, codebook, transcripts, coverage) -> list[CodedUnit]:
    """Unit records → one transcript per document, one :class:`CodedUnit` per decision."""
    parents = set(codebook.parent_ids) if codebook else set()
    texts: dict[tuple[str, str], tuple[str, str]] = {}  # (document, key) -> (text, where)
    decided: dict[tuple[str, str, str], str] = {}  # (document, key, coder) -> where
    order: dict[str, list[str]] = defaultdict(list)
    out = []
    for document, rec, path in rows:
        where = f"{path}:{rec['line']}"
        key = unit_key(rec)
        if document in transcripts and transcripts[document].kind != "units":
            raise CodingError(f"{where}: unit document {document!r} has the same name as {transcripts[document].path}. Rename one of them.")
        seen = texts.get((document, key))
        if seen is None:
            texts[(document, key)] = (rec["text"], where)
            order[document].append(key)
        elif seen[0].strip() != rec["text"].strip():
            raise CodingError(
                f"{where}: unit {rec['id']!r} of document {document!r} has another text at {seen[1]}. "
                "A unit id names one unit per document: give different documents their own 'document' value."
            )
        if rec.get("codes") is None:  # a JSON record without codes: this coder did not code the unit
            continue
        codes = _unit_codes(rec["codes"], where)
        if (document, key, rec["coder"]) in decided:
            raise CodingError(
                f"{where}: coder {rec['coder']!r} coded unit {rec['id']!r} of document {document!r} twice "
                f"(also {decided[(document, key, rec['coder'])]}). Keep one of the two records."
            )
        decided[(document, key, rec["coder"])] = where
        if codebook is not None:
            dropped = sorted(set(codes) & parents)
            if dropped:
                warn(f"{where}: {', '.join(map(repr, dropped))} {'is a parent code' if len(dropped) == 1 else 'are parent codes'}; "
                     "parents follow from their children and are not assigned directly. Ignored.")
        out.append(CodedUnit(document, key, rec["text"], rec["coder"], frozenset(c for c in codes if c not in parents), where))
        cover = coverage[rec["coder"]].setdefault(document, set())
        if cover is not None:
            cover.add(key)
    for document, keys in order.items():
        parts, units, pos = [], [], 0
        for key in keys:
            text = texts[(document, key)][0]
            parts.append(text)
            units.append((key, pos, pos + len(text)))
            pos += len(text) + 1
        first = texts[(document, keys[0])][1].rsplit(":", 1)[0]
        transcripts[document] = Transcript(id=document, text="\n".join(parts), path=first, kind="units", units=tuple(units))
    return out


def _unit_codes(codes, where: str) -> list[str]:
    if codes == "":
        return []
    if isinstance(codes, str):
        return [c.strip() for c in codes.replace(",", ";").split(";") if c.strip()]
    if isinstance(codes, list) and all(isinstance(c, str) for c in codes):
        return [c.strip() for c in codes if c.strip()]
    raise CodingError(f"{where}: 'codes' must be a list of code IDs (CSV: separated by ';'), found {codes!r}.")


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
    """Project span codings onto segments, keyed by segment id (see :func:`project_codings`).

    Returns:
        ``{segment_id: {coder: frozenset(codes)}}`` for every segment and every coder
        that appears in ``codings`` (empty sets where the coder gave no code).

    Raises:
        ValueError: two segments share an id (unit ids of different documents): use
            :func:`project_codings`, whose result is aligned with the segments.
    """
    segments = list(segments)
    ids = [s.id for s in segments]
    if len(set(ids)) != len(ids):
        raise ValueError("segment ids repeat across documents; use project_codings, aligned with the segments")
    return dict(zip(ids, project_codings(segments, codings, min_overlap=min_overlap)))


def project_codings(
    segments: Sequence[Segment],
    codings: Iterable[Coding],
    *,
    min_overlap: float = 0.5,
) -> list[dict[str, frozenset[str]]]:
    """Project span codings onto segments.

    A segment receives a coder's code when that coder's span in the segment's document
    covers at least ``min_overlap`` of the segment's characters, or the segment covers at
    least ``min_overlap`` of the span (so a short span inside a long segment still counts).

    Returns:
        One ``{coder: frozenset(codes)}`` per segment, in the order of ``segments``, with
        every coder that appears in ``codings`` (empty sets where the coder gave no code).
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

    out: list[dict[str, frozenset[str]]] = []
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
        out.append({coder: frozenset(codes) for coder, codes in found.items()})
    return out
