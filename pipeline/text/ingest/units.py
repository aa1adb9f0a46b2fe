"""Pre-segmented units: ``.jsonl`` with ``{"id": ..., "text": ...}`` per line, or ``.csv``
with ``id`` and ``text`` columns. Unit ids are kept in the output.

The transcript text is the units joined by newlines, so each unit has offsets like any
other segment. A unit that names its ``document`` keeps the id ``<document>:<id>``, so a
file holding several documents with their own numbering yields distinct segments. The
same files may carry hand codes per unit (``codes``, ``coder``, ``document``);
:mod:`pipeline.text.codings` reads those with the same record reader (:func:`read_records`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import Transcript
from pipeline.text.ingest.decode import read_text
from pipeline.text.ingest.registry import register

#: Column and key names understood in tabular and JSON records: canonical name → the
#: spellings accepted (compared case-insensitively, surrounding blanks ignored). German
#: names and the column names of MAXQDA's coded-segments export are included.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "document": ("document", "dokument", "dokumentname", "document name", "doc"),
    "start": ("start", "anfang", "beginn", "begin", "beginning"),
    "end": ("end", "ende"),
    "code": ("code", "kode"),
    "codes": ("codes", "kodes"),
    "coder": ("coder", "kodierer", "codierer", "kodiererin", "codiererin", "erstellt von", "created by"),
    "id": ("id", "unit", "unit id", "einheit"),
    "text": ("text",),
    "segment": ("segment",),
}
_CANONICAL = {alias: name for name, aliases in FIELD_NAMES.items() for alias in aliases}


def canonical(name: str) -> str:
    """The canonical field name of a column or key (``"Kodierer"`` → ``"coder"``); the
    name itself, lower-cased, when it is none of :data:`FIELD_NAMES`."""
    key = " ".join(str(name).strip().lower().split())
    return _CANONICAL.get(key, key)


def read_records(path: Path) -> tuple[list[str] | None, list[dict]]:
    """Read a ``.jsonl`` or ``.csv`` file into records keyed by canonical field names.

    CSV: the delimiter (``,``, ``;`` or tab) is taken from the header line; a BOM and
    Excel-style quoting are handled. Every record gets ``line``: the 1-based line (JSONL)
    or row (CSV, header = row 1), for messages.

    Returns:
        ``(header, records)``: the CSV header as written (``None`` for JSONL) and the records.
    """
    text, _ = read_text(path)
    if path.suffix.lower() == ".csv":
        return _csv_records(text, path)
    return None, _jsonl_records(text, path)


def _jsonl_records(text: str, path: Path) -> list[dict]:
    records = []
    # JSON Lines end at "\n" only: str.splitlines would also cut at U+0085 and U+2028,
    # which json.dumps(ensure_ascii=False) leaves raw inside strings.
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno}). Each line must be one JSON object.") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{n}: expected a JSON object, found {type(rec).__name__}.")
        out = {canonical(k): v for k, v in rec.items()}
        out["line"] = n
        records.append(out)
    return records


def csv_rows(text: str) -> list[list[str]]:
    """The rows of CSV text, header first; the delimiter (``,``, ``;`` or tab) is the one
    the header line uses most."""
    first = text.splitlines()[0] if text else ""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=max(",;\t", key=first.count)))


def _csv_records(text: str, path: Path) -> tuple[list[str], list[dict]]:
    rows = csv_rows(text)
    header = [h.strip() for h in (rows[0] if rows else [])]
    names = [canonical(h) for h in header]
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        rec = {name: cell for name, cell in zip(names, row) if name}
        rec["line"] = n
        records.append(rec)
    return header, records


def unit_key(rec: dict) -> str:
    """The segment id of a unit record: its ``id``, or ``<document>:<id>`` when it names a document."""
    document = str(rec.get("document") or "").strip()
    return f"{document}:{rec['id']}" if document else str(rec["id"])


def read_unit_records(path: Path) -> list[dict]:
    """Read and validate unit records: each has a non-empty ``id`` and ``text`` (both
    returned as strings); other fields are returned as found."""
    header, records = read_records(path)
    if header is not None and not {"id", "text"} <= {canonical(h) for h in header}:
        raise InputError(f"{path}: expected columns 'id' and 'text', found {', '.join(header) or 'no header'}. Rename the columns.")
    if not records:
        raise InputError(f"{path}: no units found. Expected one unit per line with 'id' and 'text'.")
    for rec in records:
        for key in ("id", "text"):
            if rec.get(key) is None or str(rec[key]).strip() == "":
                raise InputError(
                    f"{path}:{rec['line']}: missing or empty {key!r}; found {sorted(k for k in rec if k != 'line')}. "
                    "Each unit needs 'id' and 'text'."
                )
        rec["id"] = str(rec["id"]).strip()
        rec["text"] = str(rec["text"])
    return records


def units_transcript(path: Path, records: list[dict]) -> Transcript:
    """One transcript of units, in order. A unit repeated with the same text by another
    coder (a file of several coders' hand codes) is one unit.

    Raises:
        InputError: a unit id twice within a document, other than one unit per coder.
    """
    parts, units, pos = [], [], 0
    seen: dict[str, tuple[int, str, set]] = {}
    for rec in records:
        key = unit_key(rec)
        coder = str(rec.get("coder") or "")
        if key in seen:
            line, text, coders = seen[key]
            if text != rec["text"] or not coder or coder in coders:
                raise InputError(
                    f"{path}:{rec['line']}: unit id {key!r} also on line {line}. Unit ids must be unique within "
                    "a document (a unit may repeat only with the same text, once per coder)."
                )
            coders.add(coder)
            continue
        seen[key] = (rec["line"], rec["text"], {coder})
        parts.append(rec["text"])
        units.append((key, pos, pos + len(rec["text"])))
        pos += len(rec["text"]) + 1
    return Transcript(id=path.stem, text="\n".join(parts), path=str(path), kind="units", units=tuple(units))


@register(".jsonl", ".csv")
def read_units(path: Path) -> Transcript:
    return units_transcript(path, read_unit_records(path))
