"""MAXQDA coded-segments exports (.xlsx) as hand codes."""

from __future__ import annotations

import pytest

from pipeline.core.codebook import Code, Codebook
from pipeline.core.errors import CodingError, InputError
from pipeline.text.codings import read_hand_codes
from pipeline.text.maxqda import code_parts, locate

openpyxl = pytest.importorskip("openpyxl")

DOC = (
    "I: Warum Frankreich?\r\n"
    "B: Wir wollten neue Kunden gewinnen. Das war der Grund.\r\n"
    "I: Und sonst?\r\n"
    "B: Wir wollten neue Kunden gewinnen, ehrlich 😀.\r\n"
)
GERMAN = ["Dokumentgruppe", "Dokumentname", "Code", "Anfang", "Ende", "Gewicht", "Segment", "Kommentar", "Erstellt von", "Erstellt am"]
ENGLISH = ["Document group", "Document name", "Code", "Beginning", "End", "Weight score", "Segment", "Comment", "Created by", "Created"]


def make_xlsx(path, header, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


ROWS = [
    ["Interviews", "Interview 01", "Motive\\Markt", 2, 2, 0, "Wir wollten neue Kunden gewinnen.", "", "Anna", "2024-01-01"],
    # the same words again, in paragraph 4; the cell has a line break instead of a space
    ["Interviews", "Interview 01", "Motive\\Markt", 4, 4, 0, "Wir wollten\nneue Kunden gewinnen", "", "Ben", "2024-01-01"],
    ["Interviews", "Interview 01", "Hemmnisse\\Sonstiges", 4, 4, 0, "ehrlich 😀", "", "Ben", "2024-01-01"],
]


@pytest.mark.parametrize("header", [GERMAN, ENGLISH])
def test_coded_segments_are_located_in_the_text(tmp_path, header):
    (tmp_path / "Interview 01.txt").write_bytes(DOC.encode("utf-8"))
    path = make_xlsx(tmp_path / "segmente.xlsx", header, ROWS)
    hand = read_hand_codes([path])
    text = hand.transcripts["Interview 01"].text
    got = sorted((text[c.start:c.end], c.code, c.coder, text[:c.start].count("\n") + 1) for c in hand.codings)
    assert got == sorted([
        ("Wir wollten neue Kunden gewinnen.", "Markt", "Anna", 2),
        ("Wir wollten neue Kunden gewinnen", "Markt", "Ben", 4),
        ("ehrlich 😀", "Sonstiges", "Ben", 4),
    ])


def test_codes_map_onto_a_code_system(tmp_path):
    (tmp_path / "Interview 01.txt").write_bytes(DOC.encode("utf-8"))
    path = make_xlsx(tmp_path / "segmente.xlsx", GERMAN, ROWS)
    cb = Codebook("x", (Code("MOT", "Motive"), Code("MOT-MARKT", "Markt", "MOT"), Code("HEM", "Hemmnisse"), Code("HEM-SONST", "Sonstiges", "HEM")))
    hand = read_hand_codes([path], codebook=cb)
    assert sorted({c.code for c in hand.codings}) == ["HEM-SONST", "MOT-MARKT"]


def test_a_segment_that_is_not_in_the_document(tmp_path):
    (tmp_path / "Interview 01.txt").write_bytes(DOC.encode("utf-8"))
    rows = [["G", "Interview 01", "Markt", 1, 1, 0, "Diesen Satz gibt es nicht.", "", "Anna", ""]]
    with pytest.raises(CodingError, match="does not occur in document 'Interview 01'"):
        read_hand_codes([make_xlsx(tmp_path / "s.xlsx", GERMAN, rows)])


def test_missing_columns_and_documents(tmp_path):
    with pytest.raises(InputError, match="no column for"):
        read_hand_codes([make_xlsx(tmp_path / "a.xlsx", ["Name", "Wert"], [["x", 1]])])
    with pytest.raises(CodingError, match="not found"):
        read_hand_codes([make_xlsx(tmp_path / "b.xlsx", GERMAN, ROWS)])


@pytest.mark.parametrize("code,parts", [("Motive\\Markt", ["Motive", "Markt"]), ("A > B > C", ["A", "B", "C"]), ("Kosten", ["Kosten"])])
def test_code_parts(code, parts):
    assert code_parts(code) == parts


@pytest.mark.parametrize(
    "text,segment,paragraph,span",
    [("a b\na b", "a b", 2, (4, 7)), ("a b\na b", "a b", 1, (0, 3)), ("a  b", "a b", None, (0, 4)), ("xyz", "q", None, None)],
)
def test_locate(text, segment, paragraph, span):
    assert locate(text, segment, paragraph) == span
