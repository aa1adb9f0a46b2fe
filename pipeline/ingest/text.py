"""Plain-text transcripts and literature excerpts (.txt)."""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest import register
from pipeline.ingest.decode import read_text
from pipeline.types import Transcript


@register(".txt", ".text")
def read_txt(path: Path) -> Transcript:
    text, encoding = read_text(path)
    return Transcript(id=path.stem, text=text, path=str(path), encoding=encoding)
