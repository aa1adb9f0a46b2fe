"""Subtitle transcripts from automatic transcription (.vtt WebVTT, .srt SubRip).

Offsets point into the original file text: each cue's payload keeps its place, and the
timing lines, cue numbers and the header are simply never part of a segment. Speakers
come from WebVTT voice tags (``<v Anna>``) or a ``Name:`` prefix of the cue text.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import Transcript
from pipeline.text.ingest.decode import read_text
from pipeline.text.ingest.registry import register

_TIMING = re.compile(
    r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}.*$"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_LINE = re.compile(r"[^\n]*(?:\n|$)")


def _lines(text: str):
    """Yield ``(start, end, line)`` without the line break (CR LF or LF)."""
    for m in _LINE.finditer(text):
        if m.start() == len(text) and m.group() == "":
            break
        line = m.group().rstrip("\n").rstrip("\r")
        yield m.start(), m.start() + len(line), line


def parse_cues(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, speaker)`` for the payload of each cue.

    A cue is a timing line followed by payload lines up to a blank line. NOTE, STYLE and
    REGION blocks of WebVTT have no timing line and are skipped.
    """
    cues = []
    lines = list(_lines(text))
    i = 0
    while i < len(lines):
        if _TIMING.match(lines[i][2]):
            j = i + 1
            while j < len(lines) and lines[j][2].strip():
                j += 1
            if j > i + 1:
                start, end = lines[i + 1][0], lines[j - 1][1]
                payload = text[start:end]
                voice = _VOICE.search(payload)
                cues.append((start, end, voice.group(1).strip() if voice else ""))
            i = j
        else:
            i += 1
    return cues


def _read(path: Path, kind: str) -> Transcript:
    text, encoding = read_text(path)
    if kind == "vtt" and not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError(f"{path}: a WebVTT file must start with 'WEBVTT', found {text[:20]!r}. Check the file type.")
    cues = parse_cues(text)
    if not cues:
        timings = sum(1 for *_, line in _lines(text) if _TIMING.match(line))
        found = f"{timings} timing line(s) but no text after them" if timings else "no timing line"
        raise InputError(
            f"{path}: no cues found: expected timing lines like '00:00:01.000 --> 00:00:04.000' "
            f"followed by text, found {found}. Check that the transcription export is complete."
        )
    return Transcript(id=path.stem, text=text, path=str(path), kind="interview", encoding=encoding, cues=tuple(cues))


@register(".vtt")
def read_vtt(path: Path) -> Transcript:
    return _read(path, "vtt")


@register(".srt")
def read_srt(path: Path) -> Transcript:
    return _read(path, "srt")
