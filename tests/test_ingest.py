"""Readers: every format in, the right text and structure out; bad files give InputError."""

import codecs

import pytest

from pipeline.core.errors import InputError
from pipeline.text.ingest import collect_inputs, read_transcript

TEXT = "I: Wie kam es zur Kooperation?\nB: Über die Nähe, Straßburg ist eine Stunde entfernt. Äußerst praktisch.\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("cp1252"), "cp1252"),
        (TEXT.replace("\n", "\r\n").encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
    ],
)
def test_txt_decodings(tmp_path, data, encoding):
    path = tmp_path / "int.txt"
    path.write_bytes(data)
    t = read_transcript(path)
    assert t.encoding == encoding
    assert t.text.replace("\r\n", "\n") == TEXT
    assert "Straßburg" in t.text and "Äußerst" in t.text
    assert t.id == "int"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x00\x01\x02binary\xff\xfe\x00", "binary"),
        (b"caf\xc3 \x81\x8d\x8f", "not UTF-8"),
    ],
)
def test_txt_refuses_bad_bytes(tmp_path, data, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as exc:
        read_transcript(path)
    assert "bad.txt" in str(exc.value)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(InputError, match="unsupported file type '.pdf'.*Supported"):
        read_transcript(path)


def test_docx_paragraphs_and_table(tmp_path):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("I: Wie lange läuft das Projekt?")
    d.add_paragraph("B: Seit zwei Jahren, mit Partnern in Lyon.")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "B"
    table.rows[0].cells[1].text = "Und es geht weiter."
    path = tmp_path / "int.docx"
    d.save(path)
    t = read_transcript(path)
    assert t.text == "I: Wie lange läuft das Projekt?\nB: Seit zwei Jahren, mit Partnern in Lyon.\nB: Und es geht weiter."


def test_docx_truncated(tmp_path):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("Text")
    path = tmp_path / "int.docx"
    d.save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="not a readable Word document"):
        read_transcript(path)


VTT = """WEBVTT

NOTE erzeugt von einem Transkriptionsdienst

1
00:00:01.000 --> 00:00:04.000
<v Interviewer>Warum Frankreich?</v>

2
00:00:04.500 --> 00:00:09.000
<v Anna Keller>Weil die Kunden dort sitzen.
Und die Wege kurz sind.</v>
"""

SRT = """1
00:00:01,000 --> 00:00:04,000
I: Warum Frankreich?

2
00:00:04,500 --> 00:00:09,000
B: Weil die Kunden dort sitzen.
"""


def test_vtt_cues_with_voices(tmp_path):
    path = tmp_path / "a.vtt"
    path.write_text(VTT, encoding="utf-8")
    t = read_transcript(path)
    assert [s for *_, s in t.cues] == ["Interviewer", "Anna Keller"]
    start, end, _ = t.cues[1]
    assert t.text[start:end] == "<v Anna Keller>Weil die Kunden dort sitzen.\nUnd die Wege kurz sind.</v>"


def test_srt_cues(tmp_path):
    path = tmp_path / "a.srt"
    path.write_text(SRT.replace("\n", "\r\n"), encoding="utf-8")
    t = read_transcript(path)
    assert [t.text[a:b] for a, b, _ in t.cues] == ["I: Warum Frankreich?", "B: Weil die Kunden dort sitzen."]


def test_vtt_without_cues(tmp_path):
    path = tmp_path / "a.vtt"
    path.write_text("WEBVTT\n\nNOTE nichts\n", encoding="utf-8")
    with pytest.raises(InputError, match="no cues found"):
        read_transcript(path)


def test_jsonl_units_keep_ids(tmp_path):
    path = tmp_path / "units.jsonl"
    path.write_text('{"id": "u-7", "text": "Erster Satz."}\n\n{"id": "u-9", "text": "Zweiter."}\n', encoding="utf-8")
    t = read_transcript(path)
    assert [(uid, t.text[a:b]) for uid, a, b in t.units] == [("u-7", "Erster Satz."), ("u-9", "Zweiter.")]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', "also on line 1"),
        ('{"id": "a"}\n', "missing or empty 'text'"),
        ("{not json\n", "not valid JSON"),
        ('["a", "b"]\n', "expected a JSON object"),
    ],
)
def test_jsonl_units_errors(tmp_path, content, message):
    path = tmp_path / "units.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_transcript(path)


def test_csv_units_semicolon(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text('id;text\n1;"Wir wollten neue Kunden; und Partner."\n2;Nein.\n', encoding="utf-8")
    t = read_transcript(path)
    assert [t.text[a:b] for _, a, b in t.units] == ["Wir wollten neue Kunden; und Partner.", "Nein."]


def test_collect_inputs_sorted_and_filtered(tmp_path):
    for name in ["b.txt", "a.txt", "notes.pdf", ".hidden.txt"]:
        (tmp_path / name).write_text("Text.", encoding="utf-8")
    assert [p.name for p in collect_inputs([tmp_path])] == ["a.txt", "b.txt"]
    with pytest.raises(InputError, match="no such file or folder"):
        collect_inputs([tmp_path / "missing"])


def test_a_folder_skips_hand_codes_kept_beside_its_texts(tmp_path):
    from pipeline.text.ingest import collect_inputs

    (tmp_path / "a.txt").write_text("I: Frage?\nB: Antwort.\n", encoding="utf-8")
    (tmp_path / "codings.jsonl").write_text('{"document": "a", "start": 0, "end": 5, "code": "X", "coder": "A"}\n', encoding="utf-8")
    (tmp_path / "units.jsonl").write_text('{"id": "1", "text": "Ein Satz."}\n', encoding="utf-8")
    assert [p.name for p in collect_inputs([tmp_path])] == ["a.txt", "units.jsonl"]
    # Named explicitly, a file is taken as given (its reader then says what it is).
    assert [p.name for p in collect_inputs([tmp_path / "codings.jsonl"])] == ["codings.jsonl"]
