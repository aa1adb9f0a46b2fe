"""Plain-text transcripts and literature excerpts (.txt)."""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest import register
from pipeline.ingest.decode import decode_text, read_bytes
from pipeline.types import Transcript


@register(".txt", ".text")
def read_txt(path: Path) -> Transcript:
    text, encoding = decode_text(read_bytes(path), where=str(path))
    return Transcript(id=path.stem, text=text, path=str(path), encoding=encoding)
