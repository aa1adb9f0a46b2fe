"""Word transcripts (.docx): paragraphs in document order, tables row by row.

The text of a .docx is its paragraphs joined by newlines; offsets point into that text.
A two-column table row whose first cell is short (the usual "speaker | text" layout of
transcription tables) becomes ``"speaker: text"`` so that speaker turns are found.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import Transcript
from pipeline.text.ingest.decode import unreadable_package
from pipeline.text.ingest.registry import register

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _paragraph_text(p) -> str:
    parts = []
    for node in p.iter():
        if node.tag == _W + "t" and node.text:
            parts.append(node.text)
        elif node.tag == _W + "tab":
            parts.append("\t")
        elif node.tag in (_W + "br", _W + "cr"):
            parts.append("\n")
    return "".join(parts)


def _row_text(row) -> str:
    cells = [
        "\n".join(_paragraph_text(p) for p in cell.iter(_W + "p")).strip()
        for cell in row.iter(_W + "tc")
    ]
    cells = [c for c in cells if c]
    if len(cells) >= 2 and len(cells[0]) <= 40 and not cells[0].endswith((".", "!", "?")):
        return f"{cells[0].rstrip(':')}: {' '.join(cells[1:])}"
    return "\t".join(cells)


@register(".docx")
def read_docx(path: Path) -> Transcript:
    try:
        import docx  # python-docx
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("reading .docx needs python-docx: pip install python-docx") from None

    try:
        body = docx.Document(str(path)).element.body
        blocks = []
        for child in body.iterchildren():
            if child.tag == _W + "p":
                blocks.append(_paragraph_text(child))
            elif child.tag == _W + "tbl":
                blocks.extend(_row_text(row) for row in child.iter(_W + "tr"))
    except Exception as exc:  # noqa: BLE001 - zipfile, zlib, lxml and python-docx each raise their own
        raise unreadable_package(
            path,
            expected="Word document",
            detail=f"{type(exc).__name__}: {exc}",
            fix="Open it in Word and save it again as .docx, or export it as .txt.",
        ) from None
    text = "\n".join(blocks)
    if not text.strip():
        raise InputError(f"{path}: the Word document contains no text. Check that it is the transcript you meant.")
    return Transcript(id=path.stem, text=text, path=str(path), encoding="docx")
