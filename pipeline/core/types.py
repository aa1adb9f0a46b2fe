"""Plain typed data exchanged between the stages of the pipeline.

A spaCy ``Doc`` never leaves segmentation; the stages exchange these frozen dataclasses
and NumPy arrays. All offsets are Python string indices (code points) into
``Transcript.text``, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def option(default, **rules):
    """A configuration field with its default and the rules :mod:`pipeline.core.config` checks
    on load: ``choices`` (allowed values), ``gt``/``ge``/``le`` (bounds of a number)."""
    return field(default=default, metadata=rules)


@dataclass(frozen=True)
class Transcript:
    """One source document as read from disk.

    Attributes:
        id: Document id, the file stem unless the format names one.
        text: The decoded original text; every offset points into it.
        path: Where it was read from ("" when built in memory).
        kind: ``"interview"``, ``"literature"`` or ``"units"`` (pre-segmented); ``""``
            lets the segmenter decide from the text.
        encoding: The encoding the bytes were decoded with.
        units: For pre-segmented input: ``(unit_id, start, end)`` per unit.
        cues: For subtitle input: ``(start, end, speaker)`` per cue text.
    """

    id: str
    text: str
    path: str = ""
    kind: str = ""
    encoding: str = "utf-8"
    units: tuple[tuple[str, int, int], ...] = ()
    cues: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class Segment:
    """One coding unit.

    Attributes:
        id: ``"<transcript>:<index:04d>"``, or the unit id of pre-segmented input.
        transcript: The id of the transcript it comes from.
        start, end: Offsets into the transcript's original text, end exclusive.
        speaker: The speaker label (``"B"``, ``"Interviewer"``, ...) or ``""``.
        text: The cleaned text that is embedded (markers and timestamps removed,
            hyphenation joined); may differ from ``original[start:end]``.
        role: ``"respondent"``, ``"interviewer"``, ``"body"``, ``"heading"``,
            ``"footnote"`` or ``"unit"``.
        codable: Whether the classifier codes it (interviewer turns, headings and
            footnotes are kept in the output but not coded by default).
    """

    id: str
    transcript: str
    start: int
    end: int
    speaker: str
    text: str
    role: str
    codable: bool = True


@dataclass(frozen=True)
class Coding:
    """One hand code: a coder assigned ``code`` to ``document[start:end]``.

    ``where`` names the file and line it came from, for error messages.
    """

    document: str
    start: int
    end: int
    code: str
    coder: str
    where: str = field(default="", compare=False)
