"""Plain-text transcripts and literature excerpts (.txt)."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.types import Transcript
from pipeline.text.ingest.decode import read_text
from pipeline.text.ingest.registry import register


@register(".txt", ".text")
def read_txt(path: Path) -> Transcript:
    text, encoding = read_text(path)
    return Transcript(id=path.stem, text=text, path=str(path), encoding=encoding)
