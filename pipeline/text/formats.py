"""What a hand-code or output file is: the layouts of the hand-code formats and
:func:`detect_format`, the one place that tells them apart (by extension and CSV header
or first JSON record).

:mod:`pipeline.text.codings` reads the formats; :mod:`pipeline.text.ingest` asks
:func:`detect_format` which files in an input folder are hand codes kept beside the texts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import CodingError, InputError
from pipeline.text.ingest.decode import read_text
from pipeline.text.ingest.units import canonical, csv_rows

FORMATS = ("spans", "units", "maxqda", "classify")


@dataclass(frozen=True)
class Layout:
    title: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    also: str  # other spellings understood, for messages
    unused: frozenset[str] = frozenset()  # accepted and not read (a span's text, for the eye)

    def describe(self) -> str:
        return (f"{self.title} have the columns {', '.join(self.required)} and optionally "
                f"{', '.join(self.optional)} (also understood: {self.also})")


SPAN_LAYOUT = Layout("Hand codes as spans", ("document", "start", "end", "code"), ("coder",),
                      "Dokument, Anfang/Beginn, Ende, Kode, Kodierer/Codierer", frozenset({"text"}))
UNIT_LAYOUT = Layout("Hand codes as units", ("id", "text", "codes"), ("coder", "document"),
                      "ID/Einheit, Text, Codes/Kodes or Code, Kodierer/Codierer, Dokument",
                      frozenset({"start", "end", "scores", "reason"}))  # what ``autocode suggest`` adds, for the eye
SPAN_FIELDS = SPAN_LAYOUT.required + SPAN_LAYOUT.optional
#: Keys that ``autocode segment`` writes beside id and text: a segment file with a codes
#: list added is a unit file; these keys are read but not used.
SEGMENT_KEYS = frozenset({"transcript", "start", "end", "speaker", "role", "codable"})
_CLASSIFY_KEYS = frozenset({"id", "transcript", "start", "end", "codes"})


def detect_format(path: str | Path) -> str:
    """What a hand-code or output file is: ``"spans"``, ``"units"``, ``"maxqda"`` or
    ``"classify"`` (an ``autocode classify`` output), from its extension and its CSV
    header or first JSON record.

    Raises:
        CodingError: the header or first record fits no format; the message names the
            columns of each.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".xlsx":
        return "maxqda"
    if ext not in (".csv", ".jsonl"):
        raise InputError(
            f"{path}: hand codes are .jsonl, .csv or MAXQDA's .xlsx export, found {ext or 'no extension'!r}. "
            "Export the codings in one of these formats."
        )
    text, _ = read_text(path)
    if ext == ".csv":
        header = (csv_rows(text.split("\n", 1)[0]) or [[]])[0]
        names = {canonical(h) for h in header}
        found = ", ".join(h.strip() for h in header) or "an empty first line"
    else:
        first = next((line for line in text.splitlines() if line.strip()), "")
        try:
            rec = json.loads(first)
        except json.JSONDecodeError as exc:
            raise CodingError(f"{path}: the first line is not valid JSON ({exc.msg}). Each line must be one JSON object.") from None
        names = {canonical(k) for k in rec} if isinstance(rec, dict) else set()
        found = ", ".join(sorted(rec)) if isinstance(rec, dict) else f"a JSON {type(rec).__name__}"
        if _CLASSIFY_KEYS <= names and names & {"model", "scores"}:
            return "classify"
    if "segment" in names and "code" in names:  # MAXQDA: Anfang/Ende are paragraphs, the segment's text locates it
        return "maxqda"
    if set(SPAN_LAYOUT.required) <= names and "id" not in names:
        return "spans"
    if names & {"id", "text", "codes"}:
        return "units"
    if names & {"document", "start", "end", "code"}:
        return "spans"
    raise CodingError(
        f"{path}: not a hand-code file (found {'columns' if ext == '.csv' else 'keys'}: {found}). "
        f"{SPAN_LAYOUT.describe()}; {UNIT_LAYOUT.describe()}; MAXQDA's coded-segments export has "
        "Dokumentname, Code, Anfang, Ende, Segment."
    )
