"""RTF and OpenDocument transcripts: text in, text out, offsets into that text."""

from __future__ import annotations

import pytest

from pipeline.core.errors import InputError
from pipeline.text.ingest import read_transcript

RTF_CASES = [
    # (rtf body, expected text)
    (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}\f0 I: Gr\'f6\'dfer?\par B: Ja.\par}", "I: Größer?\nB: Ja."),
    (r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 B: M\u228?rkte \u8211? gut.\par}", "B: Märkte – gut."),
    (r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 B: Super \u-10179?\u-8704?!\par}", "B: Super 😀!"),
    (r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\*\generator Word;}\f0 {\b I:} Warum?\par\par B: Darum.\par}", "I: Warum?\n\nB: Darum."),
]


@pytest.mark.parametrize("body,expected", RTF_CASES)
def test_rtf(tmp_path, body, expected):
    path = tmp_path / "int01.rtf"
    path.write_text(body, encoding="ascii")
    t = read_transcript(path)
    assert t.text == expected
    assert t.id == "int01" and t.encoding == "rtf"


def test_rtf_that_is_not_rtf(tmp_path):
    (tmp_path / "x.rtf").write_text("just text", encoding="utf-8")
    with pytest.raises(InputError, match="not an RTF file"):
        read_transcript(tmp_path / "x.rtf")


def _odt(path, blocks):
    from odf.opendocument import OpenDocumentText
    from odf.text import H, List, ListItem, P, S

    doc = OpenDocumentText()
    for kind, value in blocks:
        if kind == "h":
            doc.text.addElement(H(outlinelevel=1, text=value))
        elif kind == "p":
            doc.text.addElement(P(text=value))
        elif kind == "spaces":  # "a", 3, "b": text:s collapses spaces in ODF
            p = P(text=value[0])
            p.addElement(S(c=value[1]))
            p.addText(value[2])
            doc.text.addElement(p)
        elif kind == "list":
            lst = List()
            for item in value:
                li = ListItem()
                li.addElement(P(text=item))
                lst.addElement(li)
            doc.text.addElement(lst)
    doc.save(str(path))


ODT_CASES = [
    ([("h", "Interview 3"), ("p", "I: Wie groß war das Risiko?"), ("p", "B: Sehr groß 😀.")],
     "Interview 3\nI: Wie groß war das Risiko?\nB: Sehr groß 😀."),
    ([("spaces", ("B: Na ja,", 3, "also."))], "B: Na ja,   also."),
    ([("p", "Gründe:"), ("list", ["Märkte", "Kosten"]), ("p", "Ende.")], "Gründe:\nMärkte\nKosten\nEnde."),
]


@pytest.mark.parametrize("blocks,expected", ODT_CASES)
def test_odt(tmp_path, blocks, expected):
    pytest.importorskip("odf")
    path = tmp_path / "int03.odt"
    _odt(path, blocks)
    t = read_transcript(path)
    assert t.text == expected
    assert t.id == "int03"


def test_odt_that_is_not_odt(tmp_path):
    (tmp_path / "x.odt").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable OpenDocument"):
        read_transcript(tmp_path / "x.odt")
