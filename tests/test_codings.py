"""Hand codes: both formats, every check that protects the training data."""

import json

import pytest

from pipeline.codebook import load_codebook
from pipeline.codings import AutocodeWarning, read_hand_codes, segment_labels
from pipeline.errors import CodebookError, CodingError
from pipeline.types import Coding, Segment

TEXT = "I: Warum?\nB: Wegen der Kunden. Und wegen der Nähe.\n"


@pytest.fixture
def codebook(repo):
    return load_codebook(repo / "configs" / "codebook.yaml")


def write_spans(tmp_path, rows):
    (tmp_path / "transcripts").mkdir(exist_ok=True)
    (tmp_path / "transcripts" / "d1.txt").write_text(TEXT, encoding="utf-8")
    path = tmp_path / "codings.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def span(code, sentence, coder="A"):
    start = TEXT.index(sentence)
    return {"document": "d1", "start": start, "end": start + len(sentence), "code": code, "coder": coder}


def test_spans_read_with_documents(tmp_path, codebook):
    path = write_spans(tmp_path, [span("MOT-MARKT", "Wegen der Kunden."), span("MOT-NAEHE", "Und wegen der Nähe.", "B")])
    hand = read_hand_codes([path], codebook=codebook)
    assert hand.coders == ("A", "B")
    assert [TEXT[c.start : c.end] for c in hand.codings] == ["Wegen der Kunden.", "Und wegen der Nähe."]


def test_unknown_code_names_closest(tmp_path, codebook):
    path = write_spans(tmp_path, [span("MOT-MARKT", "Wegen der Kunden."), span("HEM-FINANZ", "Und wegen der Nähe.")])
    with pytest.raises(CodebookError, match=r"codings.jsonl:2: unknown code 'HEM-FINANZ' \(closest: 'HEM-FINANZEN'\)"):
        read_hand_codes([path], codebook=codebook)


def test_span_outside_text(tmp_path, codebook):
    path = write_spans(tmp_path, [{"document": "d1", "start": 10, "end": 500, "code": "MOT-MARKT", "coder": "A"}])
    with pytest.raises(CodingError, match=rf"codings.jsonl:1: span 10–500 lies outside document 'd1' \({len(TEXT)} characters\)"):
        read_hand_codes([path], codebook=codebook)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"document": "d1", "start": 5, "end": 5, "code": "MOT-MARKT"}, "empty or reversed"),
        ({"document": "d1", "start": "x", "end": 5, "code": "MOT-MARKT"}, "whole numbers"),
        ({"document": "d1", "start": 1, "code": "MOT-MARKT"}, "missing end"),
        ({"document": "nope", "start": 1, "end": 5, "code": "MOT-MARKT"}, "document 'nope' not found"),
    ],
)
def test_malformed_spans(tmp_path, record, message):
    path = write_spans(tmp_path, [record])
    with pytest.raises(CodingError, match=message):
        read_hand_codes([path])


def test_overlapping_duplicates_warn_and_merge(tmp_path, codebook):
    a = span("MOT-MARKT", "Wegen der Kunden.")
    b = dict(a, start=a["start"] + 3, end=a["end"] + 2)
    path = write_spans(tmp_path, [a, b])
    with pytest.warns(AutocodeWarning, match="overlaps .*codings.jsonl:1.*merged"):
        hand = read_hand_codes([path], codebook=codebook)
    assert len(hand.codings) == 1 and hand.codings[0].end == b["end"]


def test_parent_code_is_ignored_with_warning(tmp_path, codebook):
    path = write_spans(tmp_path, [span("MOT", "Wegen der Kunden.")])
    with pytest.warns(AutocodeWarning, match="'MOT' is a parent code"):
        hand = read_hand_codes([path], codebook=codebook)
    assert hand.codings == ()


def test_unit_format_with_codes(tmp_path, codebook):
    path = tmp_path / "units.jsonl"
    path.write_text(
        '{"id": "s1", "text": "Wir suchen Kunden.", "codes": ["MOT-MARKT"], "coder": "A"}\n'
        '{"id": "s2", "text": "Das Wetter war gut.", "codes": []}\n',
        encoding="utf-8",
    )
    hand = read_hand_codes([path], codebook=codebook)
    (c,) = hand.codings
    assert (c.code, c.coder, hand.transcripts["units"].text[c.start : c.end]) == ("MOT-MARKT", "A", "Wir suchen Kunden.")


def test_unit_file_without_codes_is_refused(tmp_path):
    path = tmp_path / "units.jsonl"
    path.write_text('{"id": "s1", "text": "Wir suchen Kunden."}\n', encoding="utf-8")
    with pytest.raises(CodingError, match="no 'codes' field"):
        read_hand_codes([path])


def test_segment_labels_overlap_rule():
    segs = [Segment("s1", "d", 0, 100, "B", "x", "respondent"), Segment("s2", "d", 100, 200, "B", "y", "respondent")]
    codings = [
        Coding("d", 0, 60, "X", "A"),  # 60 % of s1
        Coding("d", 150, 160, "Y", "A"),  # a short span inside s2: all of the span
        Coding("d", 90, 130, "Z", "B"),  # 10 of s1, 30 of s2: 75 % of the span in s2
    ]
    labels = segment_labels(segs, codings, min_overlap=0.5)
    assert labels == {"s1": {"A": frozenset({"X"}), "B": frozenset()}, "s2": {"A": frozenset({"Y"}), "B": frozenset({"Z"})}}
    strict = segment_labels(segs, codings, min_overlap=0.8)
    assert strict["s1"]["A"] == frozenset({"X"}) and strict["s2"]["B"] == frozenset()
