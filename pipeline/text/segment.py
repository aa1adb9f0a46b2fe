"""Segmentation: a transcript becomes coding units with offsets into its original text.

Three layouts are recognised:

* **interviews**: lines that start with a speaker label (``I:``, ``B1:``,
  ``Interviewerin:``, ``Dr. Weber:``, optionally after a timestamp) open a turn that runs
  to the next label; subtitle files (.vtt/.srt) give turns from their cues;
* **literature** (PDF-extracted): paragraphs, with headings, numbered footnotes and page
  artefacts recognised line by line; a paragraph broken by a footnote block or page break
  is joined again;
* **units** (pre-segmented input): one segment per unit, ids kept.

Turns and paragraphs are cleaned (:mod:`pipeline.text.clean`) and split into sentences by
spaCy; each sentence's cleaned text is what gets embedded, its offsets point into the
original. The coding unit is a sentence, a whole turn, or a window of sentences of a
turn up to ``max_chars``.
"""

from __future__ import annotations

import functools
import heapq
import re
import sys
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pipeline.core.config import SegmentConfig
from pipeline.core.types import Segment, Transcript
from pipeline.text.clean import INTERVIEW_RULES, SUBTITLE_RULES, TIMESTAMP, apply_rules, literature_rules

# --- spaCy -----------------------------------------------------------------------------


def _import_spacy(*, torch: bool):
    """``import spacy``, with torch hidden unless ``torch`` is true.

    spaCy imports thinc, and thinc imports torch whenever it is installed (the optional
    sentence-transformers backend brings it): seconds for every command that segments,
    although sentence boundaries need no torch (only transformer pipelines, ``*_trf``,
    do). Unless torch is loaded already, thinc is imported with torch hidden; torch stays
    importable for everything after.
    """
    if torch or "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # makes "import torch" raise ImportError
    try:
        import spacy
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return spacy


def _installed(name: str) -> bool:
    """Whether ``name`` is an installed spaCy pipeline package or a folder."""
    import importlib.util
    import os

    if os.sep in name or "/" in name or name.startswith("."):
        return os.path.isdir(name)
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# Set once the fallback was announced, so that processes started by this one (benchmark
# jobs, local workers) do not announce it again.
_WARNED_ENV = "AUTOCODE_SPACY_FALLBACK_NOTED"


def spacy_fallback_message(name: str) -> str:
    """Why a missing spaCy pipeline is no cause for alarm, and how to install it."""
    return (
        f"spaCy pipeline {name!r} is not installed; sentences are split by spaCy's rule-based "
        "sentencizer (spacy.blank('de')), with which the shipped default model was trained and "
        f"measured, so the pipeline is optional. To use it: python -m spacy download {name} "
        "(needs internet access; then retrain your models)."
    )


@functools.lru_cache(maxsize=4)
def load_spacy(name: str):
    """Load the pipeline ``name`` for sentence boundaries, or fall back to a blank German
    pipeline with a rule-based sentencizer (one warning line on stderr per run)."""
    import os

    spacy = _import_spacy(torch=name.endswith("_trf"))
    nlp = None
    # Where no pipeline of that name is installed, spacy.load would only search to raise.
    if _installed(name):
        try:
            nlp = spacy.load(name, exclude=["ner", "lemmatizer", "attribute_ruler", "textcat"])
        except (OSError, ImportError):
            nlp = None
    if nlp is None:
        if os.environ.get(_WARNED_ENV) != name:
            os.environ[_WARNED_ENV] = name
            print(f"autocode: warning: {spacy_fallback_message(name)}", file=sys.stderr)
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


# The line boundaries of str.splitlines: a 50 MB transcript is walked line by line
# without holding a list of its lines.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE = re.compile(rf"[^{_LINE_BREAKS}]*(?:\r\n|[{_LINE_BREAKS}])|[^{_LINE_BREAKS}]+")


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every line (as ``str.splitlines`` cuts them), without its line break."""
    for m in _LINE.finditer(text):
        a, b = m.span()
        if text.endswith("\n", a, b):
            b -= 2 if text.endswith("\r\n", a, b) else 1
        elif text.endswith("\r", a, b):
            b -= 1
        yield a, b


def _speaker_labels(text: str, lines: Iterable[tuple[int, int]], config: SegmentConfig) -> set[str]:
    """The speaker labels of an interview, or an empty set for any other layout.

    Labels that open at least two lines each, two of them or more and four lines in all,
    make an interview (names such as ``Dr. Weber`` count only so). A short interview has
    too few turns to be told by frequency: there an interviewer's label (``I``,
    ``Interviewerin``, ...) and a respondent's generic label (``B``, ``IP2``, ...) each
    opening a line are enough. One generic label alone (literature with a line
    ``B: Ergebnisse``) is no interview.
    """
    counts = Counter()
    for a, b in lines:
        m = _LABEL.match(text, a, b)
        if m:
            counts[m.group("label")] += 1
    generic = {label for label in counts if _GENERIC_LABEL.match(label) or config.is_interviewer(label)}
    frequent = {label for label, n in counts.items() if n >= 2}
    if len(frequent) >= 2 and sum(counts[label] for label in frequent) >= 4:
        return frequent | generic
    interviewer = {label for label in generic if config.is_interviewer(label)}
    if interviewer and generic - interviewer:
        return generic
    return set()


def _interview_blocks(t: Transcript, lines: Iterable[tuple[int, int]], labels: set[str], config: SegmentConfig) -> Iterator[_Block]:
    """Turns in document order, each yielded once complete; lines before the first turn
    form a heading block."""
    current: _Block | None = None
    header: list[tuple[int, int]] = []
    for a, b in lines:
        m = _LABEL.match(t.text, a, b)
        if m and m.group("label") in labels:
            if current is not None:
                yield current
            elif header:
                yield _Block(fragments=header, role="heading", rules=INTERVIEW_RULES, codable=False)
            label = m.group("label")
            interviewer = config.is_interviewer(label)
            current = _Block(
                fragments=[(m.end(), b)],
                role="interviewer" if interviewer else "respondent",
                speaker=label,
                rules=INTERVIEW_RULES,
                codable=config.code_interviewer or not interviewer,
            )
        elif current is not None:
            current.fragments.append((a, b))
        elif t.text[a:b].strip():
            header.append((a, b))
    if current is not None:
        yield current
    elif header:
        yield _Block(fragments=header, role="heading", rules=INTERVIEW_RULES, codable=False)


def _cue_blocks(t: Transcript, config: SegmentConfig) -> Iterator[_Block]:
    """Turns from subtitle cues: consecutive cues of one speaker form a turn."""
    current: _Block | None = None
    for start, end, voice in sorted(t.cues):
        speaker = voice
        m = _LABEL.match(t.text, start, end)
        if not speaker and m:
            speaker, start = m.group("label"), m.end()
        if current is not None and current.speaker == speaker:
            current.fragments.append((start, end))
            continue
        if current is not None:
            yield current
        interviewer = bool(speaker) and config.is_interviewer(speaker)
        current = _Block(
            fragments=[(start, end)],
            role="interviewer" if interviewer else "respondent",
            speaker=speaker,
            rules=SUBTITLE_RULES,
            codable=config.code_interviewer or not interviewer,
        )
    if current is not None:
        yield current


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


def _line_kinds(text: str, lines: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int, str, str]]:
    """``(start, end, kind, previous kind)`` of each literature line, with one line of look-ahead.

    The kind is that of :func:`_classify_line`, refined by its neighbours: a short line
    after a heading and before a blank line continues the heading; a body line after a
    footnote that stops mid-sentence continues the footnote.
    """
    it = iter(lines)
    current = next(it, None)
    prev_line: str | None = None
    prev_base = prev_kind = ""
    while current is not None:
        a, b = current
        line = text[a:b]
        following = next(it, None)
        next_line = text[following[0]:following[1]] if following is not None else None
        prev_blank = prev_line is None or not prev_line.strip()
        next_blank = next_line is None or not next_line.strip()
        base = kind = _classify_line(line, prev_blank, next_blank)
        # A heading broken over two lines: a short second line before a blank line.
        if kind == "body" and prev_base == "heading" and next_line is not None and not next_line.strip() and len(line.strip()) <= 60:
            kind = "heading-continued"
        # A footnote that stops mid-sentence continues on the next line; one that ends a
        # sentence is followed by body text (the next page) or another footnote.
        if kind == "body" and prev_kind == "footnote" and not _SENTENCE_END.search(prev_line):
            kind = "footnote"
        yield a, b, kind, prev_kind
        prev_line, prev_base, prev_kind, current = line, base, kind, following


def _literature_paragraphs(text: str, lines: Iterable[tuple[int, int]], rules: tuple) -> Iterator[_Block]:
    """Body paragraphs, headings and footnote blocks in order of their first line, each
    yielded once no later line can extend it."""
    open_blocks: deque[_Block] = deque()  # made but perhaps not complete, in order
    paragraph: _Block | None = None
    for a, b, kind, prev_kind in _line_kinds(text, lines):
        if kind == "body":
            if paragraph is None:
                paragraph = _Block(fragments=[], role="body", rules=rules)
                open_blocks.append(paragraph)
            paragraph.fragments.append((a, b))
        elif kind == "heading-continued":
            open_blocks[-1].fragments.append((a, b))
        elif kind in ("footnote", "heading"):
            last = open_blocks[-1] if open_blocks else None
            if kind == "footnote" and last is not None and last.role == "footnote" and prev_kind == "footnote" and not _NUMBERED.match(text[a:b]):
                last.fragments.append((a, b))
            else:
                open_blocks.append(_Block(fragments=[(a, b)], role=kind, rules=rules, codable=False))
            if kind == "heading":
                paragraph = None
        else:  # blank lines and page artefacts end a paragraph
            paragraph = None
        # Only the open paragraph and the newest block can still grow.
        while len(open_blocks) > 1 and open_blocks[0] is not paragraph:
            yield open_blocks.popleft()
    yield from open_blocks


def _literature_blocks(t: Transcript, lines: Iterable[tuple[int, int]]) -> Iterator[_Block]:
    """Literature blocks in document order (of their first line), each yielded once complete."""
    rules = literature_rules(t.text)
    # A paragraph ends at a blank line or page artefact, unless it stops mid-sentence:
    # then the next paragraph (after blank lines, footnotes and page artefacts, but no
    # heading) goes on with it, and the paragraph was only broken by the page layout.
    merged: deque[_Block] = deque()  # in output order; the front is yielded once complete
    pending: list[_Block] = []  # footnotes seen since the last body paragraph
    last_body: _Block | None = None
    for block in _literature_paragraphs(t.text, lines, rules):
        if block.role == "body":
            joins = last_body is not None and not _SENTENCE_END.search(t.text[slice(*last_body.fragments[-1])])
            if joins:
                last_body.fragments.extend(block.fragments)
            merged.extend(pending)
            pending = []
            if not joins:
                merged.append(block)
                last_body = block
        elif block.role == "footnote":
            pending.append(block)
        else:
            merged.extend(pending)
            pending = []
            merged.append(block)
            last_body = None
        while merged and merged[0] is not last_body:
            yield merged.popleft()
    merged.extend(pending)
    yield from merged


def _unit_blocks(t: Transcript) -> Iterator[_Block]:
    for uid, a, b in sorted(t.units, key=lambda u: (u[1], u[2])):
        yield _Block(fragments=[(a, b)], role="unit", unit_id=uid, rules=INTERVIEW_RULES)


def layout(transcript: Transcript, config: SegmentConfig) -> tuple[str, Iterator[_Block]]:
    """Decide the layout of a transcript; return it with its blocks.

    The blocks come as a stream in order of their first character, each complete when it
    is yielded, so that a very large transcript is never held as blocks all at once.
    """
    if transcript.units:
        return "units", _unit_blocks(transcript)
    if transcript.cues:
        return "interview", _cue_blocks(transcript, config)
    if transcript.kind != "literature":
        labels = _speaker_labels(transcript.text, _lines(transcript.text), config)
        if labels:
            return "interview", _interview_blocks(transcript, _lines(transcript.text), labels, config)
    return "literature", _literature_blocks(transcript, _lines(transcript.text))


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


_WHOLE = ("unit", "heading", "footnote")  # roles that are one segment, never split into sentences


def _block_spans(transcript: Transcript, blocks: Iterable[_Block], config: SegmentConfig) -> Iterator[tuple[_Block, list[tuple[int, int, str]]]]:
    """Each block with its coding units ``(start, end, cleaned text)``, offsets into the original."""

    def cleaned():
        for block in blocks:
            text, index = _block_text(transcript.text, block)
            yield ("" if block.role in _WHOLE else text), (block, text, index)

    if config.unit == "turn":
        pairs: Iterable = ((None, item) for _, item in cleaned())
    else:
        # nlp.pipe consumes the blocks lazily, a batch at a time.
        pairs = load_spacy(config.spacy_model).pipe(cleaned(), as_tuples=True)
    for doc, (block, text, index) in pairs:
        if not text:
            spans = []
        elif doc is None or block.role in _WHOLE:
            spans = [(0, len(text))]
        else:
            spans = _sentence_spans(doc)
            if config.unit == "window":
                spans = _windows(spans, config.max_chars)
        yield block, [(index[a], index[b - 1] + 1, text[a:b]) for a, b in spans]


def iter_segments(transcript: Transcript, *, config: SegmentConfig | None = None) -> Iterator[Segment]:
    """Cut a transcript into coding units, as a stream (see :func:`segment_transcript`).

    Memory stays bounded however long the transcript is: blocks are cleaned and split
    into sentences as they come, and only the segments that may still be overtaken
    (a paragraph joined across a footnote block interleaves with it) are held back.
    """
    config = config or SegmentConfig()
    _, blocks = layout(transcript, config)
    waiting: list[tuple[int, int, int, _Block, str]] = []  # heap by (start, end, arrival)
    arrival = n = 0
    for block, spans in _block_spans(transcript, blocks, config):
        # Blocks come in order of their first character, so no later segment can start
        # before this block does: everything that starts earlier is final.
        first = block.fragments[0][0]
        while waiting and waiting[0][0] < first:
            yield _segment(transcript, n, heapq.heappop(waiting))
            n += 1
        for start, end, text in spans:
            heapq.heappush(waiting, (start, end, arrival, block, text))
            arrival += 1
    while waiting:
        yield _segment(transcript, n, heapq.heappop(waiting))
        n += 1


def _segment(transcript: Transcript, n: int, item: tuple[int, int, int, _Block, str]) -> Segment:
    start, end, _, block, text = item
    return Segment(
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
        transcript: The document as read by :func:`pipeline.text.ingest.read_transcript`.
        config: Segmentation options; defaults to sentences, interviewer not coded.

    Returns:
        Segments in document order (by start, then end). ``transcript.text[s.start:s.end]``
        is the original passage; ``s.text`` its cleaned form (equal where nothing needed
        cleaning). :func:`iter_segments` yields the same segments one at a time.
    """
    return list(iter_segments(transcript, config=config))
