"""Readers and the segmenter on arbitrary input: a transcript with offsets into its text,
or autocode's own error, never anything else.

Every registered reader gets random bytes and random (but well-formed) documents; the
segmenter gets random texts in every layout and unit. Example counts are kept small so
that the suite stays fast; hypothesis keeps the failing examples it finds in its
database and tries them first on the next run.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.core.config import SegmentConfig
from pipeline.core.errors import AutocodeError
from pipeline.core.types import Transcript
from pipeline.text.clean import INTERVIEW_RULES, clean
from pipeline.text.ingest import read_transcript, supported_extensions
from pipeline.text.segment import iter_segments, segment_transcript

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CONFIGS = [SegmentConfig(unit="sentence"), SegmentConfig(unit="turn"), SegmentConfig(unit="window", max_chars=60)]
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")

# Text that looks like transcripts (interviews with speaker labels, markers and
# timestamps; PDF-extracted literature with headings, footnotes and hyphenation), with
# line breaks of every kind, and now and then any character at all.
PIECES = st.sampled_from(
    [
        " ", " ", "\t", "Warum", "Frankreich", "Kunden", "Straße", "Äußerst", "deutsch-französisch", "Bedeu-", "tung",
        ".", "?", "!", ",", ":", " ,", "…", "„", "“", "(lacht)", "(...)", "(I: Mhm.)", "(4 Sek.)", "#00:01:23-4#",
        "[00:01:23]", "<v Anna>", "</v>", "//", "1", "2015", "S. 3", "Vgl.", "😀", "\u2028", "\x85", "\x0b", "\f",
    ]
)
LINE = st.lists(st.one_of(PIECES, st.text(max_size=2)), max_size=12).map("".join)
NEWLINE = st.sampled_from(["\n", "\n\n", "\r\n", "\r"])
LABEL = st.sampled_from(["I: ", "B: ", "I: ", "B: ", "B2: ", "Interviewerin: ", "Dr. Weber: ", "#00:01:02-3# B: ", "[00:01:02] I: ", "", ""])
LITERATURE_LINE = st.one_of(
    LINE,
    st.sampled_from(
        [
            "", "", "1. Einleitung", "2.1 Methode", "1.\t Vgl. Müller 2015, S. 3.", "12 Ebd., S. 4", "Seite 3", "- 4 -", "\f",
            "Die Internationalisierung gewinnt an Bedeu-", "tung.1 Die deutsch-französischen Kooperationen gelten als",
            " besonders erfolgreich. Baden-", "Württemberg ist ein Beispiel.", "Informations-", "und Kommunikation.",
        ]
    ),
)
INTERVIEW_TEXT = st.builds(lambda lines, nl: nl.join(a + b for a, b in lines), st.lists(st.tuples(LABEL, LINE), min_size=4, max_size=12), NEWLINE)
LITERATURE_TEXT = st.builds(lambda lines, nl: nl.join(lines), st.lists(LITERATURE_LINE, max_size=14), NEWLINE)
ANY_TEXT = st.one_of(st.lists(st.one_of(PIECES, NEWLINE, LABEL), max_size=40).map("".join), st.text(max_size=120))
TEXT = st.one_of(INTERVIEW_TEXT, LITERATURE_TEXT, ANY_TEXT)


def check_segments(transcript: Transcript, config: SegmentConfig) -> None:
    """The invariants of segmentation (tests/test_segment.py shows them on fixed examples).

    Cleaning works on whole turns, so ``clean(original) == text`` holds exactly for a
    turn. A sentence's text is its part of the cleaned turn, which can differ from
    cleaning the sentence's span alone where a rule looks across the sentence boundary
    (``". ,Warum"``: the space before the comma stays in the turn, where the comma is
    followed by a letter). What holds for every segment: the offsets lie in the text, the
    first and last characters are the original ones, and cleaning only removed
    characters or turned whitespace into a space.
    """
    text = transcript.text
    segments = segment_transcript(transcript, config=config)
    assert [(s.start, s.end) for s in segments] == sorted((s.start, s.end) for s in segments)
    assert list(iter_segments(transcript, config=config)) == segments
    for s in segments:
        assert 0 <= s.start < s.end <= len(text)
        original = text[s.start : s.end]
        assert s.text and s.text == s.text.strip()
        # The first and last characters are the original ones at the offsets ...
        assert s.text[0] == original[0] and s.text[-1] == original[-1]
        # ... and cleaning only removes characters or turns whitespace into one space.
        assert _is_subsequence(re.sub(r"\s+", "", s.text), re.sub(r"\s+", "", original))
        if s.role in ("respondent", "interviewer") and not transcript.cues and config.unit == "turn":
            assert clean(original, INTERVIEW_RULES) == s.text
    ids = [s.id for s in segments]
    assert len(set(ids)) == len(ids)


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def read_or_refuse(path: Path, *, valid: bool = False) -> Transcript | None:
    """Read ``path``; None when autocode refuses it with its own error (and a message
    that names the file). A ``valid`` document (well-formed, with text to code) must be
    read: refusing it is a failure, or a reader that refused everything would pass."""
    try:
        t = read_transcript(path)
    except AutocodeError as exc:
        assert path.name in str(exc)
        assert not valid, f"a valid document was refused: {exc}"
        return None
    assert t.text.strip()
    if path.suffix != ".jsonl":  # JSON may escape any character; elsewhere control bytes mean binary data
        assert not _CONTROL.search(t.text), "binary data passed as text"
    for _, a, b in t.units:
        assert 0 <= a <= b <= len(t.text)
    for a, b, _ in t.cues:
        assert 0 <= a < b <= len(t.text)
    for config in CONFIGS:
        check_segments(t, config)
    return t


def has_text(text: str) -> bool:
    """Whether ``text`` holds something to code: a visible character, and no control
    character that marks binary data."""
    return bool(text.strip()) and not _CONTROL.search(text)


def write(folder: Path, data: bytes, ext: str) -> Path:
    """``folder/doc<ext>`` holding ``data`` (one file per test, overwritten by each example)."""
    path = folder / f"doc{ext}"
    path.write_bytes(data)
    return path


# --- every reader, random bytes ---------------------------------------------------------

MAGIC = st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"WEBVTT\n\n", b"{\\rtf1 ", b"PK\x03\x04", b"id,text\n"])


@pytest.mark.parametrize("ext", supported_extensions())
@SETTINGS
@given(head=MAGIC, data=st.binary(max_size=300))
@example(head=b"", data=b"")
@example(head=b"\xef\xbb\xbf", data=b"")  # only a byte-order mark: was read as an empty transcript
@example(head=b"\xff\xfe", data=" \n".encode("utf-16-le"))
@example(head=b"{\\rtf1 ", data=b"\x00\x01 Text}")  # NUL bytes in RTF: were passed on as text
def test_random_bytes(tmp_path, ext, head, data):
    read_or_refuse(write(tmp_path, head + data, ext))


# --- every reader, well-formed documents with random text -------------------------------


@SETTINGS
@given(text=TEXT, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]), ext=st.sampled_from([".txt", ".text"]))
def test_txt_documents(tmp_path, text, encoding, ext):
    data = text.encode(encoding, errors="replace")
    t = read_or_refuse(write(tmp_path, data, ext), valid=has_text(text))
    if t is not None and encoding != "cp1252" and not _CONTROL.search(text):
        assert t.text == text


CUE_TEXT = TEXT.filter(lambda s: "-->" not in s)


@SETTINGS
@given(cues=st.lists(CUE_TEXT, min_size=1, max_size=5), kind=st.sampled_from(["vtt", "srt"]), voice=st.booleans())
def test_subtitle_documents(tmp_path, cues, kind, voice):
    sep = "." if kind == "vtt" else ","
    parts = ["WEBVTT\n\n"] if kind == "vtt" else []
    for n, cue in enumerate(cues, 1):
        payload = f"<v Anna>{cue}</v>" if voice else cue
        parts.append(f"{n}\n00:00:{n:02d}{sep}000 --> 00:00:{n:02d}{sep}900\n{payload}\n\n")
    # A cue's text ends at its first blank line; a control character anywhere marks binary data.
    valid = not any(_CONTROL.search(c) for c in cues) and any(
        has_text("\n".join(itertools.takewhile(str.strip, c.splitlines()))) for c in cues
    )
    t = read_or_refuse(write(tmp_path, "".join(parts).encode("utf-8"), f".{kind}"), valid=valid)
    if t is not None:
        assert t.cues


UNIT_ID = st.one_of(st.integers(), st.text(max_size=5))


@SETTINGS
@given(units=st.lists(st.tuples(UNIT_ID, TEXT), max_size=6), ext=st.sampled_from([".jsonl", ".csv"]))
def test_unit_documents(tmp_path, units, ext):
    if ext == ".jsonl":
        data = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in units)
    else:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "text"])
        writer.writerows(units)
        data = buf.getvalue()
    ids = [str(i).strip() for i, _ in units]
    # Control characters written raw mark binary data, in a CSV file as in JSON Lines.
    valid = bool(units) and len(set(ids)) == len(ids) and all(has_text(str(i)) and has_text(x) for i, x in units)
    t = read_or_refuse(write(tmp_path, data.encode("utf-8"), ext), valid=valid)
    if t is not None:
        assert [t.text[a:b] for _, a, b in t.units] == [str(x) for _, x in units]


XML_TEXT = TEXT.map(lambda s: re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]", "", s))


@SETTINGS
@given(paragraphs=st.lists(XML_TEXT, max_size=6), table=st.lists(st.tuples(XML_TEXT, XML_TEXT), max_size=3))
def test_docx_documents(tmp_path, paragraphs, table):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=2)
        for row, (a, b) in zip(t.rows, table):
            row.cells[0].text, row.cells[1].text = a, b
    buf = io.BytesIO()
    d.save(buf)
    valid = any(has_text(p) for p in paragraphs) or any(has_text(a) or has_text(b) for a, b in table)
    read_or_refuse(write(tmp_path, buf.getvalue(), ".docx"), valid=valid)


@SETTINGS
@given(paragraphs=st.lists(XML_TEXT, max_size=6))
def test_odt_documents(tmp_path, paragraphs):
    pytest.importorskip("odf")
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    doc = OpenDocumentText()
    for p in paragraphs:
        doc.text.addElement(P(text=p))
    buf = io.BytesIO()
    doc.write(buf)
    read_or_refuse(write(tmp_path, buf.getvalue(), ".odt"), valid=any(has_text(p) for p in paragraphs))


def _rtf_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\par\n")
        elif ord(ch) < 128:
            out.append(ch)
        else:
            for unit in ch.encode("utf-16-le").hex(" ", 2).split():  # UTF-16 code units
                value = int.from_bytes(bytes.fromhex(unit), "little")
                out.append(f"\\u{value - 65536 if value > 32767 else value}?")
    return "".join(out)


@SETTINGS
@given(text=TEXT)
def test_rtf_documents(tmp_path, text):
    body = "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}\\f0 " + _rtf_escape(text) + "\\par}"
    read_or_refuse(write(tmp_path, body.encode("ascii"), ".rtf"), valid=has_text(text))


# --- the segmenter on texts in every layout ----------------------------------------------


@pytest.mark.parametrize("texts", [INTERVIEW_TEXT, LITERATURE_TEXT, ANY_TEXT], ids=["interview", "literature", "any"])
@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["", "literature"]))
def test_segmenter_on_random_text(texts, data, kind):
    t = Transcript(id="t", text=data.draw(texts), kind=kind)
    for config in CONFIGS:
        check_segments(t, config)


@pytest.mark.parametrize(
    "text",
    [
        "I: \nI: \nB: \nB: Warum////",  # "Warum////" was cleaned to "Warum//", and that again to "Warum"
        "I: \nI: \nB: \nB: . ,Warum",  # a sentence boundary inside " ," (see check_segments)
        "1. Einleitung\n\nDie Kooperation gilt als\n\n1.\t Vgl. Müller 2015, S. 3.\n\nbesonders erfolgreich.\n",
    ],
)
def test_segmenter_examples(text):
    for config in CONFIGS:
        check_segments(Transcript(id="t", text=text), config)


@SETTINGS
@given(text=TEXT, data=st.data())
def test_segmenter_on_units_and_cues(text, data):
    """Units and cues as readers make them: in order, inside the text, not overlapping."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    spans = [(a, b) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    units = Transcript(id="u", text=text, kind="units", units=tuple((f"u{i}", a, b) for i, (a, b) in enumerate(spans)))
    cues = Transcript(id="c", text=text, kind="interview", cues=tuple((a, b, data.draw(st.sampled_from(["", "I", "Anna"]))) for a, b in spans))
    for t in (units, cues):
        for config in CONFIGS:
            check_segments(t, config)
