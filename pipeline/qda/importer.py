"""Writing an imported QDA project in autocode's own formats.

``write_import(result, out)`` writes into the folder ``out`` and nowhere else:

* ``transcripts/<doc id>.txt`` — each source's exact text, UTF-8 without BOM (CR LF kept);
* ``codings.jsonl`` — the span format of :mod:`pipeline.text.codings`, one line per coding,
  ``coder`` the REFI user's name; ``read_hand_codes([out / "codings.jsonl"])`` reads it;
* ``codebook.yaml`` — the code system (:func:`pipeline.core.codebook.save_codebook`);
* ``qda_project.json`` — the mapping back to the project: source, code and user GUIDs
  and names, the offset convention, the project file's SHA-256;
* ``import_summary.json`` — counts and every warning.

File names come from document ids that :func:`pipeline.qda.refi.document_id` made safe;
the folder must be new, empty, or an earlier import (it holds ``qda_project.json``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.core.codebook import save_codebook
from pipeline.core.errors import OutputError
from pipeline.core.io import atomic_write_jsonl, atomic_write_text, check_output_path
from pipeline.qda.qdc import read_qdc
from pipeline.qda.refi import QdaImport

MAPPING_FORMAT = "autocode-qda-mapping/1"
OUR_FILES = ("codings.jsonl", "codebook.yaml", "qda_project.json", "import_summary.json")


def check_out_dir(out: Path, *, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output folder that holds someone's files (never overwrite user input)."""
    check_output_path(out, kind="folder", option="--out")
    for inp in inputs:
        try:
            if inp.resolve().is_relative_to(out.resolve()) and inp.resolve().parent == out.resolve():
                raise OutputError(f"{out}: holds the input {inp.name}; choose another --out folder.")
        except OSError:
            pass
    if out.is_dir() and any(out.iterdir()) and not (out / "qda_project.json").is_file():
        raise OutputError(
            f"{out}: the folder is not empty and was not written by 'autocode import' (no qda_project.json). "
            "autocode does not write into folders with other files; pass a new or empty folder with --out."
        )


def mapping(result: QdaImport) -> dict:
    return {
        "format": MAPPING_FORMAT,
        "project": {"name": result.name, "origin": result.origin, "file": result.path, "sha256": result.sha256},
        "offsets": {"unit": result.convention.unit, "crlf": result.convention.crlf, "reason": result.convention_reason},
        "sources": [
            {
                "id": s.id,
                "guid": s.guid,
                "name": s.name,
                "element": s.element,
                "plain_text_path": s.path,
                "text_sha256": hashlib.sha256(s.text.encode("utf-8")).hexdigest(),
            }
            for s in result.sources
        ],
        "codes": [
            {"id": c.id, "guid": c.guid, "name": c.name, "parent": c.parent, "codable": c.codable, "color": c.color}
            for c in result.codes
        ],
        "users": [{"name": u.name, "guid": u.guid} for u in result.users],
    }


def write_import(result: QdaImport, out: str | Path) -> dict:
    """Write ``result`` into ``out`` (see the module docstring); return the summary."""
    out = Path(out)
    check_out_dir(out, inputs=(Path(result.path),))
    old = out / "transcripts"
    if old.is_dir() and (out / "qda_project.json").is_file():
        # A previous import's transcripts that this project no longer has would be read as
        # documents of this one; remove only files this importer wrote (listed in its mapping).
        try:
            prev = json.loads((out / "qda_project.json").read_text(encoding="utf-8"))
            keep = {s.id for s in result.sources}
            for s in prev.get("sources", []):
                sid = str(s.get("id", ""))
                if sid and sid not in keep and "/" not in sid and "\\" not in sid and not sid.startswith("."):
                    (old / f"{sid}.txt").unlink(missing_ok=True)
        except (OSError, ValueError):
            pass
    for src in result.sources:
        atomic_write_text(out / "transcripts" / f"{src.id}.txt", src.text)
    atomic_write_jsonl(
        out / "codings.jsonl",
        ({"document": c.document, "start": c.start, "end": c.end, "code": c.code, "coder": c.coder} for c in result.codings),
    )
    if result.codebook.codes:
        save_codebook(result.codebook, out / "codebook.yaml")
    atomic_write_text(out / "qda_project.json", json.dumps(mapping(result), ensure_ascii=False, indent=2) + "\n")
    summary = result.summary()
    summary["warnings"] = list(result.warnings)
    atomic_write_text(out / "import_summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return summary


def import_qdc(path: str | Path, out: str | Path) -> int:
    """Write a ``.qdc`` as ``out/codebook.yaml`` plus the GUID mapping; return the number of codes."""
    out = Path(out)
    codebook, codes = read_qdc(path)
    check_out_dir(out, inputs=(Path(path),))
    save_codebook(codebook, out / "codebook.yaml")
    mapping = {
        "format": MAPPING_FORMAT,
        "codebook": {"file": str(path)},
        "codes": [{"id": c.id, "guid": c.guid, "name": c.name, "parent": c.parent, "codable": c.codable, "color": c.color} for c in codes],
    }
    atomic_write_text(out / "qda_project.json", json.dumps(mapping, ensure_ascii=False, indent=2) + "\n")
    return len(codes)
