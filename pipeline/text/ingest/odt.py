"""OpenDocument transcripts (.odt, LibreOffice): paragraphs and headings in document order.

Like .docx, the text is the paragraphs joined by newlines (list items and table cells
are paragraphs too); ``<text:s>``, tabs and line breaks inside a paragraph are kept
(``odf.teletype``). Offsets point into that text.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import Transcript
from pipeline.text.ingest.decode import unreadable_package
from pipeline.text.ingest.registry import register

_TEXTNS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _blocks(node, out: list[str], teletype) -> None:
    for kid in node.childNodes:
        qname = getattr(kid, "qname", None)
        if qname in ((_TEXTNS, "p"), (_TEXTNS, "h")):
            out.append(teletype.extractText(kid))
        elif qname is not None:
            _blocks(kid, out, teletype)


@register(".odt")
def read_odt(path: Path) -> Transcript:
    try:
        from odf import teletype
        from odf.opendocument import load
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("reading .odt needs odfpy: pip install odfpy") from None
    try:
        document = load(str(path))
        blocks: list[str] = []
        _blocks(document.text, blocks, teletype)
    except Exception as exc:  # noqa: BLE001 - zipfile, zlib and the SAX parser each raise their own
        raise unreadable_package(
            path,
            expected="OpenDocument text",
            detail=f"{type(exc).__name__}: {exc}",
            fix="Open it in LibreOffice and save it again as .odt, or export it as .txt.",
        ) from None
    text = "\n".join(blocks)
    if not text.strip():
        raise InputError(f"{path}: the document contains no text. Check that it is the transcript you meant.")
    return Transcript(id=path.stem, text=text, path=str(path), encoding="odt")
