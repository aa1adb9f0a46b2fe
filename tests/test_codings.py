"""Hand codes: both formats, every check that protects the training data."""

import json
import warnings

import pytest

from pipeline.core.codebook import load_codebook
from pipeline.core.errors import CodebookError, CodingError
from pipeline.core.types import Coding, Segment
from pipeline.text.codings import AutocodeWarning, detect_format, read_hand_codes, segment_labels
from pipeline.text.segment import segment_transcript

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


# --------------------------------------------------------------------------- CSV headers and formats


def write_csv(tmp_path, name, text, encoding="utf-8"):
    (tmp_path / "transcripts").mkdir(exist_ok=True)
    (tmp_path / "transcripts" / "d1.txt").write_text(TEXT, encoding="utf-8")
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


K, N = TEXT.index("Wegen der Kunden."), TEXT.index("Und wegen der Nähe.")


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_german_span_header_with_bom_keeps_both_coders(tmp_path, codebook, sep):
    rows = ["Dokument Anfang Ende Code Kodierer", f"d1 {K} {K + 17} MOT-MARKT A", f"d1 {K} {K + 17} MOT-NAEHE B"]
    path = write_csv(tmp_path, "kodierungen.csv", "".join(r.replace(" ", sep) + "\n" for r in rows), encoding="utf-8-sig")
    hand = read_hand_codes([path], codebook=codebook)
    assert detect_format(path) == "spans"
    assert [(c.code, c.coder) for c in hand.codings] == [("MOT-MARKT", "A"), ("MOT-NAEHE", "B")]


def test_kodierer_key_in_jsonl_is_the_coder(tmp_path, codebook):
    path = write_spans(tmp_path, [])
    path.write_text(json.dumps({"dokument": "d1", "anfang": K, "ende": K + 17, "code": "MOT-MARKT", "kodierer": "B"}) + "\n",
                    encoding="utf-8")
    assert read_hand_codes([path], codebook=codebook).coders == ("B",)


def test_unknown_span_column_is_named_with_the_expected_ones(tmp_path):
    path = write_csv(tmp_path, "c.csv", f"document,start,end,code,Bemerkung\nd1,{K},{K + 17},MOT-MARKT,x\n")
    with pytest.raises(CodingError) as err:
        read_hand_codes([path])
    assert str(err.value) == (
        f"{path}: unknown column 'Bemerkung' (found: document, start, end, code, Bemerkung). Hand codes as spans have "
        "the columns document, start, end, code and optionally coder (also understood: Dokument, Anfang/Beginn, Ende, "
        "Kode, Kodierer/Codierer). Rename or remove the columns."
    )


def test_missing_span_column_names_the_span_format_not_units(tmp_path):
    path = write_csv(tmp_path, "c.csv", f"Dokument,Ende,Code\nd1,{K + 17},MOT-MARKT\n")
    with pytest.raises(CodingError, match=r"missing column 'start' \(found: Dokument, Ende, Code\)\. Hand codes as spans have"):
        read_hand_codes([path])


def test_two_columns_for_one_field_are_refused(tmp_path):
    path = write_csv(tmp_path, "c.csv", f"document,start,end,code,coder,Kodierer\nd1,{K},{K + 17},MOT-MARKT,A,B\n")
    with pytest.raises(CodingError, match=r"more than one column for coder \('coder', 'Kodierer'\)"):
        read_hand_codes([path])


def test_header_of_no_format_lists_every_format(tmp_path):
    path = write_csv(tmp_path, "c.csv", "Name;Wert\na;1\n")
    with pytest.raises(CodingError, match=r"not a hand-code file \(found columns: Name, Wert\)\. Hand codes as spans .*"
                                          r"Hand codes as units have the columns id, text, codes .*MAXQDA"):
        detect_format(path)


def test_maxqda_columns_in_a_csv_are_located_by_their_text(tmp_path, codebook):
    path = write_csv(tmp_path, "maxqda.csv",
                     "Dokumentgruppe;Dokumentname;Code;Anfang;Ende;Segment;Erstellt von\n"
                     "Gruppe;d1;Motive\\MOT-MARKT;2;2;\"Wegen der Kunden.\";A\n")
    assert detect_format(path) == "maxqda"
    (c,) = read_hand_codes([path], codebook=codebook).codings
    assert (c.document, c.start, c.end, c.code, c.coder) == ("d1", K, K + 17, "MOT-MARKT", "A")


def test_units_csv_with_german_header_and_excel_quoting(tmp_path, codebook):
    path = write_csv(tmp_path, "einheiten.csv",
                     'ID;Text;Codes;Kodierer;Dokument\n'
                     '1;"Wir suchen Kunden; in ""Lyon"".";MOT-MARKT;A;int01\n'
                     '1;"Wir suchen Kunden; in ""Lyon"".";MOT-MARKT;B;int01\n'
                     '1;Die Nähe zählt.;MOT-NAEHE;A;int02\n')
    hand = read_hand_codes([path], codebook=codebook)
    assert hand.transcripts["int01"].text == 'Wir suchen Kunden; in "Lyon".'
    assert sorted((u.key, u.coder, tuple(u.codes)) for u in hand.units) == [
        ("int01:1", "A", ("MOT-MARKT",)), ("int01:1", "B", ("MOT-MARKT",)), ("int02:1", "A", ("MOT-NAEHE",))]


def test_unknown_unit_column_names_the_unit_format(tmp_path):
    path = write_csv(tmp_path, "u.csv", "id;text;codes;kommentar\n1;Wir suchen Kunden.;MOT-MARKT;gut\n")
    with pytest.raises(CodingError, match=r"unknown column 'kommentar' .* Hand codes as units have the columns id, text, "
                                          r"codes and optionally coder, document \(also understood"):
        read_hand_codes([path])


def test_unknown_jsonl_key_is_named_in_a_warning(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_text('{"id": 1, "text": "Wir suchen Kunden.", "codes": ["MOT-MARKT"], "kodiererin": "A", "note": "x"}\n',
                    encoding="utf-8")
    with pytest.warns(AutocodeWarning, match="key 'note' is not part of the format and ignored"):
        hand = read_hand_codes([path])
    assert hand.coders == ("A",)


def test_document_named_with_its_extension_is_found_and_labels_segments(tmp_path, codebook):
    path = write_spans(tmp_path, [dict(span("MOT-MARKT", "Wegen der Kunden."), document="d1.txt")])
    hand = read_hand_codes([path], codebook=codebook)
    assert list(hand.transcripts) == ["d1"] and hand.codings[0].document == "d1"
    segments = segment_transcript(hand.transcripts["d1"])
    labels = segment_labels(segments, hand.codings)
    (coded,) = [s for s in segments if labels[s.id]["A"]]
    assert TEXT[coded.start:coded.end].endswith("Wegen der Kunden.") and "Nähe" not in coded.text


def test_classify_output_is_not_taken_for_hand_codes(tmp_path):
    path = tmp_path / "int01.jsonl"
    path.write_text(json.dumps({"id": "int01:0000", "transcript": "int01", "start": 0, "end": 5, "text": "Hallo",
                                "codes": ["MOT-MARKT"], "scores": {}, "model": "default"}) + "\n", encoding="utf-8")
    assert detect_format(path) == "classify"
    with pytest.raises(CodingError, match="an 'autocode classify' output .* not hand codes"):
        read_hand_codes([path])


def test_span_records_may_carry_their_text(tmp_path, codebook):
    path = write_spans(tmp_path, [dict(span("MOT-MARKT", "Wegen der Kunden."), text="Wegen der Kunden.")])
    assert detect_format(path) == "spans"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (c,) = read_hand_codes([path], codebook=codebook).codings
    assert TEXT[c.start:c.end] == "Wegen der Kunden."
