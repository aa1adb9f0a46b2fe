"""Pre-segmented units: ``.jsonl`` with ``{"id": ..., "text": ...}`` per line, or ``.csv``
with ``id`` and ``text`` columns. Unit ids are kept in the output.

The transcript text is the units joined by newlines, so each unit has offsets like any
other segment. The same files may carry hand codes per unit (a ``codes`` list, in CSV
separated by ``;``, and optionally a ``coder``); :mod:`pipeline.codings` reads those.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pipeline.errors import InputError
from pipeline.ingest import register
from pipeline.ingest.decode import read_text
from pipeline.types import Transcript


def read_unit_records(path: Path) -> list[dict]:
    """Read and validate unit records: each has a non-empty string ``id`` and ``text``.

    ``codes`` (if present) is returned as a list of strings; ``line`` is the 1-based line
    (JSONL) or row (CSV, header = row 1) for messages.
    """
    text, _ = read_text(path)
    if path.suffix.lower() == ".csv":
        records = _csv_records(text, path)
    else:
        records = _jsonl_records(text, path)
    if not records:
        raise InputError(f"{path}: no units found. Expected one unit per line with 'id' and 'text'.")
    seen: dict[str, int] = {}
    for rec in records:
        where = f"{path}:{rec['line']}"
        for key in ("id", "text"):
            if key not in rec or rec[key] is None or str(rec[key]).strip() == "":
                raise InputError(
                    f"{where}: missing or empty {key!r}; found keys {sorted(k for k in rec if k != 'line')}. "
                    "Each unit needs 'id' and 'text'."
                )
        rec["id"] = str(rec["id"])
        rec["text"] = str(rec["text"])
        if rec["id"] in seen:
            raise InputError(f"{where}: unit id {rec['id']!r} also on line {seen[rec['id']]}. Unit ids must be unique in a file.")
        seen[rec["id"]] = rec["line"]
        codes = rec.get("codes")
        if codes is None or codes == "":
            rec["codes"] = [] if "codes" in rec else None
        elif isinstance(codes, str):
            rec["codes"] = [c.strip() for c in codes.replace(",", ";").split(";") if c.strip()]
        elif isinstance(codes, list) and all(isinstance(c, str) for c in codes):
            rec["codes"] = [c.strip() for c in codes]
        else:
            raise InputError(f"{where}: 'codes' must be a list of code IDs, found {codes!r}.")
    return records


def _jsonl_records(text: str, path: Path) -> list[dict]:
    records = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno}). Each line must be one JSON object.") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{n}: expected a JSON object, found {type(rec).__name__}.")
        rec["line"] = n
        records.append(rec)
    return records


def _csv_records(text: str, path: Path) -> list[dict]:
    first = text.splitlines()[0] if text else ""
    delimiter = max(",;\t", key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "id" not in fields or "text" not in fields:
        raise InputError(f"{path}: expected columns 'id' and 'text', found {reader.fieldnames}. Rename the columns.")
    reader.fieldnames = fields
    records = []
    for n, row in enumerate(reader, start=2):
        rec = {k: v for k, v in row.items() if k}
        rec["line"] = n
        records.append(rec)
    return records


def units_transcript(path: Path, records: list[dict]) -> Transcript:
    parts, units, pos = [], [], 0
    for rec in records:
        parts.append(rec["text"])
        units.append((rec["id"], pos, pos + len(rec["text"])))
        pos += len(rec["text"]) + 1
    return Transcript(id=path.stem, text="\n".join(parts), path=str(path), kind="units", units=tuple(units))


@register(".jsonl", ".csv")
def read_units(path: Path) -> Transcript:
    return units_transcript(path, read_unit_records(path))
