"""Segmentation: a transcript becomes coding units with offsets into its original text.

Three layouts are recognised:

* **interviews**: lines that start with a speaker label (``I:``, ``B1:``,
  ``Interviewerin:``, ``Dr. Weber:``, optionally after a timestamp) open a turn that runs
  to the next label; subtitle files (.vtt/.srt) give turns from their cues;
* **literature** (PDF-extracted): paragraphs, with headings, numbered footnotes and page
  artefacts recognised line by line; a paragraph broken by a footnote block or page break
  is joined again;
* **units** (pre-segmented input): one segment per unit, ids kept.

Turns and paragraphs are cleaned (:mod:`pipeline.clean`) and split into sentences by
spaCy; each sentence's cleaned text is what gets embedded, its offsets point into the
original. The coding unit is a sentence, a whole turn, or a window of sentences of a
turn up to ``max_chars``.
"""

from __future__ import annotations

import functools
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pipeline.clean import INTERVIEW_RULES, SUBTITLE_RULES, TIMESTAMP, apply_rules, literature_rules
from pipeline.errors import ConfigError
from pipeline.types import Segment, Transcript

UNITS = ("sentence", "turn", "window")
DEFAULT_INTERVIEWER_LABELS = (
    "I", "I1", "I2", "INT", "Int", "Interviewer", "Interviewerin", "Interviewende",
    "Moderator", "Moderatorin", "F", "Frage",
)


@dataclass(frozen=True)
class SegmentConfig:
    """How transcripts are cut into coding units.

    Attributes:
        unit: ``"sentence"``, ``"turn"`` (a whole speaker turn or paragraph) or
            ``"window"`` (consecutive sentences of a turn up to ``max_chars``).
        max_chars: Longest window, in characters of cleaned text.
        code_interviewer: Whether interviewer turns are coded (they are always output).
        interviewer_labels: Speaker labels that mark the interviewer (case-insensitive).
        spacy_model: The spaCy pipeline to load by name; ``spacy.blank("de")`` with a
            sentencizer is used where it is not installed.
    """

    unit: str = "sentence"
    max_chars: int = 600
    code_interviewer: bool = False
    interviewer_labels: tuple[str, ...] = DEFAULT_INTERVIEWER_LABELS
    spacy_model: str = "de_core_news_lg"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ConfigError(f"segmentation unit {self.unit!r} is unknown; expected one of {', '.join(UNITS)}.")
        if self.max_chars < 20:
            raise ConfigError(f"max_chars must be at least 20, found {self.max_chars}.")

    def is_interviewer(self, label: str) -> bool:
        wanted = {x.lower() for x in self.interviewer_labels}
        return label.lower().rstrip(".") in wanted


# --- spaCy -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def load_spacy(name: str):
    """Load the pipeline ``name`` for sentence boundaries, or fall back to a blank German
    pipeline with a rule-based sentencizer (one warning line on stderr)."""
    import spacy

    try:
        nlp = spacy.load(name, exclude=["ner", "lemmatizer", "attribute_ruler", "textcat"])
    except (OSError, ImportError):
        print(
            f"autocode: warning: spaCy pipeline {name!r} is not installed; using spacy.blank('de') "
            "with a rule-based sentencizer.",
            file=sys.stderr,
        )
        nlp = spacy.blank("de")
    if not (nlp.has_pipe("parser") or nlp.has_pipe("senter") or nlp.has_pipe("sentencizer")):
        nlp.add_pipe("sentencizer")
    nlp.max_length = 10**8
    return nlp


# --- layout ----------------------------------------------------------------------------


@dataclass
class _Block:
    """Consecutive text to be cleaned together: a turn, a paragraph or a unit."""

    fragments: list[tuple[int, int]]
    role: str
    speaker: str = ""
    unit_id: str = ""
    rules: tuple = ()
    codable: bool = True
    extra: dict = field(default_factory=dict)


# Used with .match(text, line_start, line_end), which anchors at the line start.
_LABEL = re.compile(
    rf"[ \t]*(?:{TIMESTAMP}[ \t]*)?"
    r"(?P<label>[A-ZÄÖÜ][\wÄÖÜäöüß'’.\-]{0,24}(?:[ \t]+[A-ZÄÖÜ][\wÄÖÜäöüß'’.\-]{0,24}){0,2})"
    r"[ \t]*:(?=[ \t]|$)"
)
_GENERIC_LABEL = re.compile(r"^(?:I|B|IP|P|R|S|INT|Int|Interviewer|Interviewerin|Befragte[r]?)\d*$")


def _lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every line, without its line break."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        out.append((pos, pos + len(content)))
        pos += len(line)
    return out


def _speaker_labels(text: str, lines: list[tuple[int, int]]) -> set[str]:
    counts = Counter()
    for a, b in lines:
        m = _LABEL.match(text, a, b)
        if m:
            counts[m.group("label")] += 1
    frequent = {label for label, n in counts.items() if n >= 2}
    if len(frequent) < 2 or sum(counts[label] for label in frequent) < 4:
        return set()
    return frequent | {label for label in counts if _GENERIC_LABEL.match(label)}


def _interview_blocks(t: Transcript, lines, labels: set[str], config: SegmentConfig) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    header: list[tuple[int, int]] = []
    for a, b in lines:
        m = _LABEL.match(t.text, a, b)
        if m and m.group("label") in labels:
            label = m.group("label")
            interviewer = config.is_interviewer(label)
            current = _Block(
                fragments=[(m.end(), b)],
                role="interviewer" if interviewer else "respondent",
                speaker=label,
                rules=INTERVIEW_RULES,
                codable=config.code_interviewer or not interviewer,
            )
            blocks.append(current)
        elif current is not None:
            current.fragments.append((a, b))
        elif t.text[a:b].strip():
            header.append((a, b))
    if header:
        blocks.insert(0, _Block(fragments=header, role="heading", rules=INTERVIEW_RULES, codable=False))
    return blocks


def _cue_blocks(t: Transcript, config: SegmentConfig) -> list[_Block]:
    blocks: list[_Block] = []
    for start, end, voice in t.cues:
        speaker = voice
        m = _LABEL.match(t.text, start, end)
        if not speaker and m:
            speaker, start = m.group("label"), m.end()
        if blocks and blocks[-1].speaker == speaker:
            blocks[-1].fragments.append((start, end))
            continue
        interviewer = bool(speaker) and config.is_interviewer(speaker)
        blocks.append(
            _Block(
                fragments=[(start, end)],
                role="interviewer" if interviewer else "respondent",
                speaker=speaker,
                rules=SUBTITLE_RULES,
                codable=config.code_interviewer or not interviewer,
            )
        )
    return blocks


_PAGE_ARTEFACT = re.compile(r"^[\s\f\-–—]*(?:(?:Seite|S\.)\s*)?\d{0,4}[\s\f\-–—]*$")
_NUMBERED = re.compile(r"^\s*(?P<num>\d{1,3}(?:\.\d{1,3})*)(?P<dot>\.?)(?P<sep>[ \t]+)(?P<rest>\S.*)$")
_CITATION = re.compile(
    r"\b(?:Vgl|vgl|Ebd|ebd|Ibid|ibid|a\.a\.O|Hrsg|hrsg|URL|http|www\.)|S\.\s?\d|\(\d{4}[a-z]?\)|\b(?:19|20)\d{2}[a-z]?\b"
)
_TERMINAL = re.compile(r"[.!?:;,]\s*[“”\"»«)]?\s*$")
_SENTENCE_END = re.compile(r"[.!?:][“”\"»«)]?\d{0,3}\s*$")


def _classify_line(line: str, prev_blank: bool, next_blank: bool) -> str:
    """``blank``, ``page``, ``footnote``, ``heading`` or ``body`` for one literature line."""
    stripped = line.strip()
    if not stripped:
        return "blank"
    if _PAGE_ARTEFACT.match(line):
        return "page"
    m = _NUMBERED.match(line)
    if m:
        rest = m.group("rest")
        if "\t" in m.group("sep") or _CITATION.search(rest) or _TERMINAL.search(rest):
            return "footnote" if prev_blank or "\t" in m.group("sep") or _CITATION.search(rest) else "body"
        if len(stripped) <= 100:
            return "heading"
    if prev_blank and next_blank and len(stripped) <= 80 and len(stripped.split()) <= 10 and not _TERMINAL.search(stripped):
        return "heading"
    return "body"


def _literature_blocks(t: Transcript, lines) -> list[_Block]:
    rules = literature_rules(t.text)
    texts = [t.text[a:b] for a, b in lines]
    kinds = []
    for i, line in enumerate(texts):
        prev_blank = i == 0 or not texts[i - 1].strip()
        next_blank = i == len(texts) - 1 or not texts[i + 1].strip()
        kinds.append(_classify_line(line, prev_blank, next_blank))
    # A heading broken over two lines: a short second line before a blank line.
    for i in range(1, len(kinds) - 1):
        if kinds[i] == "body" and kinds[i - 1] == "heading" and kinds[i + 1] == "blank" and len(texts[i].strip()) <= 60:
            kinds[i] = "heading-continued"
    # A footnote that stops mid-sentence continues on the next line; one that ends a
    # sentence is followed by body text (the next page) or another footnote.
    for i in range(1, len(kinds)):
        if kinds[i] == "body" and kinds[i - 1] == "footnote" and not _SENTENCE_END.search(texts[i - 1]):
            kinds[i] = "footnote"

    blocks: list[_Block] = []
    paragraph: _Block | None = None
    for i, ((a, b), kind) in enumerate(zip(lines, kinds)):
        if kind == "body":
            if paragraph is None:
                paragraph = _Block(fragments=[], role="body", rules=rules)
                blocks.append(paragraph)
            paragraph.fragments.append((a, b))
        elif kind == "heading-continued":
            blocks[-1].fragments.append((a, b))
        elif kind in ("footnote", "heading"):
            if kind == "footnote" and blocks and blocks[-1].role == "footnote" and kinds[i - 1] == "footnote" and not _NUMBERED.match(texts[i]):
                blocks[-1].fragments.append((a, b))
            else:
                blocks.append(_Block(fragments=[(a, b)], role=kind, rules=rules, codable=False))
            if kind == "heading":
                paragraph = None
        else:  # blank lines and page artefacts end a paragraph ...
            paragraph = None

    # ... unless it stops mid-sentence: then the next paragraph (after blank lines,
    # footnotes and page artefacts, but no heading) goes on with it, and the paragraph
    # was only broken by the page layout.
    merged: list[_Block] = []
    pending: list[_Block] = []  # footnotes seen since the last body paragraph
    last_body: _Block | None = None
    for block in blocks:
        if block.role == "body":
            prev_end = t.text[last_body.fragments[-1][0]:last_body.fragments[-1][1]] if last_body else ""
            if last_body is not None and not _SENTENCE_END.search(prev_end):
                last_body.fragments.extend(block.fragments)
                merged.extend(pending)
                pending = []
                continue
            merged.extend(pending)
            pending = []
            merged.append(block)
            last_body = block
        elif block.role == "footnote":
            pending.append(block)
        else:
            merged.extend(pending)
            pending = []
            merged.append(block)
            last_body = None
    merged.extend(pending)
    return merged


def _unit_blocks(t: Transcript) -> list[_Block]:
    return [_Block(fragments=[(a, b)], role="unit", unit_id=uid, rules=INTERVIEW_RULES) for uid, a, b in t.units]


def layout(transcript: Transcript, config: SegmentConfig) -> tuple[str, list[_Block]]:
    """Decide the layout of a transcript and cut it into blocks."""
    if transcript.units:
        return "units", _unit_blocks(transcript)
    if transcript.cues:
        return "interview", _cue_blocks(transcript, config)
    lines = _lines(transcript.text)
    if transcript.kind != "literature":
        labels = _speaker_labels(transcript.text, lines)
        if labels:
            return "interview", _interview_blocks(transcript, lines, labels, config)
    return "literature", _literature_blocks(transcript, lines)


# --- sentences -------------------------------------------------------------------------


def _block_text(text: str, block: _Block) -> tuple[str, list[int]]:
    raw_parts, index = [], []
    for k, (a, b) in enumerate(block.fragments):
        if k:
            raw_parts.append("\n")
            index.append(block.fragments[k - 1][1])
        raw_parts.append(text[a:b])
        index.extend(range(a, b))
    return apply_rules("".join(raw_parts), block.rules, index)


def _sentence_spans(doc) -> list[tuple[int, int]]:
    spans = []
    for sent in doc.sents:
        s = sent.text
        a = sent.start_char + (len(s) - len(s.lstrip()))
        b = sent.end_char - (len(s) - len(s.rstrip()))
        if b > a:
            spans.append((a, b))
    return spans


def _windows(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and b - out[-1][0] <= max_chars:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _iter_segments(transcript: Transcript, blocks: list[_Block], config: SegmentConfig) -> Iterator[Segment]:
    cleaned = [_block_text(transcript.text, block) for block in blocks]
    needs_sentences = config.unit != "turn"
    docs: Iterable = [None] * len(blocks)
    if needs_sentences:
        nlp = load_spacy(config.spacy_model)
        docs = nlp.pipe(text if block.role not in ("unit", "heading", "footnote") else "" for block, (text, _) in zip(blocks, cleaned))
    found = []
    for block, (text, index), doc in zip(blocks, cleaned, docs):
        if not text:
            continue
        if block.role in ("unit", "heading", "footnote") or not needs_sentences:
            spans = [(0, len(text))]
        else:
            spans = _sentence_spans(doc)
            if config.unit == "window":
                spans = _windows(spans, config.max_chars)
        for a, b in spans:
            found.append((index[a], index[b - 1] + 1, block, text[a:b]))
    # Document order; a paragraph joined across a footnote block interleaves with it.
    found.sort(key=lambda item: (item[0], item[1]))
    for n, (start, end, block, text) in enumerate(found):
        yield Segment(
            id=block.unit_id or f"{transcript.id}:{n:04d}",
            transcript=transcript.id,
            start=start,
            end=end,
            speaker=block.speaker,
            text=text,
            role=block.role,
            codable=block.codable,
        )


def segment_transcript(transcript: Transcript, *, config: SegmentConfig | None = None) -> list[Segment]:
    """Cut a transcript into coding units.

    Args:
        transcript: The document as read by :func:`pipeline.ingest.read_transcript`.
        config: Segmentation options; defaults to sentences, interviewer not coded.

    Returns:
        Segments in document order. ``transcript.text[s.start:s.end]`` is the original
        passage; ``s.text`` its cleaned form (equal where nothing needed cleaning).
    """
    config = config or SegmentConfig()
    _, blocks = layout(transcript, config)
    return list(_iter_segments(transcript, blocks, config))
